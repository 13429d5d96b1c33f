"""Single-label classification metrics, all computed from the confusion matrix.

Definitions follow scikit-learn (``zero_division=0``): a class's precision is 0 when it is never predicted,
its recall is 0 when it never occurs, F1 is ``2·tp / (support + predicted)``. Macro and weighted averages run
over the classes that occur in the gold labels *or* the predictions (scikit-learn's default label set);
classes in neither are listed in ``per_class`` with support 0 and left out of the averages. Micro averages
equal accuracy for single-label data. MCC is the multiclass Matthews correlation (0 when undefined).

The confusion matrix is the whole state: the bootstrap resamples its cells, which is exactly resampling
examples, so memory does not grow with the number of examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bertkit.errors import DataError
from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.results import ConfusionMatrix

if TYPE_CHECKING:
    import numpy as np

    from bertkit.evaluation.bootstrap import MetricFn

CLASSIFICATION_METRICS = (
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
    "mcc",
)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64), where=denominator != 0)


def per_class_scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision/recall/F1/support for confusion matrices of shape (..., K, K)."""
    import numpy as np

    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    predicted = cm.sum(axis=-2)
    support = cm.sum(axis=-1)
    return {
        "precision": _divide(tp, predicted),
        "recall": _divide(tp, support),
        "f1": _divide(2.0 * tp, support + predicted),
        "support": support,
        "predicted": predicted,
        "tp": tp,
    }


def confusion_metrics(cm: np.ndarray) -> dict[str, np.ndarray]:
    """All headline metrics for a stack of confusion matrices (k, K, K) -> {name: (k,)}."""
    import numpy as np

    scores = per_class_scores(cm)
    tp, predicted, support = scores["tp"], scores["predicted"], scores["support"]
    n = support.sum(axis=-1)
    present = (support + predicted) > 0
    n_present = np.maximum(present.sum(axis=-1), 1)
    accuracy = _divide(tp.sum(axis=-1), n)
    out = {"accuracy": accuracy}
    for name in ("precision", "recall", "f1"):
        out[f"macro_{name}"] = np.where(present, scores[name], 0.0).sum(axis=-1) / n_present
        out[f"micro_{name}"] = accuracy
        out[f"weighted_{name}"] = _divide((scores[name] * support).sum(axis=-1), n)
    cov_true_pred = tp.sum(axis=-1) * n - (support * predicted).sum(axis=-1)
    cov_pred = n * n - (predicted * predicted).sum(axis=-1)
    cov_true = n * n - (support * support).sum(axis=-1)
    product = cov_pred * cov_true
    out["mcc"] = _divide(cov_true_pred, np.sqrt(np.where(product > 0, product, 0.0)))
    return {name: out[name] for name in CLASSIFICATION_METRICS}


class ClassificationEvaluator(Evaluator):
    """Feed gold and predicted class ids (or names) batch by batch; keeps only the K x K confusion matrix.

    ``add_logits`` reduces a batch of logits to argmax + softmax confidence right away. ``texts`` and ``ids``
    are only kept for the ``worst_k`` most confident wrong predictions (without ``confidences``: the first
    ``worst_k`` errors, with ``confidence`` None). ``ids`` default to the example's position in the feed.
    """

    task = "text-classification"

    def __init__(self, labels: Sequence[str], *, worst_k: int = 10) -> None:
        import numpy as np

        super().__init__(worst_k=worst_k)
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise DataError(f"classification needs at least two distinct labels, got {list(labels)}")
        self.labels = [str(label) for label in labels]
        self._label_id = {label: i for i, label in enumerate(self.labels)}
        self._cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
        self._seen = 0

    @property
    def n_examples(self) -> int:
        return self._seen

    def _ids(self, values: Any, what: str) -> np.ndarray:
        import numpy as np

        values = list(values) if not hasattr(values, "dtype") else values
        if len(values) and isinstance(values[0], str):
            unknown = sorted({v for v in values if v not in self._label_id})
            if unknown:
                raise DataError(f"unknown {what} label(s) {unknown}; known labels: {self.labels}")
            return np.array([self._label_id[v] for v in values], dtype=np.int64)
        ids = np.asarray(values).astype(np.int64).reshape(-1)
        bad = ids[(ids < 0) | (ids >= len(self.labels))]
        if bad.size:
            raise DataError(f"{what} label id {int(bad[0])} is outside 0..{len(self.labels) - 1} ({self.labels})")
        return ids

    def add_batch(
        self,
        gold: Sequence[int] | Sequence[str],
        pred: Sequence[int] | Sequence[str],
        *,
        confidences: Sequence[float] | None = None,
        texts: Sequence[Any] | None = None,
        ids: Sequence[Any] | None = None,
    ) -> None:
        import numpy as np

        gold_ids, pred_ids = self._ids(gold, "gold"), self._ids(pred, "predicted")
        if len(gold_ids) != len(pred_ids):
            raise DataError(f"got {len(gold_ids)} gold labels but {len(pred_ids)} predictions in one batch")
        np.add.at(self._cm, (gold_ids, pred_ids), 1)
        wrong = np.flatnonzero(gold_ids != pred_ids)
        for i in wrong.tolist():
            score = float(confidences[i]) if confidences is not None else 0.0
            if self.worst.would_keep(score):
                entry = {
                    "id": ids[i] if ids is not None else self._seen + i,
                    "text": texts[i] if texts is not None else None,
                    "gold": self.labels[gold_ids[i]],
                    "pred": self.labels[pred_ids[i]],
                    "confidence": score if confidences is not None else None,
                }
                self.worst.offer(score, entry)
        self._seen += len(gold_ids)

    def add_logits(self, logits: Any, gold: Sequence[int], **kwargs: Any) -> None:
        """Reduce logits (batch, K) to predictions and softmax confidences, then ``add_batch``."""
        import numpy as np

        scores = np.asarray(logits, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != len(self.labels):
            raise DataError(f"logits must have shape (batch, {len(self.labels)}), got {tuple(scores.shape)}")
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        self.add_batch(gold, scores.argmax(axis=1), confidences=probabilities.max(axis=1), **kwargs)

    @property
    def confusion(self) -> np.ndarray:
        return self._cm.copy()

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        cells = np.flatnonzero(self._cm)
        rows = np.zeros((len(cells), self._cm.size), dtype=np.float64)
        rows[np.arange(len(cells)), cells] = 1.0
        return rows, self._cm.reshape(-1)[cells]

    def metric_fn(self) -> MetricFn:
        k = len(self.labels)
        return lambda sums: confusion_metrics(sums.reshape(-1, k, k))

    def _extras(self) -> dict[str, Any]:
        scores = per_class_scores(self._cm)
        per_class = {
            label: {
                "precision": float(scores["precision"][i]),
                "recall": float(scores["recall"][i]),
                "f1": float(scores["f1"][i]),
                "support": int(scores["support"][i]),
            }
            for i, label in enumerate(self.labels)
        }
        return {"per_class": per_class, "confusion_matrix": ConfusionMatrix(self.labels, self._cm.tolist())}


def classification_metrics(
    gold: Sequence[int] | Sequence[str], pred: Sequence[int] | Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """One-shot point estimates for in-memory predictions (see ``ClassificationEvaluator`` for streaming)."""
    evaluator = ClassificationEvaluator(labels, worst_k=0)
    evaluator.add_batch(gold, pred)
    return evaluator.metrics()
