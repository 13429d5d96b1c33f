"""report.html is one self-contained file with inline SVG plots, and user text is escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from bertkit.evaluation import ClassificationEvaluator, EvalReport, render_html, write_report
from bertkit.evaluation.svg import bar_chart, heatmap, interval_chart, line_chart, nice_ticks

EXTERNAL = [
    re.compile(r"""\b(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE),
    re.compile(r"<script\b", re.IGNORECASE),
    re.compile(r"<link\b", re.IGNORECASE),
    re.compile(r"@import", re.IGNORECASE),
    re.compile(r"url\s*\(", re.IGNORECASE),
    re.compile(r"https?://", re.IGNORECASE),
]


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs


def assert_self_contained(html: str) -> None:
    for pattern in EXTERNAL:
        assert not pattern.search(html), f"external reference: {pattern.pattern}"
    collector = TagCollector()
    collector.feed(html)
    for name, value in collector.attrs:
        if name in ("src", "href"):
            assert value is not None and value.startswith("#"), (name, value)


def svgs(html: str) -> list[ET.Element]:
    """Every inline SVG, parsed as XML (so each one is well-formed)."""
    return [ET.fromstring(chunk) for chunk in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL)]


def svg_titles(html: str) -> list[str]:
    return [svg.findtext("title") for svg in svgs(html)]


def test_html_is_self_contained_for_every_task(tmp_path, any_report):
    html = write_report(any_report, tmp_path, formats=("html",))["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert_self_contained(html)
    assert "<style>" in html
    assert svgs(html), "at least the metrics chart"


def test_classification_html_has_all_plots(classification_report):
    html = render_html(classification_report)
    titles = svg_titles(html)
    assert titles == [
        "Metrics with 95% CI",
        "Per class: precision, recall, F1",
        "Confusion matrix",
        "Loss",
        "Learning rate",
        "Evaluation metrics",
    ]
    heat = svgs(html)[2]
    cells = [r for r in heat.iter("rect") if r.find("title") is not None]
    assert len(cells) == 9
    assert any("gold neutral → predicted positive" in r.findtext("title") for r in cells)
    loss = svgs(html)[3]
    assert len(loss.findall("polyline")) == 2  # loss and eval_loss; eval_runtime is not plotted
    assert "7 of 300 (2.3%) examples truncated at 64 tokens." in html


def test_ner_html_shows_type_confusions_and_breakdown(ner_report):
    html = render_html(ner_report)
    assert svg_titles(html) == [
        "Metrics with 95% CI",
        "Per entity type: precision, recall, F1",
        "Entity type confusions",
    ]
    assert "wrong type and boundary" in html and "Most confident errors" in html
    assert "Training" not in svg_titles(html)


def test_user_text_is_escaped(tmp_path):
    evaluator = ClassificationEvaluator(["<b>bold</b>", 'quote"label'], worst_k=3)
    evil = "<script src='http://evil.example/x.js'></script> & <img src=x onerror=alert(1)>"
    evaluator.add_batch([0, 1], [1, 0], texts=[evil, "plain"], confidences=[0.9, 0.8])
    report = EvalReport(
        task="text-classification",
        splits={"dev <i>": evaluator.result(bootstrap=None)},
        model={"name": "<model>"},
        training_log=[{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}],
    )
    html = render_html(report)
    assert "&lt;script src=&#x27;http://evil.example/x.js&#x27;&gt;" in html
    assert "<img" not in html and "<b>bold" not in html and "<i>" not in html
    collector = TagCollector()
    collector.feed(html)
    assert "script" not in collector.tags and "img" not in collector.tags
    assert svg_titles(html) == ["Metrics", "Per class: precision, recall, F1", "Confusion matrix", "Loss"]


def test_svg_helpers_produce_well_formed_svg():
    charts = [
        bar_chart(["a & b", "c"], {"precision": [0.5, 1.2], "f1": [0.0, -1.0]}, "Bars <1>"),
        heatmap(["x", "y"], [[3, 1], [0, 0]], "Heat"),
        heatmap([], [], "Empty"),
        line_chart({"loss": [(1, 2.0), (2, 1.0)], "flat": [(1, 1.0)]}, "Lines", "step"),
        line_chart({}, "Nothing", "step"),
        interval_chart([("acc", 0.9, 0.85, 0.95), ("x", 0.5, None, None)], "CI"),
    ]
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.tag == "svg"
    assert ET.fromstring(charts[0]).findtext("title") == "Bars <1>"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.62, 0.81, [0.6, 0.65, 0.7, 0.75, 0.8, 0.85]),
        (3.0, 3.0, None),
        (0.0, 1e-12, [0.0, 2e-13, 4e-13, 6e-13, 8e-13, 1e-12]),  # e.g. a learning rate decayed to nearly 0
        (12_000.0, 57_000.0, [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]),
    ],
)
def test_nice_ticks(low, high, expected):
    ticks = nice_ticks(low, high, 5)
    if expected is not None:
        assert ticks == pytest.approx(expected, rel=1e-9, abs=0)
    assert ticks[0] <= low and ticks[-1] >= high and len(ticks) >= 2
    assert len(set(ticks)) == len(ticks)


def test_a_curve_of_tiny_values_draws():
    chart = line_chart({"learning_rate": [(1, 2e-12), (2, 1e-12), (3, 0.0)]}, "LR", "step")
    assert ET.fromstring(chart).tag == "svg"


def test_large_confusion_matrices_show_the_most_frequent_labels():
    labels = [f"class_{i:03d}" for i in range(60)]
    evaluator = ClassificationEvaluator(labels)
    gold = [i % 60 for i in range(600)] + list(range(45)) * 5  # classes 0..44 are more frequent
    evaluator.add_batch(gold, gold[::-1])
    report = EvalReport(task="text-classification", splits={"dev": evaluator.result(bootstrap=None)})
    html = render_html(report)
    heat = next(s for s in svgs(html) if s.findtext("title") == "Confusion matrix")
    assert len([r for r in heat.iter("rect") if r.find("title") is not None]) == 40 * 40
    assert "Showing the 40 of 60 labels with the most gold examples" in html
    assert len(report.to_dict()["splits"]["dev"]["confusion_matrix"]["labels"]) == 60
