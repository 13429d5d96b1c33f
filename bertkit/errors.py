"""Typed errors. Library code raises these; the CLI turns them into a message and exit code 1."""

from __future__ import annotations


class BertkitError(Exception):
    """An error the user can act on. ``str(err)`` is the full message, ``hint`` says what to do next."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class InputError(BertkitError):
    """Bad command-line input: texts, input files, columns, option values."""


class ModelLoadError(BertkitError):
    """A model or tokenizer could not be found, downloaded or used for the requested task."""


class DeviceError(BertkitError):
    """The requested device or precision is not available."""


class DataError(BertkitError):
    """A dataset could not be read or does not fit the task (columns, labels, splits)."""


class RecipeError(BertkitError):
    """A recipe is invalid. ``problems`` lists every problem found, each already located."""

    def __init__(self, message: str, problems: list[str] | None = None, *, hint: str | None = None) -> None:
        self.problems = list(problems or [])
        full = message if not self.problems else message + "\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(full, hint=hint)


class TrainingError(BertkitError):
    """Training cannot start or continue (resume mismatch, output folder conflicts, ...)."""
