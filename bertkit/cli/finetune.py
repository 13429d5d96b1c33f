"""`bertkit finetune RECIPE`: train a model from a YAML recipe (one process, or N through Accelerate)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from bertkit.cli.common import cli_errors, err_console, out_console, quiet_libraries

LOG_FORMATS = ("auto", "rich", "plain", "json")
RecipeArg = Annotated[
    Path,
    typer.Argument(
        help="The recipe YAML file, or a shipped recipe by name (`bertkit recipe list`), e.g. quickstart/sentiment."
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a recipe value, e.g. --set training.learning_rate=3e-5 (repeatable)."),
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue the interrupted run of this recipe from its latest checkpoint.")
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Load and check the data, show label counts, token lengths, truncation and the step plan; train nothing.",
    ),
]
NumProcessesOpt = Annotated[
    int | None,
    typer.Option(
        "--num-processes",
        min=1,
        help="Train with N processes on this machine through Accelerate (CPU: gloo; GPU: one per GPU).",
    ),
]
LogFormatOpt = Annotated[
    str,
    typer.Option(
        "--log-format",
        help="auto (live view on a terminal, plain lines otherwise) | rich | plain | json (JSON lines on stdout).",
    ),
]


@contextlib.contextmanager
def rank_errors(rank: int) -> Iterator[None]:
    """Errors print once: processes other than the first exit with code 1 quietly (the first one reports)."""
    if rank == 0:
        with cli_errors():
            yield
        return
    from bertkit.errors import BertkitError

    try:
        yield
    except BertkitError:
        raise typer.Exit(1) from None


def forwarded_args(recipe: Path, overrides: list[str], resume: bool, dry_run: bool, log_format: str) -> list[str]:
    args = ["finetune", str(recipe), "--log-format", log_format]
    for override in overrides:
        args += ["--set", override]
    return args + (["--resume"] if resume else []) + (["--dry-run"] if dry_run else [])


def show_dry_run(recipe, log_format: str, num_processes: int) -> None:
    import json

    from bertkit.training.api import inspect_data
    from bertkit.training.events import Note
    from bertkit.training.progress import data_report_dict, data_report_tables, describe

    report = inspect_data(recipe, num_processes=num_processes)
    if log_format == "json":
        print(json.dumps(data_report_dict(report), ensure_ascii=False))
        return
    console = out_console()
    for table in data_report_tables(report):
        console.print(table)
    for note in report.notes:
        err_console().print(describe(Note(message=note)), markup=False)
    err_console().print("Dry run: data checked, nothing trained or written.", markup=False)


def finetune_command(
    recipe: RecipeArg,
    overrides: SetOpt = None,
    resume: ResumeOpt = False,
    dry_run: DryRunOpt = False,
    num_processes: NumProcessesOpt = None,
    log_format: LogFormatOpt = "auto",
) -> None:
    """Fine-tune a model as a recipe says; write the model, tokenizer, metrics and logs to output.dir.

    Example: bertkit finetune recipe.yaml --set training.epochs=1
    """
    from bertkit.training.launch import distributed_world_size, process_rank, relaunch, user_command

    overrides = list(overrides or [])
    if log_format not in LOG_FORMATS:
        with cli_errors():
            from bertkit.errors import InputError

            raise InputError(f"--log-format {log_format}: choose one of {', '.join(LOG_FORMATS)}")
    if num_processes and num_processes > 1 and distributed_world_size() == 1 and not dry_run:
        with cli_errors():
            code = relaunch(num_processes, forwarded_args(recipe, overrides, resume, dry_run, log_format))
        raise typer.Exit(code)
    rank = process_rank()
    with rank_errors(rank):
        from bertkit.recipes.loader import load_recipe

        quiet_libraries()
        loaded = load_recipe(recipe, overrides)
        if dry_run:
            show_dry_run(loaded, log_format, num_processes or distributed_world_size())
            return
        from bertkit.training.api import finetune
        from bertkit.training.progress import make_view

        result = finetune(
            loaded,
            resume=resume,
            callbacks=[make_view(log_format)],
            command=user_command(forwarded_args(recipe, overrides, resume, dry_run, log_format)),
        )
    if rank == 0 and log_format != "json":
        show_metrics(result)


def show_metrics(result) -> None:
    from rich.table import Table

    table = Table(title=f"Final metrics ({result.output_dir})")
    table.add_column("split")
    names = sorted({name for metrics in result.metrics.values() for name in metrics})
    for name in names:
        table.add_column(name, justify="right")
    for split, metrics in result.metrics.items():
        table.add_row(split, *(f"{metrics[n]:.4f}" if n in metrics else "" for n in names))
    out_console().print(table)
