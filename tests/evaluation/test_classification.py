"""Classification metrics against hand-computed values and scikit-learn on the same predictions."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from bertkit.errors import DataError
from bertkit.evaluation import ClassificationEvaluator, classification_metrics

TOL = 1e-9


def sklearn_metrics(gold: list[int], pred: list[int]) -> dict[str, float]:
    out = {"accuracy": skm.accuracy_score(gold, pred), "mcc": skm.matthews_corrcoef(gold, pred)}
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(gold, pred, average=average, zero_division=0)
        out |= {f"{average}_precision": p, f"{average}_recall": r, f"{average}_f1": f}
    return out


def test_hand_computed_binary_case():
    # gold: a a a b b ; pred: a a b b a  -> tp_a=2, fp_a=1, fn_a=1 ; tp_b=1, fp_b=1, fn_b=1
    m = classification_metrics(["a", "a", "a", "b", "b"], ["a", "a", "b", "b", "a"], ["a", "b"])
    assert m["accuracy"] == pytest.approx(3 / 5, abs=TOL)
    assert m["macro_precision"] == pytest.approx((2 / 3 + 1 / 2) / 2, abs=TOL)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 1 / 2) / 2, abs=TOL)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2, abs=TOL)
    assert m["weighted_f1"] == pytest.approx((3 * 2 / 3 + 2 * 1 / 2) / 5, abs=TOL)
    assert m["micro_f1"] == pytest.approx(3 / 5, abs=TOL)
    # MCC from the 2x2 table: (tp*tn - fp*fn) / sqrt(...) with a as positive: tp=2 tn=1 fp=1 fn=1
    assert m["mcc"] == pytest.approx((2 * 1 - 1 * 1) / np.sqrt(3 * 3 * 2 * 2), abs=TOL)


def test_per_class_and_confusion_matrix_hand_computed():
    evaluator = ClassificationEvaluator(["cat", "dog", "eel"])
    evaluator.add_batch([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 1])
    split = evaluator.result(bootstrap=None)
    assert split.confusion_matrix.matrix == [[1, 1, 0], [1, 2, 0], [0, 1, 0]]
    assert split.per_class["dog"] == {"precision": 0.5, "recall": 2 / 3, "f1": pytest.approx(4 / 7), "support": 3}
    # eel is never predicted: precision 0 (zero division), recall 0, still in the macro average (support 1)
    assert split.per_class["eel"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert split.metrics["macro_recall"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3, abs=TOL)


@pytest.mark.parametrize("seed", range(60))
def test_matches_sklearn_on_random_predictions(seed):
    rng = random.Random(seed)
    k = rng.randint(2, 7)
    n = rng.choice([1, 3, 17, 200])
    # skewed class draws so that some classes are absent from gold, from predictions, or from both
    weights = [rng.random() ** 3 for _ in range(k)]
    gold = rng.choices(range(k), weights=weights, k=n)
    pred = [g if rng.random() < rng.random() else rng.randrange(k) for g in gold]
    labels = [f"c{i}" for i in range(k)]
    ours = classification_metrics(gold, pred, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sklearn_metrics(gold, pred)
    for name, value in ref.items():
        assert ours[name] == pytest.approx(value, abs=TOL), name

    evaluator = ClassificationEvaluator(labels)
    evaluator.add_batch(gold, pred)
    split = evaluator.result(bootstrap=None)
    np.testing.assert_array_equal(split.confusion_matrix.matrix, skm.confusion_matrix(gold, pred, labels=range(k)))
    p, r, f, s = skm.precision_recall_fscore_support(gold, pred, labels=range(k), zero_division=0)
    for i, label in enumerate(labels):
        row = split.per_class[label]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[i], r[i], f[i]), abs=TOL)
        assert row["support"] == s[i]


def test_zero_division_classes_match_sklearn():
    # class 2 only predicted, class 3 only gold, class 4 in neither (left out of averages)
    gold, pred = [0, 0, 1, 3, 3], [0, 2, 1, 1, 0]
    ours = classification_metrics(gold, pred, ["a", "b", "c", "d", "e"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sklearn_metrics(gold, pred)
    for name, value in ref.items():
        assert ours[name] == pytest.approx(value, abs=TOL), name


def test_streaming_batches_equal_one_shot():
    rng = random.Random(3)
    gold = [rng.randrange(4) for _ in range(500)]
    pred = [rng.randrange(4) for _ in range(500)]
    labels = list("wxyz")
    streamed = ClassificationEvaluator(labels)
    for start in range(0, 500, 37):
        streamed.add_batch(gold[start : start + 37], pred[start : start + 37])
    assert streamed.metrics() == classification_metrics(gold, pred, labels)
    assert streamed.n_examples == 500


def test_add_logits_reduces_to_argmax_and_confidence():
    evaluator = ClassificationEvaluator(["neg", "pos"], worst_k=2)
    logits = np.array([[2.0, 0.0], [0.0, 3.0], [5.0, 1.0], [0.1, 0.0]])
    evaluator.add_logits(logits, [0, 0, 1, 1], texts=["fine", "bad one", "worst one", "close call"], ids=list("abcd"))
    assert evaluator.confusion.tolist() == [[1, 1], [2, 0]]  # rows gold, columns predicted
    worst = evaluator.result(bootstrap=None).worst_errors
    assert [w["id"] for w in worst] == ["c", "b"]  # most confident wrong first
    assert worst[0]["confidence"] == pytest.approx(np.exp(5) / (np.exp(5) + np.exp(1)))
    assert worst[0] | {"confidence": None} == {
        "id": "c",
        "text": "worst one",
        "gold": "pos",
        "pred": "neg",
        "confidence": None,
    }


def test_worst_errors_keep_only_k():
    evaluator = ClassificationEvaluator(["a", "b"], worst_k=3)
    for i in range(50):
        evaluator.add_batch([0], [1], confidences=[i / 100], ids=[i])
    assert [e["id"] for e in evaluator.result(bootstrap=None).worst_errors] == [49, 48, 47]


def test_bad_inputs_are_data_errors():
    evaluator = ClassificationEvaluator(["a", "b"])
    with pytest.raises(DataError, match="unknown gold label"):
        evaluator.add_batch(["a", "zebra"], ["a", "b"])
    with pytest.raises(DataError, match=r"outside 0\.\.1"):
        evaluator.add_batch([0, 1], [0, 2])
    with pytest.raises(DataError, match="2 gold labels but 1 predictions"):
        evaluator.add_batch([0, 1], [0])
    with pytest.raises(DataError, match="split is empty"):
        evaluator.metrics()
    with pytest.raises(DataError, match="logits must have shape"):
        evaluator.add_logits(np.zeros((2, 3)), [0, 1])
    with pytest.raises(DataError, match="two distinct labels"):
        ClassificationEvaluator(["a", "a"])
