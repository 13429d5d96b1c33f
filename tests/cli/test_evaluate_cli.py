"""`bertkit evaluate` as users run it: report files, the terminal summary, --json, --compare, and bad input."""

from __future__ import annotations

import json

import pytest

from bertkit.evaluation import load_report
from tests.cli.helpers import assert_clean_error, run_cli
from tests.evaluation.test_runner import classification_rows, write_conll, write_csv, write_qa


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def dev_csv(tmp_path):
    return write_csv(tmp_path / "dev.csv", classification_rows())


def evaluate(*args):
    return run_cli("evaluate", *args, "--precision", "fp32", "--bootstrap", "100")


def test_report_files_are_written_parseable_and_summarised(tmp_path, tiny_classifier, dev_csv):
    out = tmp_path / "report"
    result = evaluate(tiny_classifier, "--data", dev_csv, "--output", out)
    assert result.exit_code == 0, result.stderr
    assert "accuracy" in result.stdout and "95% CI" in result.stdout and "most confident errors" in result.stdout
    assert "examples truncated" in result.stdout
    assert "Wrote report.json, report.md, report.html, predictions.jsonl" in result.stderr
    report = load_report(out)
    assert report.task == "text-classification" and report.splits["validation"].n_examples == 21
    assert report.model["labels"] == ["negative", "neutral", "positive"]
    markdown = (out / "report.md").read_text()
    assert "accuracy" in markdown and "| label" in markdown
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 21 and json.loads(lines[0])["text"] == "good movie"


def test_json_prints_the_report_alone_on_stdout(tmp_path, tiny_classifier, dev_csv):
    result = evaluate(tiny_classifier, "--data", dev_csv, "--json", "--output", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert printed == written
    assert printed["splits"]["validation"]["truncation"]["n_examples"] == 21


def test_ner_with_a_task_alias_and_a_named_split(tmp_path, tiny_tagger):
    data = write_conll(tmp_path / "eng.testb")
    result = evaluate(tiny_tagger, "--data", data, "--format", "conll", "--task", "ner", "--split", "test", "--json")
    assert result.exit_code == 0, result.stderr
    split = json.loads(result.stdout)["splits"]["test"]
    assert {"precision", "recall", "f1", "token_accuracy"} <= set(split["metrics"])
    assert split["error_breakdown"] is not None and split["per_type"] is not None


def test_qa_from_a_squad_json_file(tmp_path, tiny_qa):
    rows = write_qa(tmp_path / "rows.jsonl").read_text().splitlines()
    paragraphs = [
        {"context": row["context"], "qas": [{"id": row["id"], "question": row["question"], "answers": answers}]}
        for row in map(json.loads, rows)
        for answers in [[{"text": t, "answer_start": s} for t, s in zip(*row["answers"].values(), strict=True)]]
    ]
    squad = tmp_path / "dev-v1.1.json"
    squad.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}))
    result = evaluate(tiny_qa, "--data", squad, "--max-length", "64", "--json")
    assert result.exit_code == 0, result.stderr
    split = json.loads(result.stdout)["splits"]["validation"]
    assert split["n_examples"] == 4 and {"exact_match", "f1"} <= set(split["metrics"])


@pytest.fixture
def two_reports(tmp_path, tiny_classifier, dev_csv):
    for name, extra in (("small", ["--max-samples", "9"]), ("full", [])):
        result = evaluate(tiny_classifier, "--data", dev_csv, "--output", tmp_path / name, *extra)
        assert result.exit_code == 0, result.stderr
    return tmp_path / "small", tmp_path / "full"


def test_compare_shows_deltas_with_both_intervals(two_reports):
    small, full = two_reports
    table = run_cli("evaluate", "--compare", small, full)
    assert table.exit_code == 0, table.stderr
    assert "small vs full" in table.stdout and "accuracy" in table.stdout and "CIs overlap" in table.stdout
    markdown = run_cli("evaluate", "--compare", small, full / "report.json", "--markdown")
    assert markdown.exit_code == 0, markdown.stderr
    assert markdown.stdout.startswith("# Comparison") and "| validation | accuracy |" in markdown.stdout
    printed = run_cli("evaluate", "--compare", small, full, "--json")
    deltas = {row["metric"]: row for row in json.loads(printed.stdout)["metrics"]}
    a, b = load_report(small).splits["validation"], load_report(full).splits["validation"]
    assert deltas["accuracy"]["delta"] == pytest.approx(b.metrics["accuracy"] - a.metrics["accuracy"])
    assert deltas["accuracy"]["ci_a"] == a.confidence_intervals["accuracy"].to_dict()
    assert deltas["accuracy"]["ci_b"] == b.confidence_intervals["accuracy"].to_dict()


def test_compare_errors_are_clean(tmp_path, two_reports, tiny_tagger):
    small, _ = two_reports
    not_json = write_csv(tmp_path / "x.csv", [{"a": 1}])
    assert_clean_error(run_cli("evaluate", "--compare", small, not_json), "not valid JSON")
    assert_clean_error(run_cli("evaluate", "--compare", small, tmp_path / "nowhere"), "cannot read report")
    ner = tmp_path / "ner"
    assert evaluate(tiny_tagger, "--data", write_conll(tmp_path / "t.txt"), "--output", ner).exit_code == 0
    assert_clean_error(run_cli("evaluate", "--compare", small, ner), "cannot compare a text-classification")


