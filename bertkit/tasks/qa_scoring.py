"""Extractive-QA helpers for training and evaluation: answer character spans, question length limits, SQuAD scores.

The scores are those of the official SQuAD v1.1/v2.0 evaluation scripts: answers are normalised (lowercase, no
ASCII punctuation, no articles a/an/the, single spaces); exact match and bag-of-tokens F1 take the best over the
gold answers; a question without gold answers (SQuAD 2.0) is right only when the prediction is empty (no answer).
Scores are fractions (the official script prints percentages).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
PUNCTUATION = frozenset(string.punctuation)


def answer_chars(context: str, text: str, start: int) -> tuple[int, int] | None:
    """Characters ``[start, end)`` of an answer in its context: at ``answer_start`` when the text is there, else the
    occurrence of the text nearest to it; None when the text is not in the context at all."""
    if not text:
        return None
    if start >= 0 and context[start : start + len(text)] == text:
        return start, start + len(text)
    found = [m.start() for m in re.finditer(re.escape(text), context)]
    if not found:
        return None
    best = min(found, key=lambda s: abs(s - start))
    return best, best + len(text)


def first_answer(context: str, answers: dict[str, list[Any]]) -> tuple[tuple[int, int] | None, str]:
    """The span trained on (the first answer) and what happened: ``exact``, ``moved``, ``missing`` or ``none``."""
    texts, starts = answers.get("text") or [], answers.get("answer_start") or []
    if not texts:
        return None, "none"
    span = answer_chars(context, str(texts[0]), int(starts[0]))
    if span is None:
        return None, "missing"
    return span, "exact" if span[0] == int(starts[0]) else "moved"


def truncate_questions(tokenizer: Any, questions: Sequence[str], limit: int) -> tuple[list[str], int]:
    """Questions cut after ``limit`` tokens (at a token end, so the tokens kept are unchanged); how many were cut."""
    stripped = [q.lstrip() for q in questions]
    if not stripped:
        return [], 0
    offsets = tokenizer(stripped, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
        "offset_mapping"
    ]
    result, cut = [], 0
    for question, spans in zip(stripped, offsets, strict=True):
        if len(spans) > limit:
            question = question[: spans[limit - 1][1]]
            cut += 1
        result.append(question)
    return result, cut


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred, true = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not true:
        return float(pred == true)
    same = sum((Counter(pred) & Counter(true)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(true)
    return 2 * precision * recall / (precision + recall)


def squad_scores(
    predictions: Sequence[str], gold: Sequence[Sequence[str]], *, with_negative: bool = False
) -> dict[str, float]:
    """``exact_match`` and ``f1`` over all questions; with ``with_negative`` also split by answerable
    (``has_ans_*``) and unanswerable (``no_ans_*``) questions, as the SQuAD 2.0 script reports them."""
    sums = {"has": [0.0, 0.0, 0], "no": [0.0, 0.0, 0]}
    for prediction, answers in zip(predictions, gold, strict=True):
        kept = [a for a in answers if normalize_answer(a)] or [""]
        group = sums["has" if kept != [""] else "no"]
        group[0] += max(exact_match(prediction, a) for a in kept)
        group[1] += max(token_f1(prediction, a) for a in kept)
        group[2] += 1
    total = sums["has"][2] + sums["no"][2]

    def mean(value: float, count: int) -> float:
        return value / count if count else 0.0

    scores = {
        "exact_match": mean(sums["has"][0] + sums["no"][0], total),
        "f1": mean(sums["has"][1] + sums["no"][1], total),
    }
    if with_negative:
        for key, (em, f1, count) in sums.items():
            scores[f"{key}_ans_exact_match"] = mean(em, count)
            scores[f"{key}_ans_f1"] = mean(f1, count)
    return scores
