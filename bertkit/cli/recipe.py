"""`bertkit recipe ...` (being built)."""

from __future__ import annotations

import typer

recipe_app = typer.Typer(help="Write, check and list fine-tuning recipes.", no_args_is_help=True)


@recipe_app.command("list")
def list_command() -> None:
    """Not available yet."""
    raise typer.Exit(2)
