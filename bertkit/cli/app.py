"""The `bertkit` command. Each command lives in its own module; heavy imports happen inside commands."""

from __future__ import annotations

from typing import Annotated

import typer

from bertkit import __version__
from bertkit.cli import classify, env, evaluate, fill_mask, finetune, ner, qa, recipe

app = typer.Typer(
    name="bertkit",
    help="BERT-family models from the terminal: inference, recipe fine-tuning and evaluation reports.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_callback(value: bool) -> None:
    if value:
        print(f"bertkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """BERT-family models from the terminal: inference, recipe fine-tuning and evaluation reports."""


app.command("fill-mask")(fill_mask.fill_mask_command)
app.command("classify")(classify.classify_command)
app.command("ner")(ner.ner_command)
app.command("qa")(qa.qa_command)
app.command("finetune")(finetune.finetune_command)
app.command("evaluate")(evaluate.evaluate_command)
app.add_typer(recipe.recipe_app, name="recipe")
app.command("env")(env.env_command)


def main() -> None:
    app()
