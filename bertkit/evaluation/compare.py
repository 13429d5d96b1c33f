"""Compare two evaluation reports of the same task: metric deltas with both confidence intervals.

``overlap`` says whether the two intervals overlap. Non-overlapping 95% intervals are strong evidence of a
real difference; overlapping ones do not prove there is none (the check is conservative, not a test).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from bertkit.errors import DataError
from bertkit.evaluation.present import fmt_interval, fmt_value, ordered_metrics
from bertkit.evaluation.render_md import md_table
from bertkit.evaluation.render_rich import rich_table
from bertkit.evaluation.report import EvalReport, check_schema_version, load_report
from bertkit.evaluation.results import LOWER_IS_BETTER, ConfidenceInterval

ReportLike = EvalReport | Mapping[str, Any] | str | os.PathLike[str]


@dataclass(frozen=True)
class MetricDelta:
    split: str
    metric: str
    a: float
    b: float
    ci_a: ConfidenceInterval | None
    ci_b: ConfidenceInterval | None

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def overlap(self) -> bool | None:
        """Whether the intervals overlap; None when either report has no interval for this metric."""
        return None if self.ci_a is None or self.ci_b is None else self.ci_a.overlaps(self.ci_b)

    @property
    def better(self) -> str | None:
        """``"a"``, ``"b"`` or None (equal), taking the metric's direction into account."""
        if self.a == self.b:
            return None
        b_higher = self.b > self.a
        return ("a" if b_higher else "b") if self.metric in LOWER_IS_BETTER else ("b" if b_higher else "a")


@dataclass
class Comparison:
    task: str
    name_a: str
    name_b: str
    metrics: list[MetricDelta]
    per_label_f1: list[tuple[str, str, float, float]] = field(default_factory=list)  # split, label, f1 a, f1 b
    splits_only_in_a: list[str] = field(default_factory=list)
    splits_only_in_b: list[str] = field(default_factory=list)


def _as_report(report: ReportLike, source: str) -> EvalReport:
    if isinstance(report, EvalReport):
        return report
    if isinstance(report, Mapping):
        return EvalReport.from_dict(dict(report), source=source)
    return load_report(report)


def _schema_version(report: ReportLike) -> Any:
    if isinstance(report, EvalReport):
        return report.schema_version
    if isinstance(report, Mapping):
        return report.get("schema_version")
    return None


def _pair_splits(a: EvalReport, b: EvalReport) -> list[tuple[str, str, str]]:
    common = [name for name in a.splits if name in b.splits]
    if common:
        return [(name, name, name) for name in common]
    if len(a.splits) == 1 and len(b.splits) == 1:
        (name_a,), (name_b,) = a.splits, b.splits
        return [(f"{name_a} ↔ {name_b}", name_a, name_b)]
    raise DataError(
        f"the reports share no split: A has {list(a.splits)}, B has {list(b.splits)}",
        hint="Evaluate both models on the same split name to compare them.",
    )


