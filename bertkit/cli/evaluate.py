"""`bertkit evaluate` (being built)."""

from __future__ import annotations

import typer


def evaluate_command() -> None:
    """Not available yet."""
    raise typer.Exit(2)
