"""The evaluation report: one versioned JSON document, rendered to Markdown and self-contained HTML.

``report.json`` schema (``schema_version`` 1)::

    {
      "schema_version": 1,
      "bertkit_version": "0.1.0",
      "created": "2025-01-01T12:00:00+00:00",          # UTC, ISO 8601
      "task": "text-classification" | "token-classification" | "question-answering" | "masked-lm" | "pretraining",
      "model": {...},                                   # free-form, e.g. {"name", "path", "labels"}
      "data": {...},                                    # free-form, e.g. {"source", "fingerprint"}
      "splits": {
        "<split name>": {
          "n_examples": int,
          "metrics": {name: float},                     # fractions in [0, 1], except loss and perplexity
          "confidence_intervals": {name: {"low": float, "high": float}},
          "bootstrap": {"method": "percentile", "n_resamples": int, "confidence": float, "seed": int} | null,
          "per_class": {label: {"precision", "recall", "f1", "support"}} | null,   # text-classification
          "per_type": {type: {"precision", "recall", "f1", "support"}} | null,     # token-classification
          "confusion_matrix": {"labels": [str], "matrix": [[int]]} | null,        # rows gold, columns predicted
          "error_breakdown": {kind: int} | null,                                  # token-classification
          "truncation": {"n_examples", "examples_truncated", "examples_windowed", "windows", "words_total",
                         "words_truncated", "tokens_total", "tokens_truncated", "max_length", "stride"} | null,
          "worst_errors": [{"id", "text", "gold", "pred", "confidence", ...}],
          "details": {...}                              # task-specific facts (NER mode, SQuAD HasAns count)
        }
      },
      "training_log": [{...}] | null                    # JSONL records of the training run, if given
    }

Non-finite floats are written as ``null``. Files are written atomically.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bertkit import __version__
from bertkit.errors import DataError, InputError
from bertkit.evaluation.results import SCHEMA_VERSION, TASKS, SplitResult
from bertkit.io.outputs import atomic_write_text

FORMATS = ("json", "md", "html")
REPORT_FILES = {"json": "report.json", "md": "report.md", "html": "report.html"}


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class EvalReport:
    task: str
    splits: dict[str, SplitResult]
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    training_log: list[dict[str, Any]] | None = None
    created: str = field(default_factory=_now)
    bertkit_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InputError(f"unknown task {self.task!r} for a report", hint=f"Use one of: {', '.join(TASKS)}.")
        for name, split in self.splits.items():
            compatible = {split.task, self.task} <= {"masked-lm", "pretraining"}
            if split.task != self.task and not compatible:
                raise InputError(f"split {name!r} holds {split.task} results but the report is for {self.task}")

    def to_dict(self) -> dict[str, Any]:
        return _finite(
            {
                "schema_version": self.schema_version,
                "bertkit_version": self.bertkit_version,
                "created": self.created,
                "task": self.task,
                "model": self.model,
                "data": self.data,
                "splits": {name: split.to_dict() for name, split in self.splits.items()},
                "training_log": self.training_log,
            }
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "report") -> EvalReport:
        if not isinstance(data, dict):
            raise DataError(f"{source}: not an evaluation report (expected a JSON object)")
        check_schema_version(data, source)
        missing = [key for key in ("task", "splits") if key not in data]
        if missing:
            raise DataError(f"{source}: not an evaluation report, missing {', '.join(missing)}")
        task = data["task"]
        if task not in TASKS:
            raise DataError(f"{source}: unknown task {task!r}; known tasks: {', '.join(TASKS)}")
        try:
            splits = {name: SplitResult.from_dict(task, split) for name, split in data["splits"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"{source}: malformed split in the report ({type(exc).__name__}: {exc})") from None
        return cls(
            task=task,
            splits=splits,
            model=dict(data.get("model") or {}),
            data=dict(data.get("data") or {}),
            training_log=data.get("training_log"),
            created=str(data.get("created", "")),
            bertkit_version=str(data.get("bertkit_version", "")),
            schema_version=int(data["schema_version"]),
        )


def check_schema_version(data: dict[str, Any], source: str) -> None:
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        found = "no schema_version" if version is None else f"schema version {version!r}"
        raise DataError(
            f"{source}: {found}; this bertkit ({__version__}) reads report schema version {SCHEMA_VERSION}",
            hint="Re-run `bertkit evaluate` with this bertkit version to regenerate the report.",
        )


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def load_report(path: str | os.PathLike[str]) -> EvalReport:
    """Read a ``report.json`` (or the ``report.json`` inside a folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / REPORT_FILES["json"]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"cannot read report {path}: {exc.strerror or exc}",
            hint="Give a report.json written by `bertkit evaluate` or the folder that holds it.",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return EvalReport.from_dict(data, source=str(path))


def write_report(
    report: EvalReport, folder: str | os.PathLike[str], *, formats: tuple[str, ...] = FORMATS
) -> dict[str, Path]:
    """Write ``report.json``/``report.md``/``report.html`` into ``folder`` atomically; returns their paths."""
    from bertkit.evaluation.render_html import render_html
    from bertkit.evaluation.render_md import render_markdown

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"unknown report format(s): {', '.join(unknown)}", hint=f"Use: {', '.join(FORMATS)}.")
    renderers = {"json": EvalReport.to_json, "md": render_markdown, "html": render_html}
    folder = Path(folder)
    return {fmt: atomic_write_text(folder / REPORT_FILES[fmt], renderers[fmt](report)) for fmt in formats}
