"""TextClassificationTask on its own: labels, encoding, truncation counts, batches, metrics, predictions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bertkit.errors import DataError
from bertkit.recipes.schema import TextClassificationTask as Spec
from bertkit.tasks.classification import (
    TextClassificationTask,
    multi_label_metrics,
    regression_metrics,
    single_label_metrics,
)


def splits(rows, validation=None, label_feature=None, label_names=None):
    import datasets

    def build(data):
        if data is None:
            return None
        dataset = datasets.Dataset.from_list(data)
        if label_feature is not None:
            dataset = dataset.cast_column("label", label_feature)
        return dataset

    return SimpleNamespace(train=build(rows), validation=build(validation), test=None, label_names=label_names)


def task(**spec):
    return TextClassificationTask(Spec(type="text-classification", **spec))


ROWS = [
    {"text": "good movie", "label": "pos"},
    {"text": "bad movie", "label": "neg"},
    {"text": "great", "label": "pos"},
]


def test_labels_come_from_recipe_then_data_layer_then_classlabel_then_sorted_values():
    import datasets

    assert (t := task()).setup(splits(ROWS)) and t.label_names == ["neg", "pos"]
    t = task(labels=["pos", "neg"])
    t.setup(splits(ROWS))
    assert t.label_names == ["pos", "neg"]
    t = task()
    t.setup(splits(ROWS, label_names=["pos", "neg", "mixed"]))
    assert t.label_names == ["pos", "neg", "mixed"]
    rows = [{"text": "a", "label": 1}, {"text": "b", "label": 0}]
    t = task()
    t.setup(splits(rows, label_feature=datasets.ClassLabel(names=["negative", "positive"])))
    assert t.label_names == ["negative", "positive"]
    t = task()
    t.setup(splits([{"text": "a", "label": 10}, {"text": "b", "label": 2}]))
    assert t.label_names == ["2", "10"]  # numeric order, not string order


def test_a_single_label_is_an_error():
    with pytest.raises(DataError, match="only one label"):
        task().setup(splits([{"text": "a", "label": "x"}, {"text": "b", "label": "x"}]))


def test_encoding_counts_truncation_and_keeps_pairs(tokenizer):
    rows = [
        {"text": "the movie was good and the actors were great and the music was nice", "text_pair": "yes", "label": 1},
        {"text": "bad", "text_pair": "no", "label": 0},
    ]
    t = task(max_length=8, labels=["no", "yes"])
    data = splits(rows)
    t.setup(data)
    encoded = t.prepare(data, tokenizer)["train"]
    features = encoded.features
    assert features["labels"] == [1, 0]  # integer ids against named labels
    assert features["length"] == [8, 5]
    assert features["num_tokens"][0] == 18 and features["num_tokens"][1] == 5
    assert features["token_type_ids"][1] == [0, 0, 0, 1, 1]
    assert encoded.stats.truncated == 1 and encoded.stats.truncated_share == 0.5
    assert encoded.stats.length_percentiles["max"] == 18
    assert t.label_distribution(encoded) == {"no": 1, "yes": 1}


def test_unknown_labels_and_empty_texts_name_the_split_and_row(tokenizer):
    t = task()
    data = splits(ROWS, validation=[{"text": "fine", "label": "pos"}, {"text": "meh", "label": "neutral"}])
    t.setup(data)
    with pytest.raises(DataError, match=r"validation split, row 2: label 'neutral' is not one of the 2 labels"):
        t.prepare(data, tokenizer)
    data = splits([*ROWS, {"text": None, "label": "pos"}])
    t.setup(data)
    with pytest.raises(DataError, match="train split, row 4: the 'text' field is empty"):
        t.prepare(data, tokenizer)


def test_collate_pads_to_the_longest_and_masks():
    t = task()
    t.pad_token_id = 0
    batch = t.collate(
        [
            {"input_ids": [2, 7, 3], "token_type_ids": [0, 0, 0], "labels": 1, "feature_index": 4},
            {"input_ids": [2, 3], "token_type_ids": [0, 0], "labels": 0, "feature_index": 9},
        ]
    )
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].dtype.is_floating_point is False
    assert batch["feature_index"].tolist() == [4, 9]
    assert set(t.forward_inputs(batch)) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
    t.pad_to_multiple_of = 8
    assert t.collate([{"input_ids": [2, 7, 3], "labels": 1}])["input_ids"].shape == (1, 8)


def test_head_config_carries_real_names_and_problem_type():
    t = task()
    t.setup(splits(ROWS))
    updates = t.model_config_updates()
    assert updates["id2label"] == {0: "neg", 1: "pos"} and updates["label2id"] == {"neg": 0, "pos": 1}
    assert updates["problem_type"] == "single_label_classification"
    regression = task(problem_type="regression")
    regression.setup(splits([{"text": "a", "label": 0.5}, {"text": "b", "label": 1.5}]))
    assert regression.model_config_updates()["num_labels"] == 1 and regression.default_metric == "mse"


def test_metrics_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    metrics = single_label_metrics(pred, gold, 4)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    # a class predicted but absent from the gold labels counts, as in scikit-learn and in bertkit's reports
    gold_3, pred_3 = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    expected = f1_score(gold_3, pred_3, average="macro", zero_division=0)
    assert single_label_metrics(pred_3, gold_3, 4)["macro_f1"] == pytest.approx(expected)
    gold_multi, pred_multi = rng.integers(0, 2, (50, 3)), rng.integers(0, 2, (50, 3))
    multi = multi_label_metrics(pred_multi, gold_multi)
    assert multi["micro_f1"] == pytest.approx(f1_score(gold_multi, pred_multi, average="micro"))
    assert multi["macro_f1"] == pytest.approx(f1_score(gold_multi, pred_multi, average="macro"))
    x = rng.normal(size=100)
    regression = regression_metrics(x + rng.normal(scale=0.1, size=100), x)
    assert regression["pearson"] > 0.99 and regression["mse"] == pytest.approx(0.01, rel=0.3)


def test_postprocess_restores_example_order_with_names():
    t = task()
    t.setup(splits(ROWS))
    results = {
        "predictions": np.array([1, 0, 1]),
        "confidence": np.array([0.9, 0.8, 0.7]),
        "feature_index": np.array([2, 0, 1]),
    }
    rows = t.postprocess(results, None)
    assert [r["label"] for r in rows] == ["neg", "pos", "pos"]
    assert rows[0]["score"] == pytest.approx(0.8)
