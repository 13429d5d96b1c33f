"""SQuAD exact match and F1, as the official v1.1/v2.0 evaluation scripts compute them.

Normalisation (official): lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace.
F1 is the bag-of-tokens overlap of the normalised strings. A question's score is the maximum over its gold
answers. SQuAD 2.0: a question with no gold answer (after dropping answers that normalise to nothing) is
scored against the empty string, so predicting ``""`` (no answer) gets EM = F1 = 1 there and 0 elsewhere.
``has_ans_*``/``no_ans_*`` split the scores by whether the question has gold answers. Scores are fractions
(the official script prints percentages: multiply by 100 to compare).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bertkit.errors import DataError
from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.stats import FloatRows

if TYPE_CHECKING:
    import numpy as np

    from bertkit.evaluation.bootstrap import MetricFn

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)
_COLUMNS = ("has_ans_em", "has_ans_f1", "has_ans", "no_ans_em", "no_ans_f1", "no_ans")
CONTEXT_CHARS = 400  # context kept with a worst error


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match_score(prediction: str, gold: str) -> float:
    return float(normalize_answer(gold) == normalize_answer(prediction))


def f1_score(prediction: str, gold: str) -> float:
    gold_tokens, pred_tokens = _tokens(gold), _tokens(prediction)
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)  # no-answer on either side: 1 only if both are empty
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score_question(prediction: str, gold_answers: Sequence[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction: the maximum over the gold answers, ``[""]`` when there are none."""
    answers = [a for a in gold_answers if normalize_answer(a)] or [""]
    return max(exact_match_score(prediction, a) for a in answers), max(f1_score(prediction, a) for a in answers)


def qa_metrics_from_sums(sums: np.ndarray, with_splits: bool = True) -> dict[str, np.ndarray]:
    """Columns: see ``_COLUMNS`` (EM and F1 sums of answerable questions, their count, same for unanswerable)."""
    import numpy as np

    def mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
        return np.divide(total, count, out=np.zeros_like(total), where=count != 0)

    has_em, has_f1, has, no_em, no_f1, no = (sums[:, i] for i in range(6))
    out = {"exact_match": mean(has_em + no_em, has + no), "f1": mean(has_f1 + no_f1, has + no)}
    if with_splits:
        out.update(
            has_ans_exact_match=mean(has_em, has),
            has_ans_f1=mean(has_f1, has),
            no_ans_exact_match=mean(no_em, no),
            no_ans_f1=mean(no_f1, no),
        )
    return out


class QaEvaluator(Evaluator):
    """Feed one final answer string per question (``""`` = no answer) and its gold answers.

    ``version_2`` (or any question without gold answers) adds the HasAns/NoAns split. Keeps per-question
    statistics (six floats, 48 bytes each) and the ``worst_k`` wrong answers (EM = 0) with the highest confidence,
    or the lowest F1 when no confidence is given.
    """

    task = "question-answering"

    def __init__(self, *, version_2: bool = False, worst_k: int = 10) -> None:
        super().__init__(worst_k=worst_k)
        self.version_2 = version_2
        self._rows = FloatRows(_COLUMNS)
        self._counts = {"has_ans": 0, "no_ans": 0}

    @property
    def n_examples(self) -> int:
        return self._rows.n

    def add(
        self,
        prediction: str,
        gold_answers: Sequence[str],
        *,
        question_id: Any = None,
        question: str | None = None,
        context: str | None = None,
        confidence: float | None = None,
    ) -> tuple[float, float]:
        """Score one question; returns its (exact match, F1)."""
        if isinstance(gold_answers, str):
            raise DataError(
                f"question {question_id}: gold answers must be a list of strings, got one string",
                hint='Wrap it: ["answer"]; use [] for a question without an answer (SQuAD 2.0).',
            )
        prediction = prediction or ""
        exact, f1 = score_question(prediction, gold_answers)
        has_answer = len(gold_answers) > 0
        self._rows.add((exact, f1, 1.0, 0.0, 0.0, 0.0) if has_answer else (0.0, 0.0, 0.0, exact, f1, 1.0))
        self._counts["has_ans" if has_answer else "no_ans"] += 1
        if exact == 0.0:
            score = float(confidence) if confidence is not None else 1.0 - f1
            if self.worst.would_keep(score):
                clipped = context if context is None or len(context) <= CONTEXT_CHARS else context[:CONTEXT_CHARS] + "…"
                entry = {
                    "id": question_id if question_id is not None else self._rows.n - 1,
                    "text": question,
                    "context": clipped,
                    "pred": prediction,
                    "gold": list(gold_answers),
                    "exact_match": exact,
                    "f1": f1,
                    "confidence": confidence,
                }
                self.worst.offer(score, entry)
        return exact, f1

    def add_batch(
        self,
        predictions: Sequence[str],
        gold_answers: Sequence[Sequence[str]],
        *,
        ids: Sequence[Any] | None = None,
        questions: Sequence[str] | None = None,
        contexts: Sequence[str] | None = None,
        confidences: Sequence[float] | None = None,
    ) -> None:
        if len(predictions) != len(gold_answers):
            raise DataError(f"got {len(predictions)} predictions but {len(gold_answers)} gold answer lists")
        for i, (prediction, answers) in enumerate(zip(predictions, gold_answers, strict=True)):
            self.add(
                prediction,
                answers,
                question_id=ids[i] if ids is not None else None,
                question=questions[i] if questions is not None else None,
                context=contexts[i] if contexts is not None else None,
                confidence=confidences[i] if confidences is not None else None,
            )

    @property
    def _with_splits(self) -> bool:
        return self.version_2 or self._counts["no_ans"] > 0

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        return self._rows.arrays()

    def metric_fn(self) -> MetricFn:
        with_splits = self._with_splits
        return lambda sums: qa_metrics_from_sums(sums, with_splits)

    def _extras(self) -> dict[str, Any]:
        return {"details": {"has_ans_total": self._counts["has_ans"], "no_ans_total": self._counts["no_ans"]}}


def squad_metrics(predictions: Sequence[str], gold_answers: Sequence[Sequence[str]], *, version_2: bool = False):
    """One-shot point estimates for in-memory predictions (see ``QaEvaluator`` for streaming)."""
    evaluator = QaEvaluator(version_2=version_2, worst_k=0)
    evaluator.add_batch(predictions, gold_answers)
    return evaluator.metrics()
