"""Report files: written atomically, report.json has the versioned schema and round-trips, report.md has tables."""

from __future__ import annotations

import json

import pytest

from bertkit.errors import DataError, InputError
from bertkit.evaluation import EvalReport, SplitResult, TruncationStats, load_report, render_markdown, write_report
from bertkit.evaluation.results import SCHEMA_VERSION

SPLIT_KEYS = {
    "n_examples",
    "metrics",
    "confidence_intervals",
    "bootstrap",
    "per_class",
    "per_type",
    "confusion_matrix",
    "error_breakdown",
    "truncation",
    "worst_errors",
    "details",
}


def test_writes_three_files_atomically(tmp_path, any_report):
    paths = write_report(any_report, tmp_path / "eval")
    assert {p.name for p in paths.values()} == {"report.json", "report.md", "report.html"}
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == ["report.html", "report.json", "report.md"]


def test_report_json_schema(tmp_path, any_report):
    data = json.loads(write_report(any_report, tmp_path, formats=("json",))["json"].read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert set(data) == {
        "schema_version",
        "bertkit_version",
        "created",
        "task",
        "model",
        "data",
        "splits",
        "training_log",
    }
    assert data["task"] == any_report.task
    for split in data["splits"].values():
        assert set(split) == SPLIT_KEYS
        assert split["n_examples"] > 0
        assert all(isinstance(v, float) for v in split["metrics"].values())
        for name, ci in split["confidence_intervals"].items():
            assert name in split["metrics"] and ci["low"] <= ci["high"]
        assert split["bootstrap"] == {"method": "percentile", "n_resamples": 200, "confidence": 0.95, "seed": 0}


def test_task_specific_sections(classification_report, ner_report, qa_report):
    clf = classification_report.to_dict()["splits"]["validation"]
    assert clf["per_class"]["neutral"].keys() == {"precision", "recall", "f1", "support"}
    assert clf["per_type"] is None and clf["error_breakdown"] is None
    assert clf["confusion_matrix"]["labels"] == ["negative", "neutral", "positive"]
    assert sum(map(sum, clf["confusion_matrix"]["matrix"])) == clf["n_examples"]
    assert clf["truncation"]["examples_truncated"] == 7
    assert clf["worst_errors"][0].keys() >= {"id", "text", "gold", "pred", "confidence"}

    ner = ner_report.to_dict()["splits"]["test"]
    assert set(ner["per_type"]) <= {"PER", "LOC", "ORG"} and ner["per_class"] is None
    assert set(ner["error_breakdown"]) == {
        "correct",
        "wrong_type",
        "wrong_boundary",
        "wrong_type_and_boundary",
        "spurious",
        "missed",
    }
    assert ner["details"]["mode"] == "conlleval"

    qa = qa_report.to_dict()["splits"]["validation"]
    assert qa["details"]["has_ans_total"] + qa["details"]["no_ans_total"] == qa["n_examples"]
    assert qa["truncation"] is None


def test_json_round_trip(tmp_path, any_report):
    write_report(any_report, tmp_path, formats=("json",))
    loaded = load_report(tmp_path)  # a folder works too
    assert loaded.to_dict() == any_report.to_dict()


def test_non_finite_numbers_become_null(tmp_path):
    split = SplitResult(task="masked-lm", n_examples=1, metrics={"perplexity": float("inf"), "loss": float("nan")})
    report = EvalReport(task="masked-lm", splits={"dev": split})
    text = write_report(report, tmp_path, formats=("json",))["json"].read_text()
    assert json.loads(text)["splits"]["dev"]["metrics"] == {"perplexity": None, "loss": None}


def test_training_log_is_kept(classification_report):
    log = classification_report.to_dict()["training_log"]
    assert log[0] == {
        "step": 10,
        "epoch": 0.1,
        "loss": pytest.approx(1 / 10**0.3),
        "learning_rate": pytest.approx(4.8e-5),
    }


def test_loading_other_schema_versions_or_files_fails_clearly(tmp_path, classification_report):
    data = classification_report.to_dict()
    data["schema_version"] = 2
    (tmp_path / "report.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"schema version 2; this bertkit .* reads report schema version 1"):
        load_report(tmp_path / "report.json")
    (tmp_path / "broken.json").write_text('{"schema_version": 1,\n  "task": }')
    with pytest.raises(DataError, match=r"broken.json:2:11: not valid JSON"):
        load_report(tmp_path / "broken.json")
    with pytest.raises(DataError, match="cannot read report"):
        load_report(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text(json.dumps({"schema_version": 1, "splits": {}}))
    with pytest.raises(DataError, match="missing task"):
        load_report(tmp_path / "other.json")


def test_markdown_has_the_tables(classification_report, ner_report):
    text = render_markdown(classification_report)
    assert "# Evaluation report: text-classification" in text
    assert "| metric | value | 95% CI |" in text
    assert "| accuracy |" in text
    assert "| label | precision | recall | f1 | support |" in text
    assert "| gold \\ predicted | negative | neutral | positive |" in text
    assert "7 of 300 (2.3%) examples truncated at 64 tokens." in text
    assert "120 of 9,000 (1.3%) tokens dropped by truncation." in text
    # user text cannot break the table or inject HTML
    assert "with [MASK] and &lt;b&gt;markup&lt;/b&gt; \\| pipe" in text
    assert "| Training log" not in text and "## Training log" in text

    ner_text = render_markdown(ner_report)
    assert "| type | precision | recall | f1 | support |" in ner_text
    assert "| wrong type (same span) |" in ner_text
    assert "### Most confident errors" in ner_text


def test_truncation_stats_are_checked():
    with pytest.raises(DataError, match="examples_truncated=5 exceeds n_examples=3"):
        TruncationStats(n_examples=3, examples_truncated=5)
    with pytest.raises(DataError, match="non-negative integer"):
        TruncationStats(n_examples=-1)
    with pytest.raises(DataError, match="unknown truncation field"):
        TruncationStats.from_mapping({"n_examples": 3, "truncated": 1})
    assert TruncationStats(n_examples=3, tokens_total=10, tokens_truncated=0).anything_lost is False


def test_report_checks_task_names(tmp_path):
    with pytest.raises(InputError, match="unknown task 'ner'"):
        EvalReport(task="ner", splits={})
    split = SplitResult(task="question-answering", n_examples=1, metrics={"f1": 1.0})
    with pytest.raises(InputError, match="holds question-answering results"):
        EvalReport(task="text-classification", splits={"dev": split})
    with pytest.raises(InputError, match="unknown report format"):
        write_report(EvalReport(task="masked-lm", splits={}), tmp_path, formats=("pdf",))
    assert not list(tmp_path.iterdir())
