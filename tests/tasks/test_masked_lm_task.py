"""The masked-LM task: features, seeded masks in collate, metrics, and continued pre-training of tiny models through
the engine and the CLI, ending in folders that `bertkit fill-mask` loads."""

import json
import math
from types import SimpleNamespace

import pytest

from bertkit.recipes.schema import MaskedLMTask as MaskedLMSpec
from bertkit.tasks.masked_lm import MaskedLMTask
from bertkit.tasks.masking import IGNORE_INDEX
from tests.cli.helpers import assert_clean_error, json_lines, run_cli
from tests.tasks.lm_corpora import sentences, write_jsonl_corpus, write_recipe, write_text_corpus


def splits_of(train, validation=None):
    import datasets

    def build(texts):
        return None if texts is None else datasets.Dataset.from_dict({"text": texts})

    return SimpleNamespace(train=build(train), validation=build(validation), test=None, sources={}, notes=[])


def prepared_task(tokenizer, **spec):
    task = MaskedLMTask(MaskedLMSpec(type="masked-lm", **{"max_length": 32, **spec}))
    task.set_seed(42)
    encoded = task.prepare(splits_of(sentences(60), sentences(12, seed=1)), tokenizer)
    return task, encoded


def rows(dataset, with_index=False):
    from bertkit.tasks.base import FEATURE_INDEX

    columns = [c for c in dataset.column_names if c not in ("length", "num_tokens", FEATURE_INDEX)]
    if with_index:
        columns.append(FEATURE_INDEX)
    return [dict(zip(columns, values, strict=True)) for values in zip(*(dataset[c] for c in columns), strict=True)]


def test_line_by_line_features_and_per_epoch_masks(tokenizer):
    task, encoded = prepared_task(tokenizer)
    train = encoded["train"].features
    assert len(train) == 60 and train["example_id"] == list(range(60))
    assert all(ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id for ids in train["input_ids"])
    features = rows(train)[:8]
    batch = task.collate(features)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    labels, originals = batch["labels"], task.collate(features)["input_ids"]
    assert ((labels == IGNORE_INDEX) | (batch["attention_mask"] == 1)).all()
    assert (originals == batch["input_ids"]).all()  # same epoch, same masks
    task.set_epoch(1)
    assert not (task.collate(features)["labels"] == labels).all()  # a new epoch draws new masks
    assert (labels != IGNORE_INDEX).sum(dim=1).min() >= 1


def test_evaluation_masks_never_change(tokenizer):
    task, encoded = prepared_task(tokenizer)
    features = rows(encoded["validation"].features, with_index=True)
    first = task.collate(features)
    task.set_epoch(3)
    again = task.collate(list(reversed(features)))
    assert (first["labels"] == again["labels"].flip(0)).all()
    assert first["feature_index"].tolist() == list(range(12))
    task.set_seed(7)
    assert not (task.collate(features)["labels"] == first["labels"]).all()  # the training seed matters


def test_packed_blocks_with_whole_word_masking_carry_word_ids(tokenizer):
    task, encoded = prepared_task(tokenizer, line_by_line=False, whole_word_masking=True)
    train = encoded["train"].features
    lengths = train["length"]
    assert all(n == 32 for n in lengths[:-1]) and len(train) < 60
    assert "word_ids" in train.column_names
    assert any(
        note.startswith("train: 60 texts") and f"into {len(train)} blocks" in note for note in task.prepare_notes
    )
    batch = task.collate(rows(train)[:4])
    assert "word_ids" not in task.forward_inputs(batch)


def test_metrics_pool_masked_tokens():
    import numpy as np
    import torch

    from bertkit.tasks.masked_lm import masked_token_stats, mlm_metrics

    labels = torch.tensor([[IGNORE_INDEX, 3, IGNORE_INDEX, 1], [2, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]])
    uniform = torch.zeros(2, 4, 10)
    loss_sum, n_masked, n_correct = masked_token_stats(uniform, labels)
    assert n_masked.tolist() == [2, 1]
    metrics = mlm_metrics({"loss_sum": loss_sum.numpy(), "n_masked": n_masked.numpy(), "n_correct": n_correct.numpy()})
    assert metrics["perplexity"] == pytest.approx(10.0, rel=1e-5)  # uniform over 10 tokens
    sure = torch.full((2, 4, 10), -20.0)
    sure[0, 1, 3] = sure[0, 3, 1] = 20.0
    sure[1, 0, 5] = 20.0  # wrong
    loss_sum, n_masked, n_correct = masked_token_stats(sure, labels)
    assert n_correct.tolist() == [2, 0]
    metrics = mlm_metrics({"loss_sum": loss_sum.numpy(), "n_masked": n_masked.numpy(), "n_correct": n_correct.numpy()})
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["masked_loss"] == pytest.approx(40.0 / 3, rel=1e-4)
    assert math.isclose(metrics["perplexity"], math.exp(metrics["masked_loss"]))
    assert mlm_metrics({"loss_sum": np.zeros(0), "n_masked": np.zeros(0), "n_correct": np.zeros(0)})["accuracy"] == 0


def recipe_dict(model, train_file, out, *, task=None, data=None, training=None):
    return {
        "model": {"name": str(model)},
        "data": {"train_file": str(train_file), **(data or {})},
        "task": {"type": "masked-lm", "max_length": 32, **(task or {})},
        "training": {"epochs": 2, "batch_size": 8, "learning_rate": 2e-3, "logging_steps": 4, **(training or {})},
        "evaluation": {"bootstrap_samples": 0},
        "output": {"dir": str(out)},
    }


