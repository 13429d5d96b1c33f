"""`bertkit recipe validate | init | list | show`: write, check and browse training recipes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bertkit.cli.common import cli_errors, err_console, out_console, print_error, text_cell

recipe_app = typer.Typer(
    help="Write, check and list training recipes (YAML files for `bertkit finetune`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a recipe key, e.g. --set training.learning_rate=3e-5 (repeatable; values are YAML).",
    ),
]


@recipe_app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Recipe files to check.", show_default=False)],
    overrides: SetOpt = None,
    resolved: Annotated[
        bool, typer.Option("--resolved", help="Print each valid recipe with every default filled in.")
    ] = False,
) -> None:
    """Check recipes against the schema and report every problem with its file, line and key.

    Exit code 1 when any recipe has a problem. Nothing is downloaded or loaded.

    Example: bertkit recipe validate recipes/classification/sst2.yaml --set training.epochs=1
    """
    from bertkit.errors import RecipeError
    from bertkit.recipes.loader import load_recipe, recipe_to_yaml

    failed = 0
    for path in files:
        try:
            recipe = load_recipe(path, overrides or [])
        except RecipeError as err:
            failed += 1
            print_error(err)
            continue
        sys.stdout.write(f"OK  {path}  ({recipe.task.type}, model {recipe.model.name})\n")
        if resolved:
            sys.stdout.write(recipe_to_yaml(recipe, header=f"{path} resolved"))
    if failed:
        err_console().print(f"{failed} of {len(files)} recipe(s) invalid.", markup=False)
        raise typer.Exit(1)


@recipe_app.command("init")
def init_command(
    task: Annotated[
        str,
        typer.Option(
            "--task",
            "-t",
            help="text-classification | token-classification | question-answering | masked-lm | pretraining",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the recipe to this file (default: print it).")
    ] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Model to start from: hub id, folder or minilm.")] = (
        "minilm"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --output file.")] = False,
) -> None:
    """Write a complete recipe for a task: every key with its default and a comment saying what it does.

    Example: bertkit recipe init --task token-classification --model bert-base-cased -o ner.yaml
    """
    from bertkit.errors import InputError
    from bertkit.io.outputs import atomic_write_text
    from bertkit.recipes.template import recipe_template

    with cli_errors():
        text = recipe_template(task, model=model)
        if output is None:
            sys.stdout.write(text)
            return
        if output.exists() and not force:
            raise InputError(f"{output} already exists", hint="Pass --force to overwrite it, or choose another name.")
        atomic_write_text(output, text)
    err_console().print(f"Wrote {output}. Check it with: bertkit recipe validate {output}", markup=False)


@recipe_app.command("list")
def list_command() -> None:
    """List the recipes shipped with bertkit: name, task and description.

    Example: bertkit recipe list
    """
    from rich.table import Table

    from bertkit.recipes.library import list_recipes

    with cli_errors():
        recipes = list_recipes()
    table = Table(title="shipped recipes (bertkit recipe show NAME)")
    for column in ("name", "task", "description"):
        table.add_column(column, overflow="fold")
    for recipe in recipes:
        table.add_row(text_cell(recipe.name), text_cell(recipe.task), text_cell(recipe.description, 100))
    out_console().print(table)


@recipe_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A name from `bertkit recipe list`, e.g. classification/sst2.")],
) -> None:
    """Print a shipped recipe's YAML (save it with > my.yaml to edit it).

    Example: bertkit recipe show quickstart/sentiment > sentiment.yaml
    """
    from bertkit.recipes.library import find_recipe

    with cli_errors():
        recipe = find_recipe(name)
        text = recipe.path.read_text(encoding="utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
