"""Rich renderables summarising a report for the terminal. Nothing is printed here: the CLI prints them.

All user text (labels, sentences, split names) goes through ``Text`` so it is never read as Rich markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from bertkit.evaluation.present import (
    bootstrap_note,
    breakdown_rows,
    class_table,
    confidence_label,
    fmt_interval,
    fmt_value,
    ordered_metrics,
    truncation_lines,
    worst_error_table,
)
from bertkit.evaluation.results import SplitResult

if TYPE_CHECKING:
    from bertkit.evaluation.report import EvalReport


def rich_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric_from: int = 1,
    max_rows: int | None = None,
) -> Table:
    table = Table(title=Text(title, style="bold"), title_justify="left", show_edge=False, pad_edge=False)
    for i, header in enumerate(headers):
        table.add_column(Text(header), justify="right" if i >= numeric_from else "left", overflow="fold")
    shown = rows if max_rows is None else rows[:max_rows]
    for row in shown:
        table.add_row(*(Text(str(cell)) for cell in row))
    if max_rows is not None and len(rows) > max_rows:
        table.caption = Text(f"{len(rows) - max_rows} more rows in the report files")
    return table


def split_renderables(name: str, split: SplitResult, *, max_rows: int = 20, worst: int = 5) -> list[RenderableType]:
    out: list[RenderableType] = []
    rows = [
        [m, fmt_value(split.metrics[m]), fmt_interval(split.confidence_intervals.get(m))]
        for m in ordered_metrics(split)
    ]
    out.append(rich_table(f"{name}: {split.n_examples:,} examples", ["metric", "value", confidence_label(split)], rows))
    lost = split.truncation is not None and split.truncation.anything_lost
    out.append(Text(bootstrap_note(split), style="dim"))
    out.append(Text("\n".join(truncation_lines(split.truncation)), style="yellow" if lost else "green"))
    if split.per_class is not None or split.per_type is not None:
        title, headers, class_rows = class_table(split)
        out.append(rich_table(f"{name}: {title.lower()}", headers, class_rows, max_rows=max_rows))
    if split.error_breakdown:
        out.append(
            rich_table(f"{name}: error breakdown", ["kind", "count", "share"], breakdown_rows(split.error_breakdown))
        )
    if split.worst_errors and worst:
        headers, error_rows = worst_error_table(split.task, split.worst_errors[:worst])
        out.append(rich_table(f"{name}: most confident errors", headers, error_rows, numeric_from=len(headers)))
    return out


def report_renderables(report: EvalReport, **kwargs: int) -> list[RenderableType]:
    """A header line, then per split: metrics with intervals, truncation, per-class table, errors."""
    model = report.model.get("name") or report.model.get("path") or "model"
    out: list[RenderableType] = [Text(f"Evaluation of {model} ({report.task})", style="bold")]
    for name, split in report.splits.items():
        out += split_renderables(name, split, **kwargs)
    return out
