"""`bertkit qa` (being built)."""

from __future__ import annotations

import typer


def qa_command() -> None:
    """Not available yet."""
    raise typer.Exit(2)
