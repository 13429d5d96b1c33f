"""Masked-LM metrics: mean cross-entropy over the masked tokens, perplexity = exp(that mean), and the share of
masked tokens predicted exactly (``accuracy``). The bootstrap resamples whole sequences, not tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bertkit.errors import DataError
from bertkit.evaluation.base import Evaluator
from bertkit.evaluation.stats import FloatRows

if TYPE_CHECKING:
    import numpy as np

    from bertkit.evaluation.bootstrap import MetricFn

IGNORE_INDEX = -100


def mlm_example_stats(logits: Any, labels: Any, *, ignore_index: int = IGNORE_INDEX):
    """Per-sequence (loss sum, masked tokens, correct tokens) from one batch of logits (B, L, V) and labels
    (B, L) where unmasked positions hold ``ignore_index``. Only masked positions are read."""
    import numpy as np

    labels = np.asarray(labels)
    scores = np.asarray(logits)
    if scores.ndim != 3 or labels.shape != scores.shape[:2]:
        raise DataError(f"MLM logits (batch, length, vocab) {scores.shape} do not fit labels {labels.shape}")
    rows, cols = np.nonzero(labels != ignore_index)
    picked = scores[rows, cols].astype(np.float64)  # (masked, V): never the whole batch in float64
    targets = labels[rows, cols]
    top = picked.max(axis=1)
    log_z = top + np.log(np.exp(picked - top[:, None]).sum(axis=1))
    losses = log_z - picked[np.arange(len(targets)), targets]
    correct = picked.argmax(axis=1) == targets
    batch = labels.shape[0]
    loss_sums = np.bincount(rows, weights=losses, minlength=batch)
    n_masked = np.bincount(rows, minlength=batch)
    n_correct = np.bincount(rows, weights=correct.astype(np.float64), minlength=batch)
    return loss_sums, n_masked, n_correct


def mlm_metrics_from_sums(sums: np.ndarray) -> dict[str, np.ndarray]:
    import numpy as np

    loss_sum, n_masked, n_correct = sums[:, 0], sums[:, 1], sums[:, 2]
    safe = np.where(n_masked > 0, n_masked, 1.0)
    loss = np.where(n_masked > 0, loss_sum / safe, 0.0)
    return {
        "loss": loss,
        "perplexity": np.exp(np.minimum(loss, 700.0)),  # exp(700) is still a finite float64
        "accuracy": np.where(n_masked > 0, n_correct / safe, 0.0),
    }


class MlmEvaluator(Evaluator):
    """Feed per-sequence loss sums and masked/correct token counts (``add_batch``) or raw logits
    (``add_logits``, reduced immediately). ``task`` may be ``pretraining`` for BERT pre-training runs."""

    def __init__(self, *, task: str = "masked-lm") -> None:
        super().__init__(worst_k=0)
        self.task = task
        self._rows = FloatRows(("loss_sum", "n_masked", "n_correct"))

    @property
    def n_examples(self) -> int:
        return self._rows.n

    def add_batch(self, loss_sums: Sequence[float], n_masked: Sequence[int], n_correct: Sequence[int]) -> None:
        if not len(loss_sums) == len(n_masked) == len(n_correct):
            raise DataError(
                f"MLM batch lengths differ: {len(loss_sums)} loss sums, {len(n_masked)} masked counts, "
                f"{len(n_correct)} correct counts"
            )
        for loss, masked, correct in zip(loss_sums, n_masked, n_correct, strict=True):
            if masked < 0 or correct < 0 or correct > masked:
                raise DataError(f"invalid MLM counts: {correct} correct of {masked} masked tokens")
            self._rows.add((float(loss), float(masked), float(correct)))

    def add_logits(self, logits: Any, labels: Any, *, ignore_index: int = IGNORE_INDEX) -> None:
        self.add_batch(*mlm_example_stats(logits, labels, ignore_index=ignore_index))

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        return self._rows.arrays()

    def metric_fn(self) -> MetricFn:
        return mlm_metrics_from_sums

    def _extras(self) -> dict[str, Any]:
        rows, _ = self._rows.arrays()
        return {"details": {"n_masked_tokens": int(rows[:, 1].sum())}}
