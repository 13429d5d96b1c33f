"""Extractive question answering over contexts of any length (doc-stride windows), n-best, optional no-answer.

transformers 5 has no question-answering pipeline: this is bertkit's own. Scores and the no-answer rule are
defined in :mod:`bertkit.tasks.spans`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import InputError
from bertkit.inference.engine import InferenceEngine
from bertkit.tasks.spans import DEFAULT_MAX_ANSWER_LENGTH, Answer, FeatureSpans, best_answers, feature_spans
from bertkit.tasks.windows import QAFeature, qa_features, resolve_max_length

DEFAULT_MAX_LENGTH = 384  # the SQuAD fine-tuning default; capped at the model's maximum


@dataclass
class QAResult:
    """The n-best answers to one question (character offsets into its context), best first.

    ``no_answer`` is True when the no-answer option won (``--allow-no-answer``) or no span was found;
    ``null_score`` is the no-answer probability (only with ``--allow-no-answer``); ``windows`` = model inputs used.
    """

    question: str
    answers: list[Answer] = field(default_factory=list)
    no_answer: bool = False
    null_score: float | None = None
    windows: int = 1


def predict_spans(
    loaded: Any, features: Sequence[QAFeature], *, top_k: int, max_answer_length: int, batch_size: int
) -> list[FeatureSpans]:
    """Each window's best spans, searched inside the reduce callback (no logits are kept)."""

    def reduce(outputs: Any, batch: dict[str, Any], ids: Sequence[int]) -> list[FeatureSpans]:
        starts = outputs.start_logits.float().cpu().numpy()
        ends = outputs.end_logits.float().cpu().numpy()
        rows = []
        for row, index in enumerate(ids):
            feat = features[index]
            rows.append(
                feature_spans(
                    starts[row],
                    ends[row],
                    feat.offsets,
                    feat.context_range,
                    feat.cls_index,
                    top_k=top_k,
                    max_answer_length=max_answer_length,
                )
            )
        return rows

    inputs = [f.model_inputs() for f in features]
    return InferenceEngine(loaded, batch_size=batch_size).run(inputs, reduce)


def answer_questions(
    loaded: Any,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    top_k: int = 1,
    max_answer_length: int = DEFAULT_MAX_ANSWER_LENGTH,
    max_length: int | None = None,
    doc_stride: int | None = None,
    allow_no_answer: bool = False,
    null_threshold: float = 0.0,
    batch_size: int = 32,
) -> list[QAResult]:
    """Answer every question from its context, in input order.

    ``max_length``: window length in tokens (default min(384, the model's maximum)); ``doc_stride``: context
    tokens shared by consecutive windows (default 128, or half the room left for the context when that is
    less); ``max_answer_length``: longest answer in tokens.
    """
    if len(questions) != len(contexts):
        raise InputError(f"{len(questions)} question(s) but {len(contexts)} context(s): give one context per question")
    if top_k < 1:
        raise InputError("--top-k must be at least 1")
    if max_answer_length < 1:
        raise InputError("--max-answer-length must be at least 1")
    length = resolve_max_length(max_length, loaded.max_length, default=DEFAULT_MAX_LENGTH)
    features = qa_features(loaded.tokenizer, questions, contexts, max_length=length, doc_stride=doc_stride)
    spans = predict_spans(loaded, features, top_k=top_k, max_answer_length=max_answer_length, batch_size=batch_size)
    per_example: dict[int, list[FeatureSpans]] = defaultdict(list)
    for feat, found in zip(features, spans, strict=True):
        per_example[feat.example_index].append(found)
    results = []
    for index, (question, context) in enumerate(zip(questions, contexts, strict=True)):
        windows = per_example[index]
        best = best_answers(
            context, windows, top_k=top_k, allow_no_answer=allow_no_answer, null_threshold=null_threshold
        )
        results.append(QAResult(question, best.answers, best.no_answer, best.null_score, len(windows)))
    return results
