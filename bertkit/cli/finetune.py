"""`bertkit finetune` (being built)."""

from __future__ import annotations

import typer


def finetune_command() -> None:
    """Not available yet."""
    raise typer.Exit(2)
