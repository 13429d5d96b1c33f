"""Small inline-SVG charts for the HTML report, generated in Python (no JavaScript, no external files).

Each function returns one ``<svg>`` element as a string; all text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
FONT_PX = 11
CHAR_PX = 6.4  # rough width of one character at FONT_PX, for layout only
AXIS = "#555"
GRID = "#e3e3e3"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    head = (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)}" font-size="{FONT_PX}">'
    )
    return "\n".join([head, f"<title>{escape(title)}</title>", *body, "</svg>"])


def _text(x: float, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1.0) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"/>'


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high <= low:
        pad = abs(low) * 0.1 or 0.5
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if (high - low) / (m * magnitude) <= count)
    start = math.floor(low / step + 1e-9) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(start + len(ticks) * step)
    digits = max(0, 3 - math.floor(math.log10(step)))  # clean decimals at any scale (lr 1e-12 and loss 1e4 alike)
    return [round(t, digits) for t in ticks]


def tick_label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10000 else f"{value:.4g}"


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out, cursor = [], x
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{cursor:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>')
        out.append(_text(cursor + 14, y, name))
        cursor += 24 + CHAR_PX * len(name)
    return out


def bar_chart(categories: Sequence[str], series: dict[str, Sequence[float]], title: str, width: int = 640) -> str:
    """Horizontal grouped bars on a 0..1 scale, one group per category (e.g. precision/recall/F1 per class)."""
    names = list(series)
    label_w = min(200, 16 + CHAR_PX * max((len(c) for c in categories), default=4))
    bar_h, gap = 9, 8
    group_h = bar_h * len(names) + gap
    top, left, right = 44, label_w, 48
    plot_w = width - left - right
    height = top + group_h * len(categories) + 28
    body = [_text(8, 16, title, extra=' font-weight="600" font-size="13"'), *_legend(names, left, 34)]
    for tick in nice_ticks(0.0, 1.0, 4):
        x = left + tick * plot_w
        body.append(_line(x, top, x, height - 24, GRID))
        body.append(_text(x, height - 10, tick_label(tick), anchor="middle", extra=f' fill="{AXIS}"'))
    for i, category in enumerate(categories):
        y0 = top + i * group_h + gap / 2
        body.append(_text(left - 8, y0 + group_h / 2, _short(category, 28), anchor="end", extra=' dy="0.1em"'))
        for j, name in enumerate(names):
            value = max(0.0, min(1.0, float(series[name][i])))
            y = y0 + j * bar_h
            body.append(
                f'<rect x="{left}" y="{y:.1f}" width="{value * plot_w:.1f}" height="{bar_h - 1}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(f"{category} {name}: {value:.4f}")}</title></rect>'
            )
        last = max(0.0, min(1.0, float(series[names[-1]][i])))
        body.append(_text(left + last * plot_w + 4, y0 + group_h - gap - 1, f"{last:.3f}", extra=f' fill="{AXIS}"'))
    return _svg(width, height, title, body)


def _blend(share: float) -> str:
    """White (0) to dark blue (1)."""
    low, high = (247, 251, 255), (8, 69, 148)
    rgb = [round(a + (b - a) * share) for a, b in zip(low, high, strict=False)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str, outside_label: str | None = None
) -> str:
    """Confusion matrix: colour = share of the gold row, number = count. Rows gold, columns predicted.
    The diagonal (correct) cells are outlined, except for ``outside_label`` (NER's "no entity")."""
    k = len(labels)
    cell = max(14.0, min(60.0, 480.0 / max(k, 1)))
    label_w = min(180, 14 + CHAR_PX * max((len(x) for x in labels), default=4))
    left, top = label_w + 22, 34 + min(150, 10 + CHAR_PX * 0.75 * max((len(x) for x in labels), default=4))
    width, height = left + cell * k + 20, top + cell * k + 34
    body = [_text(8, 16, title, extra=' font-weight="600" font-size="13"')]
    body.append(_text(left + cell * k / 2, height - 10, "predicted", anchor="middle", extra=f' fill="{AXIS}"'))
    body.append(
        _text(
            12,
            top + cell * k / 2,
            "gold",
            anchor="middle",
            extra=f' fill="{AXIS}" transform="rotate(-90 12 {top + cell * k / 2:.1f})"',
        )
    )
    for j, label in enumerate(labels):
        x = left + (j + 0.5) * cell
        body.append(_text(x, top - 6, _short(label, 22), extra=f' transform="rotate(-45 {x:.1f} {top - 6:.1f})"'))
    for i, (label, row) in enumerate(zip(labels, matrix, strict=False)):
        y = top + i * cell
        body.append(_text(left - 6, y + cell / 2, _short(label, 26), anchor="end", extra=' dominant-baseline="middle"'))
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            x = left + j * cell
            on_diagonal = i == j and label != outside_label
            stroke = ' stroke="#222" stroke-width="1.2"' if on_diagonal else ' stroke="#fff"'
            tip = escape(f"gold {label} → predicted {labels[j]}: {count:,} ({share:.1%} of gold {label})")
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}" fill="{_blend(share)}"{stroke}>'
                f"<title>{tip}</title></rect>"
            )
            if cell >= 20 and count:
                color = "#fff" if share > 0.55 else "#222"
                size = FONT_PX if cell >= 30 else 9
                body.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2,
                        f"{count:,}",
                        anchor="middle",
                        extra=f' dominant-baseline="middle" fill="{color}" font-size="{size}"',
                    )
                )
    return _svg(width, height, title, body)


