"""``report.html``: one self-contained page (inline CSS and SVG; no scripts, fonts or other external files)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from bertkit.evaluation import svg
from bertkit.evaluation.metrics.ner_errors import OUTSIDE
from bertkit.evaluation.present import (
    HEADLINE,
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
from bertkit.evaluation.results import LOWER_IS_BETTER, SplitResult

if TYPE_CHECKING:
    from bertkit.evaluation.report import EvalReport

MAX_BARS = 40  # classes shown in the per-class chart (highest support first); the table lists all

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 0; background: #f6f7f9; color: #1d1f23; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 12px; border-bottom: 1px solid #dde1e6; padding-bottom: 6px; }
h2 small { color: #667; font-weight: 400; font-size: 14px; }
h3 { font-size: 15px; margin: 22px 0 8px; color: #333; }
.meta { color: #556; margin: 0 0 16px; }
.meta code { background: #eceef1; padding: 1px 5px; border-radius: 4px; }
nav a { margin-right: 14px; color: #2f5f98; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 18px 22px; margin: 18px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.card { border: 1px solid #dde1e6; border-radius: 6px; padding: 8px 14px; min-width: 130px; background: #fbfcfd; }
.card .name { font-size: 12px; color: #667; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 600; }
.card .ci { font-size: 12px; color: #667; }
.note { color: #667; font-size: 13px; }
.truncation { border-left: 4px solid #59a14f; background: #f2f8f1; padding: 6px 12px; margin: 10px 0; font-size: 14px; }
.truncation.lost { border-left-color: #e15759; background: #fdf1f1; }
.truncation p { margin: 2px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
th, td { border-bottom: 1px solid #e6e8eb; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 520px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.chart { max-width: 100%; height: auto; font-family: inherit; }
footer { color: #889; font-size: 12px; margin-top: 24px; }
"""