# --------------------------------------------------------------------------------------------------- bad input
def test_labels_the_model_does_not_know(tmp_path, tiny_classifier):
    data = write_csv(tmp_path / "dev.csv", classification_rows(("bad", "meh", "good")))
    result = evaluate(tiny_classifier, "--data", data)
    assert_clean_error(result, "the data has labels the model does not know", "['negative', 'neutral', 'positive']")
    assert "--label-map DATA=MODEL" in result.stderr and "data labels: ['bad', 'good', 'meh']" in result.stderr
    mapped = evaluate(
        tiny_classifier, "--data", data, "--label-map", "bad=negative,meh=neutral", "--label-map", "good=positive"
    )
    assert mapped.exit_code == 0, mapped.stderr
    wrong = evaluate(tiny_classifier, "--data", data, "--label-map", "bad=awful")
    assert_clean_error(wrong, "not model labels: ['awful']")


def test_empty_file(tmp_path, tiny_classifier):
    (tmp_path / "dev.csv").write_text("")
    assert_clean_error(evaluate(tiny_classifier, "--data", tmp_path / "dev.csv"), "the file is empty")
    (tmp_path / "dev.csv").write_text("text,label\n")
    assert_clean_error(evaluate(tiny_classifier, "--data", tmp_path / "dev.csv"), "has no examples")


def test_a_model_without_a_task_head(tiny_encoder, dev_csv):
    assert_clean_error(evaluate(tiny_encoder, "--data", dev_csv), "cannot tell which task", "--task")
    result = evaluate(tiny_encoder, "--data", dev_csv, "--task", "text-classification")
    assert_clean_error(result, "has no trained classification head")


def test_missing_columns_list_the_available_ones(tmp_path, tiny_classifier, dev_csv):
    result = evaluate(tiny_classifier, "--data", dev_csv, "--columns", "text=review")
    assert_clean_error(result, "--columns text: no column 'review'", "available: sentence, label")
    assert "test split" not in result.stderr  # the data given with --data is not called a test split
    no_label = write_csv(tmp_path / "nolabel.csv", [{"sentence": "good movie", "stars": 5}])
    assert_clean_error(
        evaluate(tiny_classifier, "--data", no_label), "no column for label", "available: sentence, stars"
    )
    assert_clean_error(evaluate(tiny_classifier, "--data", dev_csv, "--columns", "txt=sentence"), "did you mean 'text'")


def test_other_bad_options(tmp_path, tiny_classifier, dev_csv):
    assert_clean_error(evaluate(tiny_classifier, "--data", dev_csv, "--task", "summarization"), "unknown --task")
    assert_clean_error(evaluate(tiny_classifier), "no evaluation data", "--data")
    assert_clean_error(evaluate(tiny_classifier, "--data", tmp_path / "nope.csv"), "no such file")
    assert_clean_error(evaluate(tiny_classifier, "--data", dev_csv, "--label-map", "oops"), "--label-map 'oops'")
    assert_clean_error(evaluate(tiny_classifier, "--data", dev_csv, "--confidence", "1.5"), "confidence level")
    assert_clean_error(evaluate(tmp_path / "no-model", "--data", dev_csv), "model folder not found")
    assert_clean_error(evaluate("--data", dev_csv), "no model given")
    assert_clean_error(
        run_cli("evaluate", tiny_classifier, "--compare", dev_csv, dev_csv), "--compare takes two reports"
    )


def test_an_uncached_hub_dataset_offline(tiny_classifier):
    result = evaluate(tiny_classifier, "--data", "nyu-mll/glue", "--data-config", "sst2")
    assert_clean_error(result, "cannot load hub dataset nyu-mll/glue", "--data path/to/folder")


def test_recipe_data_and_task_sections(tmp_path, tiny_classifier):
    import yaml

    dev = write_csv(tmp_path / "dev.csv", classification_rows()[:9])
    long_rows = [{"sentence": "good movie and a nice day " * 3, "label": "positive"}, *classification_rows()[:5]]
    files = {"dev": dev, "test": write_csv(tmp_path / "test.csv", long_rows)}
    recipe = {
        "model": {"name": "ignored-here"},
        "data": {
            "train_file": str(files["dev"]),
            "validation_file": str(files["dev"]),
            "test_file": str(files["test"]),
        },
        "task": {"type": "text-classification", "max_length": 8},
        "output": {"dir": str(tmp_path / "unused")},
    }
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    both = evaluate(tiny_classifier, "--recipe", tmp_path / "r.yaml", "--json")
    assert both.exit_code == 0, both.stderr
    splits = json.loads(both.stdout)["splits"]
    assert {name: s["n_examples"] for name, s in splits.items()} == {"validation": 9, "test": 6}
    assert splits["test"]["truncation"]["max_length"] == 8 and splits["test"]["truncation"]["examples_truncated"] == 1
    only_test = evaluate(tiny_classifier, "--recipe", tmp_path / "r.yaml", "--split", "test", "--json")
    assert list(json.loads(only_test.stdout)["splits"]) == ["test"]