def compare(report_a: ReportLike, report_b: ReportLike, *, name_a: str = "A", name_b: str = "B") -> Comparison:
    """Compare ``report_b`` against ``report_a`` (deltas are B - A). Reports may be objects, dicts or paths."""
    versions = (_schema_version(report_a), _schema_version(report_b))
    if None not in versions and versions[0] != versions[1]:
        raise DataError(
            f"cannot compare reports with different schema versions ({name_a}: {versions[0]}, {name_b}: {versions[1]})",
            hint="Re-run `bertkit evaluate` for the older one with the current bertkit.",
        )
    for report, name in ((report_a, name_a), (report_b, name_b)):
        if isinstance(report, Mapping):
            check_schema_version(dict(report), f"report {name}")
    a, b = _as_report(report_a, f"report {name_a}"), _as_report(report_b, f"report {name_b}")
    if a.task != b.task:
        raise DataError(
            f"cannot compare a {a.task} report ({name_a}) with a {b.task} report ({name_b})",
            hint="Compare reports of the same task: their metrics mean different things.",
        )
    rows: list[MetricDelta] = []
    per_label: list[tuple[str, str, float, float]] = []
    for label, split_a_name, split_b_name in _pair_splits(a, b):
        split_a, split_b = a.splits[split_a_name], b.splits[split_b_name]
        for metric in ordered_metrics(split_a):
            if metric in split_b.metrics:
                rows.append(
                    MetricDelta(
                        label,
                        metric,
                        split_a.metrics[metric],
                        split_b.metrics[metric],
                        split_a.confidence_intervals.get(metric),
                        split_b.confidence_intervals.get(metric),
                    )
                )
        table_a = split_a.per_class if split_a.per_class is not None else split_a.per_type
        table_b = split_b.per_class if split_b.per_class is not None else split_b.per_type
        for name in table_a or {}:
            if table_b and name in table_b:
                per_label.append((label, name, table_a[name]["f1"], table_b[name]["f1"]))
    return Comparison(
        task=a.task,
        name_a=name_a,
        name_b=name_b,
        metrics=rows,
        per_label_f1=per_label,
        splits_only_in_a=[s for s in a.splits if s not in b.splits],
        splits_only_in_b=[s for s in b.splits if s not in a.splits],
    )


def _overlap_word(row: MetricDelta) -> str:
    return {None: "–", True: "yes", False: "no"}[row.overlap]


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + fmt_value(value)


def _metric_rows(cmp: Comparison) -> list[list[str]]:
    return [
        [
            r.split,
            r.metric,
            fmt_value(r.a),
            fmt_interval(r.ci_a),
            fmt_value(r.b),
            fmt_interval(r.ci_b),
            _signed(r.delta),
            _overlap_word(r),
        ]
        for r in cmp.metrics
    ]


def _headers(cmp: Comparison) -> list[str]:
    a, b = cmp.name_a, cmp.name_b
    return ["split", "metric", a, f"{a} CI", b, f"{b} CI", f"Δ ({b} − {a})", "CIs overlap"]


def _notes(cmp: Comparison) -> list[str]:
    notes = []
    if cmp.splits_only_in_a:
        notes.append(f"Only in {cmp.name_a}: {', '.join(cmp.splits_only_in_a)}.")
    if cmp.splits_only_in_b:
        notes.append(f"Only in {cmp.name_b}: {', '.join(cmp.splits_only_in_b)}.")
    return notes


def comparison_markdown(cmp: Comparison) -> str:
    out = [
        f"# Comparison ({cmp.task}): {cmp.name_a} vs {cmp.name_b}",
        "",
        md_table(_headers(cmp), _metric_rows(cmp), 2),
        "",
    ]
    if cmp.per_label_f1:
        rows = [[s, label, fmt_value(fa), fmt_value(fb), _signed(fb - fa)] for s, label, fa, fb in cmp.per_label_f1]
        out += ["## F1 per label", "", md_table(["split", "label", cmp.name_a, cmp.name_b, "Δ"], rows, 2), ""]
    out += [f"- {n}" for n in _notes(cmp)]
    out.append("Non-overlapping intervals indicate a real difference; overlapping ones do not rule one out.")
    return "\n".join(out).rstrip() + "\n"


def comparison_renderables(cmp: Comparison) -> list[RenderableType]:
    out: list[RenderableType] = [
        rich_table(f"{cmp.name_a} vs {cmp.name_b} ({cmp.task})", _headers(cmp), _metric_rows(cmp), 2)
    ]
    if cmp.per_label_f1:
        rows = [[s, label, fmt_value(fa), fmt_value(fb), _signed(fb - fa)] for s, label, fa, fb in cmp.per_label_f1]
        out.append(rich_table("F1 per label", ["split", "label", cmp.name_a, cmp.name_b, "Δ"], rows, 2))
    out += [Text(note, style="dim") for note in _notes(cmp)]
    return out