def check_fill_mask(folder):
    result = run_cli("fill-mask", "-m", folder, "--json", "-k", "3", "the good [MASK] .")
    assert result.exit_code == 0, result.stderr
    predictions = json_lines(result.stdout)[0]["masks"][0]["predictions"]
    assert len(predictions) == 3 and all(p["token"] for p in predictions)


def test_continued_pretraining_through_the_cli_loads_in_fill_mask(tiny_mlm, tmp_path):
    corpus = write_text_corpus(tmp_path / "corpus.txt")
    out = tmp_path / "out"
    recipe = write_recipe(tmp_path / "mlm.yaml", recipe_dict(tiny_mlm, corpus, out))
    result = run_cli("finetune", recipe, "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metric"] == "perplexity" and metrics["greater_is_better"] is False
    validation = metrics["splits"]["validation"]
    assert {"perplexity", "accuracy", "masked_loss", "loss"} <= set(validation)
    assert 1.0 < validation["perplexity"] < 1e4
    assert validation["perplexity"] == pytest.approx(math.exp(validation["masked_loss"]))
    check_fill_mask(out)


def test_jsonl_corpus_packed_with_whole_word_masking_learns(tiny_mlm, tmp_path):
    from bertkit.recipes.schema import Recipe
    from bertkit.training.api import finetune

    corpus = write_jsonl_corpus(tmp_path / "corpus.jsonl")
    recipe = recipe_dict(
        tiny_mlm,
        corpus,
        tmp_path / "out",
        task={"line_by_line": False, "whole_word_masking": True},
        data={"columns": {"text": "body"}},
        training={"epochs": 4},
    )
    result = finetune(Recipe.model_validate(recipe))
    history = json.loads((tmp_path / "out" / "metrics.json").read_text())["eval_history"]
    first, last = history[0]["metrics"]["perplexity"], history[-1]["metrics"]["perplexity"]
    assert last < first, (first, last)  # the same validation masks every time: a fair comparison
    assert result.metrics["validation"]["perplexity"] <= last + 1e-9
    check_fill_mask(tmp_path / "out")


def test_an_encoder_without_mlm_head_gets_a_new_head_and_says_so(tiny_encoder, tmp_path):
    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=10)
    out = tmp_path / "out"
    recipe = write_recipe(tmp_path / "mlm.yaml", recipe_dict(tiny_encoder, corpus, out, training={"epochs": 1}))
    result = run_cli("finetune", recipe, "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    assert "no pre-trained masked-LM head" in result.stderr and "NEW, randomly initialised head" in result.stderr
    check_fill_mask(out)


def test_a_corpus_without_text_fails_cleanly_naming_the_file(tiny_mlm, tmp_path):
    corpus = tmp_path / "empty-corpus.txt"
    corpus.write_text("\n   \n\n", encoding="utf-8")
    recipe = write_recipe(tmp_path / "mlm.yaml", recipe_dict(tiny_mlm, corpus, tmp_path / "out"))
    assert_clean_error(run_cli("finetune", recipe), "empty-corpus.txt")
    assert not (tmp_path / "out").exists()


def test_resumed_masked_lm_run_ends_exactly_like_an_uninterrupted_one(tiny_mlm, tmp_path):
    from safetensors.torch import load_file

    from bertkit.recipes.schema import Recipe
    from bertkit.training.api import finetune
    from bertkit.training.events import CheckpointSaved

    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=12)

    def recipe(name):
        return Recipe.model_validate(
            recipe_dict(tiny_mlm, corpus, tmp_path / name, training={"epochs": 3, "checkpoint_steps": 5})
        )

    class Crash(Exception):
        pass

    def crash(event):
        if isinstance(event, CheckpointSaved) and event.step == 10:
            raise Crash

    whole = finetune(recipe("whole"))
    with pytest.raises(Crash):
        finetune(recipe("cut"), callbacks=[crash])
    resumed = finetune(recipe("cut"), resume=True)
    assert resumed.metrics == whole.metrics
    a, b = load_file(tmp_path / "whole" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert all((a[k] == b[k]).all() for k in a)


def test_speedups_train_the_same_weights_as_the_model_s_own_loss(tiny_mlm, tmp_path):
    # Without dropout the masked-positions head and padding-free layers must train the stock weights.
    from safetensors.torch import load_file

    from bertkit.recipes.schema import Recipe
    from bertkit.training.api import finetune

    corpus = write_text_corpus(tmp_path / "corpus.txt", documents=8)
    found, notes = {}, {}
    for speedups in (True, False):
        settings = recipe_dict(
            tiny_mlm, corpus, tmp_path / str(speedups), training={"speedups": speedups, "precision": "fp32"}
        )
        settings["model"].update(hidden_dropout=0.0, attention_dropout=0.0)
        events = []
        result = finetune(Recipe.model_validate(settings), callbacks=[events.append])
        notes[speedups] = " ".join(e.message for e in events if getattr(e, "kind", "") == "note")
        found[speedups] = (load_file(tmp_path / str(speedups) / "model.safetensors"), result.metrics)
    assert "masked positions only" in notes[True] and "masked positions only" not in notes[False]
    (fast, fast_metrics), (stock, stock_metrics) = found[True], found[False]
    for key, value in stock.items():
        if not key.endswith("attention.self.key.bias"):  # true gradient 0: see tests/training/test_engine.py
            assert (fast[key] - value).abs().max() < 2e-5, key
    assert fast_metrics["validation"]["perplexity"] == pytest.approx(
        stock_metrics["validation"]["perplexity"], rel=1e-4
    )
