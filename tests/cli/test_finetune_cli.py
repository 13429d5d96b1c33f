"""`bertkit finetune` as users run it: recipe files, data files, exit codes, output folders, kills, 2 processes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import assert_clean_error, json_lines, run_cli
from tests.training.conftest import pair_rows, sentiment_rows

CHILD_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({c: r[c] for c in columns} for r in rows)
    return path


def write_recipe(folder: Path, model: Path, **sections) -> Path:
    recipe = {
        "model": {"name": str(model)},
        "data": {"train_file": str(folder / "train.csv"), "validation_file": str(folder / "dev.csv")},
        "task": {"type": "text-classification", "max_length": 16},
        "training": {"epochs": 2, "batch_size": 4, "learning_rate": 0.001, "logging_steps": 2},
        "output": {"dir": str(folder / "out")},
    }
    for key, value in sections.items():
        recipe[key] = {**recipe.get(key, {}), **value}
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


@pytest.fixture
def sentiment_recipe(tmp_path, tiny_encoder):
    write_csv(tmp_path / "train.csv", sentiment_rows(4), ["text", "label"])
    write_csv(tmp_path / "dev.csv", sentiment_rows(), ["text", "label"])
    return write_recipe(tmp_path, tiny_encoder)


def test_single_texts_train_into_a_folder_that_classify_and_transformers_load(sentiment_recipe):
    from transformers import AutoModelForSequenceClassification

    result = run_cli("finetune", sentiment_recipe, "--log-format", "json")
    assert result.exit_code == 0, result.stderr
    events = json_lines(result.stdout)
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 1 and kinds.count("finish") == 1 and kinds.count("eval") == 2
    out = sentiment_recipe.parent / "out"
    assert events[-1]["output_dir"] == str(out.resolve())
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert set(model.config.id2label.values()) == {"negative", "positive"}
    assert "finetune" in (out / "command.txt").read_text()
    classified = run_cli("classify", "--model", out, "a good movie", "--json")
    assert classified.exit_code == 0, classified.stderr
    assert json_lines(classified.stdout)[0]["label"] in {"negative", "positive"}


def test_sentence_pairs_with_mapped_columns(tmp_path, tiny_encoder):
    rows = [{"first": r["text"], "second": r["text_pair"], "gold": r["label"]} for r in pair_rows(4)]
    write_csv(tmp_path / "train.csv", rows, ["first", "second", "gold"])
    write_csv(tmp_path / "dev.csv", rows[:6], ["first", "second", "gold"])
    columns = {"columns": {"text": "first", "text_pair": "second", "label": "gold"}}
    recipe = write_recipe(tmp_path, tiny_encoder, data=columns)
    result = run_cli("finetune", recipe, "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    assert "Final metrics" in result.stdout and "accuracy" in result.stdout
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert sorted(config["label2id"]) == ["different", "same"]
    data = json.loads((tmp_path / "out" / "data.json").read_text())
    assert data["splits"]["train"]["examples"] == 24
    classified = run_cli("classify", "--model", tmp_path / "out", "good movie", "--pair", "great film", "--json")
    assert classified.exit_code == 0, classified.stderr
    assert json_lines(classified.stdout)[0]["label"] in {"different", "same"}


LONG = [
    {"text": "the movie was good and the actors were great and the music was very nice", "label": "positive"},
    {"text": "the movie was bad and the actors were awful and the music was very poor", "label": "negative"},
]


def test_dry_run_reports_lengths_labels_truncation_and_batch_size(sentiment_recipe):
    write_csv(sentiment_recipe.parent / "train.csv", sentiment_rows(4) + LONG, ["text", "label"])
    result = run_cli(
        "finetune",
        sentiment_recipe,
        "--dry-run",
        "--set",
        "task.max_length=8",
        "--set",
        "training.gradient_accumulation_steps=2",
    )
    assert result.exit_code == 0, result.stderr
    for fragment in ("Token lengths", "p99", "17", "2 (4.8%) at 8", "21 (50.0%)", "8 (batch 4 x 1 process(es) x 2"):
        assert fragment in result.stdout, fragment
    assert "2 of 42 train examples (4.8%) are longer than task.max_length=8" in result.stderr
    report = json.loads(run_cli("finetune", sentiment_recipe, "--dry-run", "--log-format", "json").stdout)
    assert report["splits"]["train"]["examples"] == 42 and report["splits"]["train"]["truncated"] == 2
    assert report["label_distribution"]["validation"] == {"negative": 5, "positive": 5}
    assert report["plan"]["total_steps"] == 22 and report["plan"]["effective_batch_size"] == 4
    assert not (sentiment_recipe.parent / "out").exists()
    assert not (sentiment_recipe.parent / "out.partial").exists()


def bad_input_cases(folder: Path, model: Path):
    """(name, extra args, files to write, recipe sections, expected message fragment)."""
    return [
        ("missing recipe", [folder / "nope.yaml"], {}, None, "nope.yaml"),
        ("unreadable yaml", None, {"recipe.yaml": "model: [unclosed\n"}, None, "recipe.yaml"),
        ("missing data file", None, {}, {"data": {"train_file": str(folder / "missing.csv")}}, "missing.csv"),
        ("wrong column", None, {}, {"data": {"columns": {"text": "body"}}}, "body"),
        ("empty dataset", None, {"train.csv": "text,label\n"}, None, "train"),
        ("unknown label", None, {}, {"task": {"labels": ["negative", "neutral"]}}, "'positive' is not one of"),
        ("bad override", ["--set", "training.learnin_rate=1"], {}, None, "learnin_rate"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_bad_input_is_a_clean_error_that_keeps_the_previous_output(case, sentiment_recipe, tiny_encoder):
    folder = sentiment_recipe.parent
    out = folder / "out"
    out.mkdir()
    (out / "bertkit_run.json").write_text("{}")
    (out / "model.safetensors").write_text("previous good model")
    name, args, files, sections, fragment = bad_input_cases(folder, tiny_encoder)[case]
    recipe = write_recipe(folder, tiny_encoder, output={"overwrite": True}, **(sections or {}))
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    result = run_cli("finetune", *(args if args and args[0] != "--set" else [recipe, *(args or [])]))
    assert_clean_error(result, fragment)
    assert (out / "model.safetensors").read_text() == "previous good model", name


def test_a_task_the_model_cannot_do(sentiment_recipe, tmp_path):
    from transformers import ViTConfig

    from tests.tiny import write_tokenizer

    vision = tmp_path / "vit"
    ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64).save_pretrained(vision)
    write_tokenizer(vision)
    result = run_cli("finetune", sentiment_recipe, "--set", f"model.name={vision}")
    assert_clean_error(result, "cannot do text-classification")


def read_weights(folder: Path):
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_encoder):
    write_csv(tmp_path / "train.csv", sentiment_rows(12), ["text", "label"])
    write_csv(tmp_path / "dev.csv", sentiment_rows(), ["text", "label"])
    sections = {
        "training": {"epochs": 6, "batch_size": 2, "checkpoint_steps": 25, "logging_steps": 5},
        "evaluation": {"strategy": "steps", "steps": 40},
    }
    recipe = write_recipe(tmp_path, tiny_encoder, **sections)  # 60 steps per epoch, 360 in all
    reference = run_cli("finetune", recipe, "--set", f"output.dir={tmp_path / 'whole'}", "--log-format", "json")
    assert reference.exit_code == 0, reference.stderr

    command = [sys.executable, "-m", "bertkit", "finetune", str(recipe), "--log-format", "json"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=CHILD_ENV)
    killed_after = None
    for line in child.stdout:
        event = json.loads(line)
        if event["event"] == "checkpoint" and event["step"] >= 50:
            child.send_signal(signal.SIGKILL)  # a real kill, while it trains on
            killed_after = event["step"]
            break
    child.wait(timeout=60)
    assert killed_after is not None and child.returncode == -signal.SIGKILL
    assert not (tmp_path / "out").exists()  # nothing that looks finished

    changed = run_cli("finetune", recipe, "--resume", "--set", "training.learning_rate=0.01")
    assert_clean_error(changed, "cannot resume", "training.learning_rate: 0.001 -> 0.01")
    resumed = run_cli("finetune", recipe, "--resume", "--log-format", "json")
    assert resumed.exit_code == 0, resumed.stderr
    start = next(e for e in json_lines(resumed.stdout) if e["event"] == "start")
    assert start["resumed_from_step"] >= killed_after
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    again = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert again["splits"] == whole["splits"] and again["eval_history"] == whole["eval_history"]
    a, b = read_weights(tmp_path / "whole"), read_weights(tmp_path / "out")
    assert all((a[k] == b[k]).all() for k in a)


def test_two_processes_stay_in_sync_and_write_one_folder(sentiment_recipe):
    command = [
        sys.executable,
        "-m",
        "bertkit",
        "finetune",
        str(sentiment_recipe),
        "--num-processes",
        "2",
        "--log-format",
        "json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    events = json_lines(done.stdout)
    assert [e["event"] for e in events].count("finish") == 1  # only the main process reports
    start = next(e for e in events if e["event"] == "start")
    assert start["num_processes"] == 2 and start["effective_batch_size"] == 8
    assert start["total_steps"] == 10  # 40 examples / (4 x 2 processes) x 2 epochs
    out = sentiment_recipe.parent / "out"
    run_info = json.loads((out / "bertkit_run.json").read_text())
    checksums = run_info["parameter_checksums"]
    assert run_info["num_processes"] == 2 and len(checksums) == 2 and checksums[0] == checksums[1]
    assert [p.name for p in sentiment_recipe.parent.iterdir() if p.name.startswith("out")] == ["out"]
    assert "--num-processes 2" in (out / "command.txt").read_text()  # what the user typed, not the relaunch


def test_the_readme_quickstart_recipe_trains_to_completion_by_name(tiny_encoder, tmp_path):
    """`bertkit finetune quickstart/sentiment` as the README runs it, on a tiny encoder and a short schedule."""
    out = tmp_path / "quickstart"
    settings = [f"model.name={tiny_encoder}", f"output.dir={out}", "training.epochs=1", "training.batch_size=32"]
    settings += ["data.max_train_samples=128", "evaluation.bootstrap_samples=50"]
    result = run_cli("finetune", "quickstart/sentiment", *[a for s in settings for a in ("--set", s)])
    assert result.exit_code == 0, result.stderr
    assert f"model saved to {out}" in result.stderr  # where the model and the report went is printed
    assert f"Evaluation report: {out / 'report.html'}" in result.stderr
    assert {"model.safetensors", "report.html", "report.json", "metrics.json"} <= {p.name for p in out.iterdir()}
    report = json.loads((out / "report.json").read_text())
    assert report["splits"]["validation"]["n_examples"] == 161  # the whole shipped dev set is evaluated
    answered = run_cli("classify", "--model", out, "--json", "What a wonderful film!")
    assert answered.exit_code == 0, answered.stderr
    assert json_lines(answered.stdout)[0]["label"] in {"negative", "positive"}
