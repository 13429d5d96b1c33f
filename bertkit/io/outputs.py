"""Atomic writes: a crash or kill never leaves a half-written file where a good one was."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bertkit.errors import InputError


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to a temporary file next to ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def jsonl_text(rows: Iterable[Any]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_records(path: str | os.PathLike[str], rows: list[Any]) -> Path:
    """Write result rows as ``.json`` (one array) or ``.jsonl`` (one object per line), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return atomic_write_json(path, rows)
    if suffix == ".jsonl":
        return atomic_write_text(path, jsonl_text(rows))
    raise InputError(
        f"cannot write results to {path}: unknown file type '{path.suffix or '(none)'}'",
        hint="Use a file name ending in .json (one array) or .jsonl (one object per line).",
    )


@contextlib.contextmanager
def atomic_directory(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it into place only when the block succeeds.

    An existing folder at ``final`` is replaced only at the very end, so a failure leaves it untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield staging
        if final.exists():
            backup = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, backup)
            os.replace(staging, final)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
