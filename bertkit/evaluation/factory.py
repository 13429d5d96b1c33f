"""One entry point for the task layer: the right evaluator for a recipe's ``task.type``."""

from __future__ import annotations

from collections.abc import Sequence

from bertkit.errors import DataError, InputError
from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.results import TASKS


def make_evaluator(
    task: str,
    *,
    labels: Sequence[str] | None = None,
    ner_mode: str = "conlleval",
    tag_scheme: str = "iob2",
    version_2: bool = False,
    worst_k: int = 10,
) -> Evaluator:
    """``labels`` (class names in id order) is required for text-classification. ``tag_scheme`` is the
    recipe's (iob1 data is converted to iob2 before scoring, so it scores as iob2)."""
    from bertkit.evaluation.metrics.classification import ClassificationEvaluator
    from bertkit.evaluation.metrics.mlm import MlmEvaluator
    from bertkit.evaluation.metrics.ner import NerEvaluator
    from bertkit.evaluation.metrics.squad import QaEvaluator

    if task == "text-classification":
        if labels is None:
            raise DataError("text-classification evaluation needs the label names (model id2label order)")
        return ClassificationEvaluator(labels, worst_k=worst_k)
    if task == "token-classification":
        scheme = "iob2" if tag_scheme == "iob1" else tag_scheme
        return NerEvaluator(mode=ner_mode, scheme=scheme, worst_k=worst_k)
    if task == "question-answering":
        return QaEvaluator(version_2=version_2, worst_k=worst_k)
    if task in ("masked-lm", "pretraining"):
        return MlmEvaluator(task=task)
    raise InputError(f"no evaluator for task {task!r}", hint=f"Known tasks: {', '.join(TASKS)}.")
