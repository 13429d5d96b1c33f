"""`bertkit ner` (being built)."""

from __future__ import annotations

import typer


def ner_command() -> None:
    """Not available yet."""
    raise typer.Exit(2)
