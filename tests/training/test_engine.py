"""The engine end to end on in-memory data and tiny models (the CLI tests cover files, processes and kills)."""

import json

import pytest

from bertkit.errors import DataError, RecipeError, TrainingError
from bertkit.training.api import finetune
from bertkit.training.events import CheckpointSaved, EvaluationDone
from tests.training.conftest import make_recipe, make_splits, pair_rows, sentiment_rows


class Crash(Exception):
    pass


def crash_at_checkpoint(step):
    def callback(event):
        if isinstance(event, CheckpointSaved) and event.step == step:
            raise Crash

    return callback


def weights(folder):
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_single_texts_give_a_complete_folder_with_label_names(tiny_encoder, tmp_path):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "out"
    events = []
    result = finetune(
        make_recipe(tiny_encoder, out),
        splits=make_splits(sentiment_rows(4), sentiment_rows()),
        callbacks=[events.append],
    )
    assert result.output_dir == out.resolve()
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "recipe.yaml",
        "command.txt",
        "versions.json",
        "data.json",
        "metrics.json",
        "train_log.jsonl",
        "bertkit_run.json",
    ):
        assert (out / name).is_file(), name
    assert not (tmp_path / "out.partial").exists()
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["splits"]["validation"] == result.metrics["validation"]
    assert set(result.metrics["validation"]) == {"accuracy", "macro_f1", "loss"}
    kinds = [json.loads(line)["event"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert kinds[0] == "note" and "start" in kinds and kinds.count("eval") == 2 and "step" in kinds
    assert [e.kind for e in events].count("finish") == 1
    data = json.loads((out / "data.json").read_text())
    assert data["label_distribution"]["train"] == {"negative": 20, "positive": 20}
    report = json.loads((out / "report.json").read_text())  # the evaluation report of the saved model
    assert report["splits"]["validation"]["metrics"]["accuracy"] == result.metrics["validation"]["accuracy"]
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 10


def test_the_model_learns_a_separable_task(tiny_encoder, tmp_path):
    recipe = make_recipe(
        tiny_encoder, tmp_path / "out", training={"epochs": 20, "learning_rate": 3e-3}, evaluation={"strategy": "no"}
    )
    result = finetune(recipe, splits=make_splits(sentiment_rows(4), sentiment_rows()))
    assert result.metrics["validation"]["accuracy"] == 1.0
    assert result.metrics["validation"]["loss"] < 0.2


def test_sentence_pairs_use_both_segments(tiny_encoder, tmp_path):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "pairs"
    result = finetune(make_recipe(tiny_encoder, out), splits=make_splits(pair_rows(4), pair_rows()))
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert sorted(model.config.label2id) == ["different", "same"]
    assert 0.0 <= result.metrics["validation"]["accuracy"] <= 1.0


def test_regression_and_multi_label(tiny_encoder, tmp_path):
    rows = [{"text": r["text"], "label": 1.0 if r["label"] == "positive" else -1.0} for r in sentiment_rows(2)]
    result = finetune(
        make_recipe(tiny_encoder, tmp_path / "reg", task={"problem_type": "regression"}), splits=make_splits(rows, rows)
    )
    assert set(result.metrics["validation"]) == {"mse", "mae", "pearson", "spearman", "loss"}
    rows = [{"text": r["text"], "label": [r["label"], "review"]} for r in sentiment_rows(2)]
    out = tmp_path / "multi"
    result = finetune(
        make_recipe(tiny_encoder, out, task={"problem_type": "multi_label"}), splits=make_splits(rows, rows)
    )
    assert "micro_f1" in result.metrics["validation"]
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert sorted(config["label2id"]) == ["negative", "positive", "review"]


def test_resume_after_a_crash_ends_exactly_like_an_uninterrupted_run(tiny_encoder, tmp_path):
    def recipe(out):
        return make_recipe(
            tiny_encoder,
            tmp_path / out,
            training={"epochs": 3, "checkpoint_steps": 3, "gradient_accumulation_steps": 2},
            evaluation={"strategy": "steps", "steps": 4},
        )

    splits = make_splits(sentiment_rows(4), sentiment_rows())
    whole = finetune(recipe("whole"), splits=splits)
    with pytest.raises(Crash):
        finetune(recipe("cut"), splits=splits, callbacks=[crash_at_checkpoint(6)])  # mid-epoch 2 of 3
    assert not (tmp_path / "cut").exists()
    with pytest.raises(TrainingError, match="--resume"):
        finetune(recipe("cut"), splits=splits)
    resumed = finetune(recipe("cut"), splits=splits, resume=True)
    assert resumed.metrics == whole.metrics
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "cut")
    assert all((a[k] == b[k]).all() for k in a)
    log = [json.loads(line) for line in (tmp_path / "cut" / "train_log.jsonl").read_text().splitlines()]
    steps = [e["step"] for e in log if e["event"] == "step"]
    assert steps == sorted(set(steps))  # the steps redone after resume are logged once


def test_resume_refuses_a_changed_recipe_and_a_missing_checkpoint(tiny_encoder, tmp_path):
    splits = make_splits(sentiment_rows(2), sentiment_rows())
    with pytest.raises(TrainingError, match="nothing to resume"):
        finetune(make_recipe(tiny_encoder, tmp_path / "out"), splits=splits, resume=True)
    with pytest.raises(Crash):
        finetune(make_recipe(tiny_encoder, tmp_path / "out"), splits=splits, callbacks=[crash_at_checkpoint(5)])
    changed = make_recipe(tiny_encoder, tmp_path / "out", training={"learning_rate": 5e-4})
    with pytest.raises(TrainingError, match=r"training.learning_rate: 0.001 -> 0.0005"):
        finetune(changed, splits=splits, resume=True)


def test_a_finished_folder_is_kept_unless_overwrite_and_replaced_only_after_success(tiny_encoder, tmp_path):
    splits = make_splits(sentiment_rows(2), sentiment_rows())
    out = tmp_path / "out"
    finetune(make_recipe(tiny_encoder, out), splits=splits)
    before = weights(out)
    with pytest.raises(TrainingError, match="already exists"):
        finetune(make_recipe(tiny_encoder, out, training={"seed": 7}), splits=splits)
    again = make_recipe(tiny_encoder, out, training={"seed": 7}, output={"overwrite": True})
    with pytest.raises(Crash):
        finetune(again, splits=splits, callbacks=[crash_at_checkpoint(5)])
    assert all((before[k] == weights(out)[k]).all() for k in before)  # the failed run left it alone
    (tmp_path / "out.partial").rename(tmp_path / "stale")
    finetune(again, splits=splits)
    assert any((before[k] != weights(out)[k]).any() for k in before)


def test_overwrite_never_replaces_a_folder_bertkit_did_not_write(tiny_encoder, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    recipe = make_recipe(tiny_encoder, out, output={"overwrite": True})
    with pytest.raises(TrainingError, match="not written by bertkit"):
        finetune(recipe, splits=make_splits(sentiment_rows(), sentiment_rows()))
    assert (out / "notes.txt").read_text() == "keep me"


def test_early_stopping_and_best_model(tiny_encoder, tmp_path):
    evals = []
    recipe = make_recipe(
        tiny_encoder,
        tmp_path / "out",
        training={"epochs": 10, "learning_rate": 1e-12},
        evaluation={"strategy": "epoch", "early_stopping_patience": 2},
    )
    callback = [lambda e: evals.append(e) if isinstance(e, EvaluationDone) else None]
    result = finetune(recipe, splits=make_splits(sentiment_rows(2), sentiment_rows()), callbacks=callback)
    assert result.stopped_early and len(evals) == 3  # a first best, then two evaluations without improvement
    assert result.best_step == evals[0].step
    assert result.metrics["validation"]["accuracy"] == evals[0].metrics["accuracy"]


def test_bad_inputs_fail_before_training(tiny_encoder, tmp_path):
    out = tmp_path / "out"
    bad_label = [*sentiment_rows(), {"text": "so so", "label": "neutral"}]
    with pytest.raises(DataError, match=r"validation split, row 11: label 'neutral' is not one of the 2 labels"):
        finetune(make_recipe(tiny_encoder, out), splits=make_splits(sentiment_rows(), bad_label))
    with pytest.raises(DataError, match=r"no column 'text'.*columns: sentence, label"):
        rows = [{"sentence": r["text"], "label": r["label"]} for r in sentiment_rows()]
        finetune(make_recipe(tiny_encoder, out), splits=make_splits(rows, rows))
    with pytest.raises(RecipeError, match=r"evaluation.metric 'f1'"):
        recipe = make_recipe(tiny_encoder, out, evaluation={"metric": "f1"})
        finetune(recipe, splits=make_splits(sentiment_rows(), sentiment_rows()))
    with pytest.raises(RecipeError, match="takes at most 128 tokens"):
        recipe = make_recipe(tiny_encoder, out, task={"max_length": 512})
        finetune(recipe, splits=make_splits(sentiment_rows(), sentiment_rows()))
    assert not out.exists()


def test_tensorboard_events_land_in_the_output_folder(tiny_encoder, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "out"
    finetune(make_recipe(tiny_encoder, out, output={"tensorboard": True}), splits=make_splits(sentiment_rows(2)))
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"train/loss", "train/learning_rate"} <= set(tags)
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6, 8, 10]


def test_speedups_keep_the_maths_and_can_be_turned_off(tiny_encoder, tmp_path):
    # Without dropout (nothing random), the first-token last layer must train to the same weights as transformers'
    # own forward pass; the run says which shortcuts it took, and training.speedups=false takes none.
    def run(name, speedups):
        out = tmp_path / name
        events = []
        recipe = make_recipe(tiny_encoder, out, training={"epochs": 2, "precision": "fp32", "speedups": speedups})
        recipe.model.hidden_dropout = recipe.model.attention_dropout = 0.0
        result = finetune(recipe, splits=make_splits(sentiment_rows(4), sentiment_rows()), callbacks=[events.append])
        notes = [e.message for e in events if e.kind == "note"]
        return result, weights(out), notes

    fast, fast_weights, fast_notes = run("fast", True)
    stock, stock_weights, stock_notes = run("stock", False)
    speedup_notes = [n for n in fast_notes if n.startswith("speed-ups")]
    assert len(speedup_notes) == 1, fast_notes
    for part in ("[CLS] position only", "dropout masks", "word-embedding rows the training data uses"):
        assert part in speedup_notes[0]
    assert not any("speed-ups" in n for n in stock_notes)
    # Key biases are left out: they shift every attention score of a query equally, so their true gradient is 0,
    # and Adam scales the rounding noise left in it up to full learning-rate steps.
    for key, value in stock_weights.items():
        if not key.endswith("attention.self.key.bias"):
            assert (fast_weights[key] - value).abs().max() < 2e-5, key
    assert fast.metrics["validation"]["accuracy"] == stock.metrics["validation"]["accuracy"]
