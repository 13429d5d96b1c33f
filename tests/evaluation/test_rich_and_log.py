"""The Rich summary (renderables, no printing, no markup injection) and training-log reading."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rich.console import Console

from bertkit.errors import DataError
from bertkit.evaluation import load_training_log, report_renderables
from bertkit.evaluation.traininglog import group_curves, training_curves


def render(renderables) -> str:
    console = Console(record=True, width=160)
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


def test_rich_summary_for_every_task(any_report, capsys):
    renderables = report_renderables(any_report)
    assert capsys.readouterr().out == ""  # building them prints nothing
    text = render(renderables)
    split_name = next(iter(any_report.splits))
    assert f"{split_name}: " in text and "95% CI" in text
    assert "Truncation was not reported" in text or "examples truncated" in text


def test_rich_summary_keeps_user_text_literal(classification_report):
    text = render(report_renderables(classification_report))
    assert "with [MASK] and <b>markup</b> | pipe" in text  # not eaten as Rich markup
    assert "7 of 300 (2.3%) examples truncated at 64 tokens." in text
    assert "most confident errors" in text


def test_ner_summary_has_breakdown(ner_report):
    text = render(report_renderables(ner_report))
    assert "error breakdown" in text and "wrong boundary (same type)" in text and "per entity type" in text


def test_training_log_reading_and_curves(tmp_path):
    path = tmp_path / "log.jsonl"
    records = [
        {"step": 10, "epoch": 0.5, "loss": 1.2, "learning_rate": 1e-5},
        {"step": 20, "epoch": 1.0, "loss": 0.9, "learning_rate": 2e-5, "note": "text"},
        {"step": 20, "eval": {"loss": 0.8, "f1": 0.71, "perplexity": 7.5}, "eval_runtime": 2.0},
        {"event": "done"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    loaded = load_training_log(path)
    assert loaded == records
    x_name, curves = training_curves(loaded)
    assert x_name == "step"
    assert curves["loss"] == [(10.0, 1.2), (20.0, 0.9)]
    assert curves["eval_f1"] == [(20.0, 0.71)]
    groups = group_curves(curves)
    assert set(groups) == {"loss", "learning rate", "evaluation metrics", "eval_perplexity"}
    assert set(groups["loss"]) == {"loss", "eval_loss"}
    assert "eval_runtime" not in str(groups)


def test_training_log_errors_name_the_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1}\n{"step": 2,\n')
    with pytest.raises(DataError, match=r"log.jsonl:2:\d+: not valid JSON"):
        load_training_log(path)
    path.write_text('{"step": 1}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"log\.jsonl:2: expected a JSON object, got list"):
        load_training_log(path)
    with pytest.raises(DataError, match="cannot read training log"):
        load_training_log(tmp_path / "missing.jsonl")


def test_importing_evaluation_does_not_import_numpy():
    code = "import sys, bertkit.evaluation; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
