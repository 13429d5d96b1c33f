"""The NER error breakdown on hand-made cases of each kind, and its accounting identities on random data."""

from __future__ import annotations

import random

import pytest

from bertkit.evaluation import NerEvaluator
from bertkit.evaluation.metrics.ner_chunks import Entity, conlleval_entities
from bertkit.evaluation.metrics.ner_errors import classify_entities, error_counts, type_confusions


def breakdown(gold: list[str], pred: list[str]) -> dict[str, int]:
    evaluator = NerEvaluator()
    evaluator.add(gold, pred)
    counts = evaluator.result(bootstrap=None).error_breakdown
    return {kind: n for kind, n in counts.items() if n}


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        # same span, different type
        (["B-PER", "I-PER", "O"], ["B-ORG", "I-ORG", "O"], {"wrong_type": 1}),
        # same type, span too short / too long / shifted
        (["B-PER", "I-PER", "O"], ["B-PER", "O", "O"], {"wrong_boundary": 1}),
        (["B-PER", "O", "O"], ["B-PER", "I-PER", "O"], {"wrong_boundary": 1}),
        (["B-LOC", "I-LOC", "O"], ["O", "B-LOC", "I-LOC"], {"wrong_boundary": 1}),
        # different type and different span
        (["B-PER", "I-PER", "O"], ["O", "B-LOC", "I-LOC"], {"wrong_type_and_boundary": 1}),
        # no overlap with any gold entity
        (["B-PER", "O", "O"], ["B-PER", "O", "B-ORG"], {"correct": 1, "spurious": 1}),
        # gold entity nobody predicted
        (["B-PER", "O", "B-LOC"], ["B-PER", "O", "O"], {"correct": 1, "missed": 1}),
        (["O", "O"], ["O", "O"], {}),
        (["B-ORG", "I-ORG"], ["B-ORG", "I-ORG"], {"correct": 1}),
    ],
)
def test_each_kind(gold, pred, expected):
    assert breakdown(gold, pred) == expected


def test_one_prediction_over_two_gold_entities():
    # pred LOC covers gold PER (same span start, longer) and gold LOC (partly): same type overlap wins -> boundary
    gold, pred = ["B-PER", "B-LOC", "I-LOC"], ["B-LOC", "I-LOC", "O"]
    assert breakdown(gold, pred) == {"wrong_boundary": 1}
    # a prediction split in two: both halves are boundary errors of the same gold entity, nothing missed
    assert breakdown(["B-PER", "I-PER"], ["B-PER", "B-PER"]) == {"wrong_boundary": 2}


def test_same_span_beats_same_type():
    # gold: PER [0,1) and LOC [1,3); pred: ORG [0,1) (same span as PER) -> wrong type
    gold = [Entity("PER", 0, 1), Entity("LOC", 1, 3)]
    kinds = classify_entities(gold, [Entity("ORG", 0, 1)])
    assert kinds == [("wrong_type", Entity("PER", 0, 1), Entity("ORG", 0, 1)), ("missed", Entity("LOC", 1, 3), None)]


def test_type_confusions_matrix():
    gold = conlleval_entities(["B-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"])
    pred = conlleval_entities(["B-ORG", "O", "B-LOC", "O", "B-MISC", "B-ORG"])
    assert type_confusions(gold, pred) == {
        ("PER", "ORG"): 1,  # same span, other type
        ("LOC", "O"): 1,  # no prediction with the gold span (boundary error)
        ("O", "LOC"): 1,  # the mis-bounded prediction
        ("O", "MISC"): 1,  # spurious
        ("ORG", "ORG"): 1,  # correct
    }


def test_confusion_matrix_in_split():
    evaluator = NerEvaluator()
    evaluator.add(["B-PER", "O"], ["B-LOC", "O"])
    evaluator.add(["B-PER", "O"], ["B-PER", "O"])
    cm = evaluator.result(bootstrap=None).confusion_matrix
    assert cm.labels == ["LOC", "PER", "O"]
    assert cm.matrix == [[0, 0, 0], [1, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("seed", range(30))
def test_accounting_identities_on_random_sentences(seed):
    rng = random.Random(seed)
    tags = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]
    for _ in range(20):
        gold_tags = [rng.choice(tags) for _ in range(rng.randint(0, 12))]
        pred_tags = [rng.choice(tags) if rng.random() < 0.4 else t for t in gold_tags]
        gold, pred = conlleval_entities(gold_tags), conlleval_entities(pred_tags)
        counts = error_counts(gold, pred)
        tp = len(set(gold) & set(pred))
        assert counts["correct"] == tp
        fp_kinds = ("wrong_type", "wrong_boundary", "wrong_type_and_boundary", "spurious")
        assert sum(counts[k] for k in fp_kinds) == len(pred) - tp
        overlapped = sum(any(g.overlaps(p) for p in pred) for g in gold)
        assert counts["missed"] == len(gold) - overlapped
