"""SQuAD EM/F1: the official normalisation on hand-made cases, and the official v2.0 script's functions."""

from __future__ import annotations

import collections
import random
import re
import string

import pytest

from bertkit.errors import DataError
from bertkit.evaluation import QaEvaluator, normalize_answer, squad_metrics
from bertkit.evaluation.metrics.squad import exact_match_score, f1_score, score_question


# --- the official SQuAD v2.0 evaluation script's scoring functions, verbatim in behaviour -----------------
def official_normalize(s):
    def remove_articles(text):
        return re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def official_f1(a_gold, a_pred):
    gold_toks = official_normalize(a_gold).split() if a_gold else []
    pred_toks = official_normalize(a_pred).split() if a_pred else []
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision, recall = num_same / len(pred_toks), num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def official_scores(answers, a_pred):
    gold_answers = [a for a in answers if official_normalize(a)] or [""]
    exact = max(int(official_normalize(a) == official_normalize(a_pred)) for a in gold_answers)
    return exact, max(official_f1(a, a_pred) for a in gold_answers)


# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Eiffel Tower", "eiffel tower"),
        ("An apple a day", "apple day"),
        ("theater anthem", "theater anthem"),  # articles only as whole words
        ("  New\tYork \n City ", "new york city"),
        ("U.S.A.!", "usa"),
        ("rock-'n'-roll", "rocknroll"),
        ("PARIS", "paris"),
        ("the", ""),
        ("", ""),
    ],
)
def test_normalize_answer(text, normalized):
    assert normalize_answer(text) == normalized == official_normalize(text)


@pytest.mark.parametrize(
    ("prediction", "gold", "em", "f1"),
    [
        ("eiffel tower", ["The Eiffel Tower"], 1.0, 1.0),
        ("the Eiffel Tower in Paris", ["Eiffel Tower"], 0.0, 2 / 3),
        ("new new york", ["New York"], 0.0, 0.8),  # repeated tokens count once per gold occurrence
        ("Paris", ["London", "paris.", "Rome"], 1.0, 1.0),  # max over gold answers
        ("Paris France", ["France", "Paris"], 0.0, 2 / 3),
        ("Berlin", ["Paris"], 0.0, 0.0),
        ("", ["Paris"], 0.0, 0.0),  # no answer predicted for an answerable question
        ("", [], 1.0, 1.0),  # SQuAD 2.0: correct abstention
        ("Paris", [], 0.0, 0.0),  # answered an unanswerable question
        ("", ["the", "a"], 1.0, 1.0),  # gold answers that normalise to nothing count as no-answer
    ],
)
def test_hand_made_scores(prediction, gold, em, f1):
    assert score_question(prediction, gold) == (pytest.approx(em), pytest.approx(f1))
    assert official_scores(gold, prediction) == (pytest.approx(em), pytest.approx(f1))


def test_matches_official_functions_on_random_strings():
    rng = random.Random(0)
    vocab = ["the", "a", "An", "Paris", "paris,", "tower", "Eiffel", "in", "1889", "!", "new-york", "York", "  "]
    for _ in range(2000):
        gold = [" ".join(rng.choices(vocab, k=rng.randint(0, 5))) for _ in range(rng.randint(0, 3))]
        pred = " ".join(rng.choices(vocab, k=rng.randint(0, 5)))
        em, f1 = score_question(pred, gold)
        ref_em, ref_f1 = official_scores(gold, pred)
        assert em == ref_em and f1 == pytest.approx(ref_f1, abs=1e-12)
        if gold:
            assert exact_match_score(pred, gold[0]) == float(official_normalize(gold[0]) == official_normalize(pred))
            assert f1_score(pred, gold[0]) == pytest.approx(official_f1(gold[0], pred), abs=1e-12)


def test_has_ans_and_no_ans_splits():
    m = squad_metrics(["Paris", "", "Rome", "Berlin"], [["Paris"], [], [], ["Berlin wall"]])
    assert m["exact_match"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx((1 + 1 + 0 + 2 / 3) / 4)
    assert m["has_ans_exact_match"] == pytest.approx(1 / 2)
    assert m["has_ans_f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["no_ans_exact_match"] == pytest.approx(1 / 2)
    assert m["no_ans_f1"] == pytest.approx(1 / 2)


def test_squad_v1_has_no_split_metrics_unless_asked():
    assert set(squad_metrics(["Paris"], [["Paris"]])) == {"exact_match", "f1"}
    assert "has_ans_f1" in squad_metrics(["Paris"], [["Paris"]], version_2=True)


def test_evaluator_details_and_worst_errors():
    evaluator = QaEvaluator(worst_k=2)
    evaluator.add("Paris", ["Paris"], question_id="a", confidence=0.99)
    evaluator.add("Rome", ["Paris"], question_id="b", question="Capital of France?", confidence=0.9)
    evaluator.add("London", ["Paris"], question_id="c", confidence=0.2)
    evaluator.add("", [], question_id="d", confidence=0.95)
    evaluator.add("Lyon", [], question_id="e", context="x" * 1000, confidence=0.5)
    split = evaluator.result(bootstrap=None)
    assert split.details == {"has_ans_total": 3, "no_ans_total": 2}
    assert [w["id"] for w in split.worst_errors] == ["b", "e"]
    assert split.worst_errors[0]["text"] == "Capital of France?"
    assert split.worst_errors[0]["gold"] == ["Paris"] and split.worst_errors[0]["pred"] == "Rome"
    assert len(split.worst_errors[1]["context"]) == 401


def test_one_string_as_gold_answers_is_an_error():
    with pytest.raises(DataError, match="list of strings"):
        QaEvaluator().add("Paris", "Paris")
