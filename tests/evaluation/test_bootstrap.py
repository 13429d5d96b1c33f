"""Bootstrap intervals: seeded and reproducible, around the estimate, narrower with more data, and distributed
like a plain example-level bootstrap."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_f1
from sklearn.metrics import f1_score as sklearn_f1

from bertkit.errors import InputError
from bertkit.evaluation import BootstrapSettings, ClassificationEvaluator, NerEvaluator, QaEvaluator
from bertkit.evaluation.bootstrap import bootstrap_samples
from tests.evaluation.builders import classification_split, mlm_split, ner_sentence, ner_split, qa_split


def classification_evaluator(n: int, seed: int = 0, accuracy: float = 0.8) -> ClassificationEvaluator:
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, size=n)
    pred = np.where(rng.random(n) < accuracy, gold, rng.integers(0, 3, size=n))
    evaluator = ClassificationEvaluator(["a", "b", "c"])
    evaluator.add_batch(gold, pred)
    return evaluator


def test_same_seed_same_intervals_other_seed_other_intervals():
    evaluator = classification_evaluator(400)
    first = evaluator.result(bootstrap=BootstrapSettings(300, 0.95, seed=7)).confidence_intervals
    again = evaluator.result(bootstrap=BootstrapSettings(300, 0.95, seed=7)).confidence_intervals
    other = evaluator.result(bootstrap=BootstrapSettings(300, 0.95, seed=8)).confidence_intervals
    assert first == again
    assert first != other


def test_same_data_in_another_order_gives_the_same_intervals():
    rng = random.Random(0)
    sentences = [ner_sentence(rng) for _ in range(80)]
    intervals = []
    for order in (sentences, sentences[::-1]):
        evaluator = NerEvaluator()
        for words, gold, pred in order:
            evaluator.add(gold, pred, words=words)
        intervals.append(evaluator.result(bootstrap=BootstrapSettings(200, 0.9, seed=1)).confidence_intervals)
    assert intervals[0] == intervals[1]


@pytest.mark.parametrize("build", [classification_split, ner_split, qa_split, mlm_split])
@pytest.mark.parametrize("seed", range(3))
def test_intervals_contain_the_point_estimate(build, seed):
    split = build(seed=seed)
    assert split.confidence_intervals, "every metric from the statistics gets an interval"
    for name, ci in split.confidence_intervals.items():
        assert ci.low <= ci.high
        assert ci.contains(split.metrics[name]), (name, split.metrics[name], ci)


def test_intervals_narrow_with_more_data():
    settings = BootstrapSettings(500, 0.95, seed=0)
    small = classification_evaluator(200).result(bootstrap=settings).confidence_intervals
    large = classification_evaluator(5000).result(bootstrap=settings).confidence_intervals
    for name in ("accuracy", "macro_f1", "mcc"):
        small_width, large_width = small[name].high - small[name].low, large[name].high - large[name].low
        assert large_width < small_width / 3, name  # ~ sqrt(25) = 5 times narrower in theory


def test_higher_confidence_gives_wider_intervals():
    evaluator = classification_evaluator(500)
    narrow = evaluator.result(bootstrap=BootstrapSettings(500, 0.8, seed=0)).confidence_intervals["accuracy"]
    wide = evaluator.result(bootstrap=BootstrapSettings(500, 0.99, seed=0)).confidence_intervals["accuracy"]
    assert wide.low < narrow.low and wide.high > narrow.high


def test_classification_matches_a_plain_example_bootstrap():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 4, size=400)
    pred = np.where(rng.random(400) < 0.7, gold, rng.integers(0, 4, size=400))
    evaluator = ClassificationEvaluator(list("abcd"))
    evaluator.add_batch(gold, pred)
    ours = bootstrap_samples(*evaluator.statistics(), evaluator.metric_fn(), BootstrapSettings(1000, 0.95, 0))
    plain = []
    for _ in range(800):
        idx = rng.integers(0, 400, size=400)
        plain.append(sklearn_f1(gold[idx], pred[idx], average="macro", zero_division=0))
    assert np.mean(ours["macro_f1"]) == pytest.approx(np.mean(plain), abs=0.003)
    assert np.std(ours["macro_f1"]) == pytest.approx(np.std(plain), rel=0.1)


def test_ner_matches_a_plain_sentence_bootstrap():
    rng = random.Random(2)
    sentences = [ner_sentence(rng) for _ in range(150)]
    evaluator = NerEvaluator()
    for _, gold, pred in sentences:
        evaluator.add(gold, pred)
    ours = bootstrap_samples(*evaluator.statistics(), evaluator.metric_fn(), BootstrapSettings(600, 0.95, 0))
    plain = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(600):
            picked = [sentences[rng.randrange(150)] for _ in range(150)]
            plain.append(seqeval_f1([s[1] for s in picked], [s[2] for s in picked]))
    assert np.mean(ours["f1"]) == pytest.approx(np.mean(plain), abs=0.005)
    assert np.std(ours["f1"]) == pytest.approx(np.std(plain), rel=0.15)


def test_qa_resamples_questions_with_flat_storage():
    evaluator = QaEvaluator()
    for i in range(2000):
        evaluator.add("Paris" if i % 3 else "Rome", ["Paris"])
    split = evaluator.result(bootstrap=BootstrapSettings(400, 0.95, 0))
    ci = split.confidence_intervals["exact_match"]
    assert ci.contains(2 / 3) and 0.01 < ci.high - ci.low < 0.06  # 2 * 1.96 * sqrt(2/9 / 2000) ~ 0.041


def test_no_bootstrap_means_no_intervals():
    split = classification_evaluator(100).result(bootstrap=None)
    assert split.confidence_intervals == {} and split.bootstrap is None


@pytest.mark.parametrize(("n_resamples", "confidence"), [(0, 0.95), (-5, 0.95), (100, 1.0), (100, 0.0), (1.5, 0.9)])
def test_invalid_settings(n_resamples, confidence):
    with pytest.raises(InputError):
        BootstrapSettings(n_resamples, confidence)


def test_qa_order_does_not_change_intervals():
    answers = [("Paris", ["Paris"]), ("Rome", ["Paris"]), ("the Paris", ["Paris", "France"]), ("", [])] * 30
    intervals = []
    for order in (answers, answers[::-1]):
        evaluator = QaEvaluator()
        for prediction, gold in order:
            evaluator.add(prediction, gold)
        intervals.append(evaluator.result(bootstrap=BootstrapSettings(100, 0.95, seed=3)).confidence_intervals)
    assert intervals[0] == intervals[1]
