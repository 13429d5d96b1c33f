"""compare(): deltas with both intervals and their overlap, clear errors, Markdown and Rich output."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from bertkit.errors import DataError
from bertkit.evaluation import EvalReport, compare, comparison_markdown, comparison_renderables, write_report
from bertkit.evaluation.compare import MetricDelta
from bertkit.evaluation.results import ConfidenceInterval
from tests.evaluation.builders import classification_split


def report_with_accuracy(accuracy: float, seed: int = 0, split: str = "validation") -> EvalReport:
    return EvalReport(
        task="text-classification",
        splits={split: classification_split(accuracy=accuracy, n=400, seed=seed)},
        model={"name": f"model-{accuracy}"},
    )


def test_clear_improvement_has_disjoint_intervals():
    weak, strong = report_with_accuracy(0.5), report_with_accuracy(0.95)
    result = compare(weak, strong, name_a="base", name_b="new")
    rows = {r.metric: r for r in result.metrics}
    acc = rows["accuracy"]
    assert acc.a == weak.splits["validation"].metrics["accuracy"]
    assert acc.delta == pytest.approx(acc.b - acc.a) and acc.delta > 0.3
    assert acc.overlap is False and acc.better == "b"
    assert acc.ci_a == weak.splits["validation"].confidence_intervals["accuracy"]
    assert [r.metric for r in result.metrics][:3] == ["accuracy", "macro_f1", "mcc"]
    assert {label for _, label, _, _ in result.per_label_f1} == {"negative", "neutral", "positive"}


def test_same_model_twice_overlaps_with_zero_delta():
    report = report_with_accuracy(0.8)
    result = compare(report, report)
    assert all(r.delta == 0 and r.overlap is True and r.better is None for r in result.metrics)


def test_direction_of_lower_is_better_metrics():
    row = MetricDelta("dev", "perplexity", 10.0, 8.0, None, None)
    assert row.better == "b" and row.overlap is None
    assert MetricDelta("dev", "f1", 0.8, 0.7, ConfidenceInterval(0.7, 0.9), None).better == "a"


def test_reports_load_from_paths_and_dicts(tmp_path):
    a, b = report_with_accuracy(0.6), report_with_accuracy(0.7, seed=1)
    write_report(a, tmp_path / "a", formats=("json",))
    from_paths = compare(tmp_path / "a", str(tmp_path / "a" / "report.json"))
    assert all(r.delta == 0 for r in from_paths.metrics)
    from_dicts = compare(a.to_dict(), json.loads(b.to_json()))
    assert from_dicts.metrics[0].b == b.splits["validation"].metrics["accuracy"]


def test_different_tasks_or_schema_versions_are_errors(ner_report):
    clf = report_with_accuracy(0.8)
    with pytest.raises(DataError, match=r"cannot compare a text-classification report .* token-classification"):
        compare(clf, ner_report)
    newer = clf.to_dict() | {"schema_version": 2}
    with pytest.raises(DataError, match=r"different schema versions \(A: 1, B: 2\)"):
        compare(clf.to_dict(), newer)
    with pytest.raises(
        DataError, match=r"report A: schema version 2; this bertkit \(.*\) reads report schema version 1"
    ):
        compare(newer, newer)
    with pytest.raises(DataError, match=r"different schema versions \(A: 1, B: 2\)"):
        compare(clf, newer)


def test_split_pairing():
    a, b = report_with_accuracy(0.8, split="dev"), report_with_accuracy(0.8, split="validation")
    result = compare(a, b)  # one split each: compared with each other
    assert result.metrics[0].split == "dev ↔ validation"
    two = EvalReport(task="text-classification", splits={"x": a.splits["dev"], "y": a.splits["dev"]})
    with pytest.raises(DataError, match="share no split"):
        compare(two, b)
    both = EvalReport(task="text-classification", splits={"dev": a.splits["dev"], "test": a.splits["dev"]})
    result = compare(both, a)
    assert result.splits_only_in_a == ["test"] and {r.split for r in result.metrics} == {"dev"}


def test_markdown_and_rich_output():
    result = compare(report_with_accuracy(0.5), report_with_accuracy(0.95), name_a="base", name_b="new [v2]")
    md = comparison_markdown(result)
    assert "| split | metric | base | base CI | new [v2] | new [v2] CI | Δ (new [v2] − base) | CIs overlap |" in md
    accuracy_row = next(line for line in md.splitlines() if line.startswith("| validation | accuracy |"))
    assert accuracy_row.endswith("| no |") and "| +0." in accuracy_row
    assert "## F1 per label" in md
    console = Console(record=True, width=200)
    for renderable in comparison_renderables(result):
        console.print(renderable)
    text = console.export_text()
    assert "new [v2]" in text and "accuracy" in text and "no" in text
