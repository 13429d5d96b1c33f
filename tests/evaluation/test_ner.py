"""NER scores equal seqeval's (default conlleval mode and strict IOB2/IOBES), overall and per type."""

from __future__ import annotations

import math
import random
import warnings

import pytest
from seqeval import metrics as sq
from seqeval.scheme import IOB2, IOBES

from bertkit.errors import DataError, InputError
from bertkit.evaluation import NerEvaluator, ner_metrics
from bertkit.evaluation.metrics.ner_chunks import Entity, conlleval_entities, strict_entities

TOL = 1e-9
IOB_TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "I-MISC", "B-MISC"]
BIOES_TAGS = ["O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC", "I-LOC"]


def random_corpus(rng: random.Random, tags: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    gold = [[rng.choice(tags) for _ in range(rng.randint(0, 14))] for _ in range(rng.randint(1, 10))]
    noise = rng.random()
    pred = [[rng.choice(tags) if rng.random() < noise else t for t in sentence] for sentence in gold]
    return gold, pred


def seqeval_scores(gold, pred, **kwargs) -> dict[str, float]:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("micro", "macro", "weighted"):
            prefix = "" if average == "micro" else f"{average}_"
            out[f"{prefix}precision"] = sq.precision_score(gold, pred, average=average, **kwargs)
            out[f"{prefix}recall"] = sq.recall_score(gold, pred, average=average, **kwargs)
            out[f"{prefix}f1"] = sq.f1_score(gold, pred, average=average, **kwargs)
    # seqeval returns NaN for macro averages when there is no entity at all; bertkit reports 0
    return {k: 0.0 if isinstance(v, float) and math.isnan(v) else float(v) for k, v in out.items()}


def seqeval_per_type(gold, pred, strict_scheme=None) -> dict[str, tuple[float, float, float, int]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if strict_scheme is None:
            report = sq.classification_report(gold, pred, output_dict=True)
        else:
            report = sq.classification_report(gold, pred, output_dict=True, mode="strict", scheme=strict_scheme)
    return {
        name: (row["precision"], row["recall"], row["f1-score"], row["support"])
        for name, row in report.items()
        if not name.endswith(" avg")
    }


def assert_scores(ours: dict[str, float], ref: dict[str, float]) -> None:
    for name, value in ref.items():
        assert ours[name] == pytest.approx(value, abs=TOL), name


@pytest.mark.parametrize("seed", range(80))
def test_default_mode_matches_seqeval(seed):
    gold, pred = random_corpus(random.Random(seed), IOB_TAGS)
    ours = ner_metrics(gold, pred)
    assert_scores(ours, seqeval_scores(gold, pred))
    if any(gold):
        assert ours["token_accuracy"] == pytest.approx(sq.accuracy_score(gold, pred), abs=TOL)


@pytest.mark.parametrize("seed", range(80))
def test_strict_iob2_matches_seqeval(seed):
    gold, pred = random_corpus(random.Random(1000 + seed), IOB_TAGS)
    assert_scores(ner_metrics(gold, pred, mode="strict"), seqeval_scores(gold, pred, mode="strict", scheme=IOB2))
    # the other mode is always reported next to the primary one
    strict_micro = seqeval_scores(gold, pred, mode="strict", scheme=IOB2)
    default = ner_metrics(gold, pred, mode="conlleval")
    assert default["strict_f1"] == pytest.approx(strict_micro["f1"], abs=TOL)
    assert ner_metrics(gold, pred, mode="strict")["conlleval_f1"] == pytest.approx(default["f1"], abs=TOL)


@pytest.mark.parametrize("seed", range(40))
def test_strict_bioes_matches_seqeval(seed):
    gold, pred = random_corpus(random.Random(2000 + seed), BIOES_TAGS)
    ours = ner_metrics(gold, pred, mode="strict", scheme="bioes")
    assert_scores(ours, seqeval_scores(gold, pred, mode="strict", scheme=IOBES))
    assert_scores(ner_metrics(gold, pred, scheme="bioes"), seqeval_scores(gold, pred))


@pytest.mark.parametrize(("mode", "scheme"), [("conlleval", None), ("strict", IOB2)])
@pytest.mark.parametrize("seed", range(25))
def test_per_type_matches_seqeval(seed, mode, scheme):
    gold, pred = random_corpus(random.Random(3000 + seed), IOB_TAGS)
    evaluator = NerEvaluator(mode=mode)
    evaluator.add_batch(gold, pred)
    split = evaluator.result(bootstrap=None)
    ref = seqeval_per_type(gold, pred, scheme)
    assert set(split.per_type) >= set(ref)
    for name, (p, r, f, support) in ref.items():
        row = split.per_type[name]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p, r, f), abs=TOL), name
        assert row["support"] == support
    # types that only the other mode sees have no entity here: zero everywhere
    for name in set(split.per_type) - set(ref):
        assert split.per_type[name]["support"] == 0