def _anchor(name: str) -> str:
    return "split-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "x")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool] | None = None) -> str:
    numeric = numeric or [False] * len(headers)

    def cls(i: int, text_cls: str = "") -> str:
        return ' class="num"' if numeric[i] else text_cls

    text_cls = ' class="text"'
    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i, text_cls)}>{escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cards(split: SplitResult) -> str:
    names = [n for n in HEADLINE.get(split.task, []) if n in split.metrics][:4] or list(split.metrics)[:4]
    cards = []
    for name in names:
        ci = split.confidence_intervals.get(name)
        ci_html = f'<div class="ci">{escape(confidence_label(split))} {escape(fmt_interval(ci))}</div>' if ci else ""
        cards.append(
            f'<div class="card"><div class="name">{escape(name)}</div>'
            f'<div class="value">{escape(fmt_value(split.metrics[name]))}</div>{ci_html}</div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _metrics_block(split: SplitResult) -> str:
    names = ordered_metrics(split)
    rows = [[n, fmt_value(split.metrics[n]), fmt_interval(split.confidence_intervals.get(n))] for n in names]
    table = _table(["metric", "value", confidence_label(split)], rows, [False, True, True])
    unit_rows = []
    for n in names:
        value, ci = split.metrics[n], split.confidence_intervals.get(n)
        if n not in LOWER_IS_BETTER and 0.0 <= value <= 1.0:
            unit_rows.append((n, value, ci.low if ci else None, ci.high if ci else None))
    title = f"Metrics with {confidence_label(split)}" if split.confidence_intervals else "Metrics"
    chart = svg.interval_chart(unit_rows, title, width=560) if unit_rows else ""
    return f'<h3>Metrics</h3><div class="row"><div>{table}</div>{chart}</div>'


def _truncation_block(split: SplitResult) -> str:
    lost = split.truncation is not None and split.truncation.anything_lost
    lines = "".join(f"<p>{escape(line)}</p>" for line in truncation_lines(split.truncation))
    return f'<div class="truncation{" lost" if lost else ""}"><strong>Truncation</strong>{lines}</div>'


def _classes_block(split: SplitResult) -> str:
    title, headers, rows = class_table(split)
    table = split.per_class if split.per_class is not None else split.per_type
    if not table:
        return ""
    shown = sorted(table, key=lambda name: -table[name]["support"])[:MAX_BARS]
    shown = [name for name in table if name in shown]
    series = {metric: [table[name][metric] for name in shown] for metric in ("precision", "recall", "f1")}
    chart = svg.bar_chart(shown, series, f"{title}: precision, recall, F1")
    note = (
        f'<p class="note">Chart shows the {MAX_BARS} labels with the most support.</p>' if len(table) > MAX_BARS else ""
    )
    table_html = _table(headers, rows, [False, True, True, True, True])
    return f'<h3>{escape(title)}</h3><div class="row"><div>{table_html}</div><div>{chart}{note}</div></div>'


def _confusion_block(split: SplitResult) -> str:
    cm = split.confusion_matrix
    if cm is None:
        return ""
    outside = None
    if split.task == "token-classification":
        title, note = "Entity type confusions", "Entities matched by span; O = no entity with that span on that side."
        outside = OUTSIDE
    else:
        title, note = "Confusion matrix", "Rows are gold labels, columns predictions; colour is the share of the row."
    shown, limited = shown_confusion(cm)
    chart = svg.heatmap(shown.labels, shown.matrix, title, outside_label=outside)
    return f'<h3>{title}</h3><p class="note">{escape(" ".join([note, limited]).strip())}</p>{chart}'


def _errors_block(split: SplitResult) -> str:
    out = ""
    if split.error_breakdown:
        rows = breakdown_rows(split.error_breakdown)
        out += "<h3>Error breakdown</h3>" + _table(["kind", "count", "share of errors"], rows, [False, True, True])
    if split.worst_errors:
        headers, rows = worst_error_table(split.task, split.worst_errors)
        out += "<h3>Most confident errors</h3>" + _table(headers, rows, [False, True] + [False] * (len(headers) - 2))
    return out


def _split_section(name: str, split: SplitResult) -> str:
    parts = [
        f'<section id="{_anchor(name)}"><h2>Split: {escape(name)} <small>{split.n_examples:,} examples</small></h2>',
        _cards(split),
        f'<p class="note">{escape(bootstrap_note(split))}</p>',
        _truncation_block(split),
        _metrics_block(split),
        _classes_block(split),
        _confusion_block(split),
        _errors_block(split),
    ]
    if split.details.get("no_ans_total"):
        d = split.details
        parts.append(
            f'<p class="note">Questions with an answer: {d["has_ans_total"]:,}; without: {d["no_ans_total"]:,}.</p>'
        )
    return "\n".join(parts) + "</section>"


def _training_section(report: EvalReport) -> str:
    from bertkit.evaluation.traininglog import group_curves, training_curves

    x_name, curves = training_curves(report.training_log or [])
    charts = [
        svg.line_chart(group, title.capitalize(), x_name, width=520) for title, group in group_curves(curves).items()
    ]
    if not charts:
        return ""
    return f'<section id="training"><h2>Training</h2><div class="row">{"".join(charts)}</div></section>'


def render_html(report: EvalReport) -> str:
    model = report.model.get("name") or report.model.get("path") or "model"
    data = report.data.get("name") or report.data.get("source") or report.data.get("path") or "data"
    nav = "".join(f'<a href="#{_anchor(n)}">{escape(n)}</a>' for n in report.splits)
    if report.training_log:
        nav += '<a href="#training">training</a>'
    body = "\n".join(_split_section(name, split) for name, split in report.splits.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>bertkit evaluation: {escape(report.task)}</title><style>{CSS}</style></head>\n<body><main>"
        f"<h1>Evaluation report: {escape(report.task)}</h1>"
        f'<p class="meta">model <code>{escape(clip(model, 160))}</code> · data <code>{escape(clip(data, 160))}</code>'
        f" · {escape(report.created)}</p><nav>{nav}</nav>\n{body}\n{_training_section(report)}"
        f"<footer>bertkit {escape(report.bertkit_version)} · report schema {report.schema_version}</footer>"
        "</main></body></html>\n"
    )
