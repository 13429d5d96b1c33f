"""Extractive-QA helpers for training: answer character spans, and questions cut to a token limit.

Scores (official SQuAD normalisation, exact match and F1) come from :mod:`bertkit.evaluation.metrics.squad`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


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
