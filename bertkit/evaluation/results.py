"""Typed results of an evaluation: one ``SplitResult`` per split, gathered in an ``EvalReport``.

Every metric is a fraction in [0, 1] (SQuAD scores too, not percentages), except ``loss`` and ``perplexity``.
``to_dict``/``from_dict`` define the ``report.json`` schema (see ``bertkit.evaluation.report``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import DataError, InputError

SCHEMA_VERSION = 1
TASKS = ("text-classification", "token-classification", "question-answering", "masked-lm", "pretraining")
LOWER_IS_BETTER = frozenset({"loss", "perplexity"})


@dataclass(frozen=True)
class BootstrapSettings:
    """How confidence intervals are computed: percentile bootstrap over examples (NER: sentences, QA: questions)."""

    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.n_resamples, int) or self.n_resamples < 1:
            raise InputError(
                f"bootstrap resamples must be a positive integer, got {self.n_resamples!r}",
                hint="Use e.g. 1000 resamples, or pass bootstrap=None to skip confidence intervals.",
            )
        if not 0.0 < float(self.confidence) < 1.0:
            raise InputError(
                f"confidence level must be between 0 and 1 (exclusive), got {self.confidence!r}",
                hint="Use e.g. 0.95 for 95% intervals.",
            )

    def to_dict(self) -> dict[str, Any]:
        return {"method": "percentile", **dataclasses.asdict(self)}


@dataclass(frozen=True)
class ConfidenceInterval:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def overlaps(self, other: ConfidenceInterval) -> bool:
        return self.low <= other.high and other.low <= self.high

    def to_dict(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}


_TRUNCATION_COUNTS = ("examples_truncated", "examples_windowed", "windows", "words_truncated", "tokens_truncated")


@dataclass(frozen=True)
class TruncationStats:
    """How much of a split the model did not see whole. Filled in by the task layer, shown in every report.

    ``examples_truncated``: examples cut at ``max_length`` (their tail never reached the model).
    ``examples_windowed``: examples split into several overlapping windows (nothing lost, scored once).
    ``windows``: total windows (features) produced for the split. ``words_*``/``tokens_*``: totals and
    how many were dropped by truncation. Unknown counts stay ``None``.
    """

    n_examples: int
    examples_truncated: int = 0
    examples_windowed: int = 0
    windows: int | None = None
    words_total: int | None = None
    words_truncated: int | None = None
    tokens_total: int | None = None
    tokens_truncated: int | None = None
    max_length: int | None = None
    stride: int | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise DataError(f"truncation count '{f.name}' must be a non-negative integer, got {value!r}")
        for part, total in (
            ("examples_truncated", "n_examples"),
            ("examples_windowed", "n_examples"),
            ("words_truncated", "words_total"),
            ("tokens_truncated", "tokens_total"),
        ):
            part_value, total_value = getattr(self, part), getattr(self, total)
            if part_value is not None and total_value is not None and part_value > total_value:
                raise DataError(f"truncation counts disagree: {part}={part_value} exceeds {total}={total_value}")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> TruncationStats:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(
                f"unknown truncation field(s): {', '.join(unknown)}",
                hint=f"Known fields: {', '.join(sorted(known))}.",
            )
        return cls(**data)

    @property
    def anything_lost(self) -> bool:
        return any(
            (getattr(self, name) or 0) > 0 for name in ("examples_truncated", "words_truncated", "tokens_truncated")
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ConfusionMatrix:
    """Rows are gold labels, columns predicted labels, in ``labels`` order."""

    labels: list[str]
    matrix: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "matrix": [list(row) for row in self.matrix]}


@dataclass
class SplitResult:
    """Everything measured on one split. ``per_class`` (classification) and ``per_type`` (NER) map a name to
    ``{"precision", "recall", "f1", "support"}``. ``worst_errors`` are JSON-ready dicts, most confident first.
    ``details`` holds task-specific facts (NER scoring mode, SQuAD HasAns/NoAns counts, ...)."""

    task: str
    n_examples: int
    metrics: dict[str, float]
    confidence_intervals: dict[str, ConfidenceInterval] = field(default_factory=dict)
    bootstrap: BootstrapSettings | None = None
    per_class: dict[str, dict[str, float]] | None = None
    per_type: dict[str, dict[str, float]] | None = None
    confusion_matrix: ConfusionMatrix | None = None
    error_breakdown: dict[str, int] | None = None
    truncation: TruncationStats | None = None
    worst_errors: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def with_truncation(self, truncation: TruncationStats | dict[str, Any] | None) -> SplitResult:
        if isinstance(truncation, dict):
            truncation = TruncationStats.from_mapping(truncation)
        return dataclasses.replace(self, truncation=truncation)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_examples": self.n_examples,
            "metrics": dict(self.metrics),
            "confidence_intervals": {name: ci.to_dict() for name, ci in self.confidence_intervals.items()},
            "bootstrap": self.bootstrap.to_dict() if self.bootstrap else None,
            "per_class": self.per_class,
            "per_type": self.per_type,
            "confusion_matrix": self.confusion_matrix.to_dict() if self.confusion_matrix else None,
            "error_breakdown": self.error_breakdown,
            "truncation": self.truncation.to_dict() if self.truncation else None,
            "worst_errors": list(self.worst_errors),
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, task: str, data: dict[str, Any]) -> SplitResult:
        boot = data.get("bootstrap")
        matrix = data.get("confusion_matrix")
        truncation = data.get("truncation")
        return cls(
            task=task,
            n_examples=int(data["n_examples"]),
            metrics={k: float(v) for k, v in data["metrics"].items()},
            confidence_intervals={
                k: ConfidenceInterval(float(v["low"]), float(v["high"]))
                for k, v in (data.get("confidence_intervals") or {}).items()
            },
            bootstrap=BootstrapSettings(boot["n_resamples"], boot["confidence"], boot["seed"]) if boot else None,
            per_class=data.get("per_class"),
            per_type=data.get("per_type"),
            confusion_matrix=ConfusionMatrix(matrix["labels"], matrix["matrix"]) if matrix else None,
            error_breakdown=data.get("error_breakdown"),
            truncation=TruncationStats.from_mapping(truncation) if truncation else None,
            worst_errors=list(data.get("worst_errors") or []),
            details=dict(data.get("details") or {}),
        )