def test_i_without_b_hand_made():
    tags = ["I-PER", "I-PER", "O", "B-LOC", "I-ORG", "I-ORG"]
    assert conlleval_entities(tags) == [Entity("PER", 0, 2), Entity("LOC", 3, 4), Entity("ORG", 4, 6)]
    assert strict_entities(tags) == [Entity("LOC", 3, 4)]
    gold = [["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "I-ORG"]]
    lenient = ner_metrics(gold, [tags])  # conlleval accepts the I- starts: all three entities are right
    assert (lenient["precision"], lenient["recall"]) == (pytest.approx(1.0), pytest.approx(1.0))
    strict = ner_metrics(gold, [tags], mode="strict")
    assert (strict["precision"], strict["recall"]) == (pytest.approx(1.0), pytest.approx(1 / 3))


def test_sentences_never_share_an_entity():
    # the tail of one sentence and the head of the next are separate entities
    m = ner_metrics([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]])
    assert m["recall"] == pytest.approx(1.0) and m["precision"] == pytest.approx(1.0)


def test_empty_and_entity_free_corpora():
    m = ner_metrics([["O", "O"], []], [["O", "O"], []])
    assert m["f1"] == 0.0 and m["macro_f1"] == 0.0 and m["token_accuracy"] == 1.0


def test_invalid_input_is_a_data_error():
    with pytest.raises(DataError, match=r"invalid tag 'PER' at word 1 of sentence 0 \(gold\)"):
        ner_metrics([["O", "PER"]], [["O", "O"]])
    with pytest.raises(DataError, match="invalid tag 'E-PER'") as info:
        ner_metrics([["B-PER", "E-PER"]], [["O", "O"]])  # iob2 data
    assert "bioes tag scheme" in info.value.hint
    with pytest.raises(DataError, match="2 tags but 3 words"):
        NerEvaluator().add(["O", "O"], ["O", "O"], words=["a", "b", "c"])
    with pytest.raises(DataError, match="2 tags but 1 confidences"):
        NerEvaluator().add(["O", "O"], ["O", "O"], confidences=[0.5])
    with pytest.raises(DataError, match="3 gold tags but 2 predicted"):
        ner_metrics([["O", "O", "O"]], [["O", "O"]])
    with pytest.raises(InputError, match="unknown NER scoring mode"):
        NerEvaluator(mode="partial")


def test_worst_sentences_ranked_by_confidence_of_wrong_entities():
    evaluator = NerEvaluator(worst_k=2)
    words = ["Ada", "met", "Alan"]
    evaluator.add(["B-PER", "O", "B-PER"], ["B-PER", "O", "B-LOC"], words=words, confidences=[0.9, 0.99, 0.6])
    evaluator.add(["B-PER", "O", "O"], ["B-ORG", "O", "O"], words=words, confidences=[0.95, 0.99, 0.99])
    evaluator.add(["B-PER", "O", "O"], ["B-PER", "O", "O"], words=words, confidences=[0.1, 0.1, 0.1])
    evaluator.add(["O", "O", "B-PER"], ["O", "O", "O"], words=words, confidences=[0.9, 0.9, 0.9])
    worst = evaluator.result(bootstrap=None).worst_errors
    assert [w["id"] for w in worst] == [1, 0]
    assert worst[0]["text"] == "Ada met Alan"
    assert worst[0]["errors"] == [
        {
            "kind": "wrong_type",
            "gold": {"type": "PER", "start": 0, "end": 1, "text": "Ada"},
            "pred": {"type": "ORG", "start": 0, "end": 1, "text": "Ada"},
            "confidence": pytest.approx(0.95),
        }
    ]
