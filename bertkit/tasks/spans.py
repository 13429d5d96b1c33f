"""Extractive-QA answer search: n-best spans from start/end logits, over doc-stride windows, with "no answer".

Works on per-feature numpy arrays, so inference and evaluation both call it on small reduced outputs:

1. :func:`feature_spans` (inside the reduce callback, once per window): the ``top_k`` best spans of one window
   and its no-answer score.
2. :func:`best_answers` (once per example): merge the windows' spans, drop duplicates (the same characters seen
   in two overlapping windows keep their best score), rank, decide "no answer".

Score of a span (start token i, end token j, i <= j < i + max_answer_length, both in the context):
``P_start(i) * P_end(j)``, where ``P_start``/``P_end`` are softmaxes of the window's start/end logits over its
context tokens plus the no-answer ([CLS]) token, exactly as transformers 4's question-answering pipeline scored
answers. Scores are comparable across windows of one example and lie in [0, 1].

No answer (SQuAD 2.0 models): a window's null logit is ``start_logit[cls] + end_logit[cls]``. The example's null
logit is the smallest over its windows (the window most sure there is an answer); the answer is "no answer" when
``null_logit - (start_logit + end_logit of the best span) > null_threshold`` (the ``null_score_diff_threshold``
of the SQuAD 2.0 reference scripts; 0.0 by default, tune it on a dev set). ``null_score`` reports
``P_start(cls) * P_end(cls)`` of that window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_ANSWER_LENGTH = 30  # tokens, as in the SQuAD reference scripts


@dataclass
class SpanCandidate:
    """An answer span of one window: characters ``[start, end)`` of the context, tokens ``[start_token, end_token]``
    of the window."""

    start: int
    end: int
    score: float
    logit: float  # start_logit + end_logit
    start_token: int
    end_token: int


@dataclass
class FeatureSpans:
    """What one window contributes: its best spans (best first) and its no-answer score."""

    candidates: list[SpanCandidate]
    null_score: float
    null_logit: float


@dataclass
class Answer:
    text: str
    start: int
    end: int
    score: float


@dataclass
class ExampleAnswers:
    """The n-best answers of one question. ``no_answer`` is True when the null answer won (or none was found)."""

    answers: list[Answer] = field(default_factory=list)
    no_answer: bool = False
    null_score: float | None = None
    null_score_diff: float | None = None


def softmax(values: Any) -> Any:
    import numpy as np

    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


def feature_spans(
    start_logits: Any,
    end_logits: Any,
    offsets: Sequence[tuple[int, int] | None],
    context_range: tuple[int, int],
    cls_index: int = 0,
    *,
    top_k: int = 1,
    max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH,
) -> FeatureSpans:
    """The ``top_k`` best spans of one window (see the module doc for the score).

    ``start_logits``/``end_logits``: 1-D arrays for the window (a padded row is fine: only the first
    ``len(offsets)`` values are read). ``offsets``/``context_range``/``cls_index`` come from a
    :class:`bertkit.tasks.windows.QAFeature`.
    """
    import numpy as np

    n = len(offsets)
    starts = np.asarray(start_logits, dtype=np.float64)[:n]
    ends = np.asarray(end_logits, dtype=np.float64)[:n]
    lo, hi = context_range
    keep = np.zeros(n, dtype=bool)
    keep[lo:hi] = True
    keep[cls_index] = True
    p_start = softmax(np.where(keep, starts, -np.inf))
    p_end = softmax(np.where(keep, ends, -np.inf))
    null = FeatureSpans([], float(p_start[cls_index] * p_end[cls_index]), float(starts[cls_index] + ends[cls_index]))
    if hi <= lo or top_k < 1 or max_answer_length < 1:
        return null
    scores = np.outer(p_start[lo:hi], p_end[lo:hi])
    # Spans are the band j >= i, j - i < max_answer_length of the start x end matrix.
    valid = np.triu(np.tril(np.ones_like(scores, dtype=bool), max_answer_length - 1))
    flat = np.where(valid, scores, -1.0).ravel()
    k = min(top_k, int(valid.sum()))
    best = np.argpartition(-flat, k - 1)[:k]
    best = best[np.argsort(-flat[best], kind="stable")]
    for index in best:
        i, j = divmod(int(index), hi - lo)
        first, last = i + lo, j + lo
        null.candidates.append(
            SpanCandidate(
                start=int(offsets[first][0]),
                end=int(offsets[last][1]),
                score=float(flat[index]),
                logit=float(starts[first] + ends[last]),
                start_token=first,
                end_token=last,
            )
        )
    return null


def best_answers(
    context: str,
    windows: Sequence[FeatureSpans],
    *,
    top_k: int = 1,
    allow_no_answer: bool = False,
    null_threshold: float = 0.0,
) -> ExampleAnswers:
    """Merge the windows of one example into its n-best answers (see the module doc for the no-answer rule)."""
    by_chars: dict[tuple[int, int], SpanCandidate] = {}
    for window in windows:
        for cand in window.candidates:
            key = (cand.start, cand.end)
            if key not in by_chars or cand.score > by_chars[key].score:
                by_chars[key] = cand
    ranked = sorted(by_chars.values(), key=lambda c: (-c.score, c.start, c.end))[:top_k]
    answers = [Answer(context[c.start : c.end], c.start, c.end, c.score) for c in ranked]
    result = ExampleAnswers(answers=answers, no_answer=not answers)
    if allow_no_answer and windows:
        surest = min(windows, key=lambda w: w.null_logit)
        result.null_score = surest.null_score
        if ranked:
            result.null_score_diff = surest.null_logit - ranked[0].logit
            result.no_answer = result.null_score_diff > null_threshold
    return result
