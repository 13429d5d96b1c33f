"""`bertkit classify` (being built)."""

from __future__ import annotations

import typer


def classify_command() -> None:
    """Not available yet."""
    raise typer.Exit(2)
