"""``report.md``: the report as GitHub-flavoured Markdown tables, readable in a pull request."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bertkit.evaluation.present import (
    bootstrap_note,
    breakdown_rows,
    class_table,
    clip,
    confidence_label,
    fmt_interval,
    fmt_value,
    ordered_metrics,
    shown_confusion,
    truncation_lines,
    worst_error_table,
)
from bertkit.evaluation.results import ConfusionMatrix, SplitResult

if TYPE_CHECKING:
    from bertkit.evaluation.report import EvalReport


def md_cell(text: object) -> str:
    """One table cell: no line breaks, pipes escaped, HTML shown literally (GitHub renders inline HTML)."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align_right_from: int = 1) -> str:
    lines = ["| " + " | ".join(md_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if i >= align_right_from else "---" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _metrics_table(split: SplitResult) -> str:
    rows = []
    for name in ordered_metrics(split):
        ci = split.confidence_intervals.get(name)
        rows.append([name, fmt_value(split.metrics[name]), fmt_interval(ci)])
    return md_table(["metric", "value", confidence_label(split)], rows)


def _confusion_table(cm: ConfusionMatrix) -> str:
    rows = [[gold, *row] for gold, row in zip(cm.labels, cm.matrix, strict=True)]
    return md_table(["gold \\ predicted", *cm.labels], rows)


def _split_section(name: str, split: SplitResult) -> list[str]:
    out = [f"## Split: {md_cell(name)} ({split.n_examples:,} examples)", "", _metrics_table(split), ""]
    out += [f"_{bootstrap_note(split)}_", "", "### Truncation", ""]
    out += [f"- {md_cell(line)}" for line in truncation_lines(split.truncation)] + [""]
    if split.per_class is not None or split.per_type is not None:
        title, headers, rows = class_table(split)
        out += [f"### {title}", "", md_table(headers, rows), ""]
    if split.error_breakdown:
        out += [
            "### Error breakdown",
            "",
            md_table(["kind", "count", "share of errors"], breakdown_rows(split.error_breakdown)),
            "",
        ]
    if split.confusion_matrix is not None:
        what = (
            "entity types matched by span" if split.task == "token-classification" else "rows gold, columns predicted"
        )
        shown, limited = shown_confusion(split.confusion_matrix)
        out += [f"### Confusion matrix ({what})", "", _confusion_table(shown), ""]
        out += [f"_{limited}_", ""] if limited else []
    if split.details.get("has_ans_total") is not None and split.details.get("no_ans_total"):
        has, no = split.details["has_ans_total"], split.details["no_ans_total"]
        out += [f"Questions with an answer: {has:,}; without: {no:,}.", ""]
    if split.worst_errors:
        headers, rows = worst_error_table(split.task, split.worst_errors)
        out += ["### Most confident errors", "", md_table(headers, rows, align_right_from=99), ""]
    return out


def _training_summary(report: EvalReport) -> list[str]:
    from bertkit.evaluation.traininglog import training_curves

    x_name, curves = training_curves(report.training_log or [])
    rows = [[key, f"{len(c):,}", fmt_value(c[-1][1]), f"{c[-1][0]:g}"] for key, c in curves.items() if key != "epoch"]
    if not rows:
        return []
    return ["## Training log", "", md_table(["series", "points", "last value", f"at {x_name}"], rows), ""]


def render_markdown(report: EvalReport) -> str:
    model = report.model.get("name") or report.model.get("path") or "model"
    data = report.data.get("name") or report.data.get("source") or report.data.get("path") or "data"
    out = [
        f"# Evaluation report: {md_cell(report.task)}",
        "",
        f"- model: {md_cell(clip(model, 200))}",
        f"- data: {md_cell(clip(data, 200))}",
        f"- created: {md_cell(report.created)} with bertkit {md_cell(report.bertkit_version)} "
        f"(report schema {report.schema_version})",
        "",
    ]
    for name, split in report.splits.items():
        out += _split_section(name, split)
    out += _training_summary(report)
    return "\n".join(out).rstrip() + "\n"