def line_chart(
    series: dict[str, Sequence[tuple[float, float]]], title: str, x_label: str, width: int = 560, height: int = 300
) -> str:
    """Lines over a shared x axis (e.g. loss per step), with round-number ticks and a legend."""
    points = [p for curve in series.values() for p in curve]
    xs, ys = [p[0] for p in points] or [0.0, 1.0], [p[1] for p in points] or [0.0, 1.0]
    x_ticks, y_ticks = nice_ticks(min(xs), max(xs), 6), nice_ticks(min(ys), max(ys), 5)
    y_label_w = CHAR_PX * max(len(tick_label(t)) for t in y_ticks)
    left, right, top, bottom = 18 + y_label_w, 16, 46, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x_ticks[0]) / (x_ticks[-1] - x_ticks[0]) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * plot_h

    body = [_text(8, 16, title, extra=' font-weight="600" font-size="13"'), *_legend(list(series), left, 34)]
    for t in y_ticks:
        body.append(_line(left, sy(t), width - right, sy(t), GRID))
        body.append(
            _text(left - 6, sy(t), tick_label(t), anchor="end", extra=f' dominant-baseline="middle" fill="{AXIS}"')
        )
    for t in x_ticks:
        body.append(_line(sx(t), top + plot_h, sx(t), top + plot_h + 4, AXIS))
        body.append(_text(sx(t), top + plot_h + 16, tick_label(t), anchor="middle", extra=f' fill="{AXIS}"'))
    body.append(_line(left, top + plot_h, width - right, top + plot_h, AXIS))
    body.append(_text(left + plot_w / 2, height - 6, x_label, anchor="middle", extra=f' fill="{AXIS}"'))
    for i, (name, curve) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(curve))
        line = f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.8">'
        body.append(f"{line}<title>{escape(name)}</title></polyline>")
        if len(curve) <= 60:
            body += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{color}"/>' for x, y in curve]
    return _svg(width, height, title, body)


def interval_chart(rows: Sequence[tuple[str, float, float | None, float | None]], title: str, width: int = 640) -> str:
    """Point estimates with confidence-interval whiskers, one row per metric. The axis is zoomed to the values
    (within 0..1) so that intervals stay readable; its range is labelled."""
    label_w = 16 + CHAR_PX * max((len(r[0]) for r in rows), default=4)
    left, right, top, row_h = label_w, 90, 30, 22
    plot_w = width - left - right
    height = top + row_h * len(rows) + 28
    values = [v for r in rows for v in r[1:] if v is not None] or [0.0, 1.0]
    pad = 0.05 * (max(values) - min(values)) + 0.005
    ticks = nice_ticks(max(0.0, min(values) - pad), min(1.0, max(values) + pad), 5)
    low_end, high_end = ticks[0], ticks[-1]

    def sx(value: float) -> float:
        return left + (value - low_end) / (high_end - low_end) * plot_w

    body = [_text(8, 16, title, extra=' font-weight="600" font-size="13"')]
    for tick in ticks:
        body.append(_line(sx(tick), top, sx(tick), height - 24, GRID))
        body.append(_text(sx(tick), height - 10, tick_label(tick), anchor="middle", extra=f' fill="{AXIS}"'))
    for i, (name, value, low, high) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        body.append(_text(left - 8, y, name, anchor="end", extra=' dominant-baseline="middle"'))
        if low is not None and high is not None:
            body.append(_line(sx(low), y, sx(high), y, PALETTE[0], 2))
            body += [_line(sx(x), y - 5, sx(x), y + 5, PALETTE[0], 2) for x in (low, high)]
        body.append(f'<circle cx="{sx(value):.1f}" cy="{y:.1f}" r="4.5" fill="{PALETTE[1]}"/>')
        body.append(_text(width - right + 8, y, f"{value:.4f}", extra=' dominant-baseline="middle"'))
    return _svg(width, height, title, body)
