"""The shape every evaluator shares: feed predictions batch by batch, then ask for metrics or a ``SplitResult``.

An evaluator keeps only per-example sufficient statistics (see ``stats``) and the ``worst_k`` most confident
errors, never logits or the full prediction list, so memory stays flat on large evaluation sets.
"""

from __future__ import annotations

import heapq
import itertools
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from bertkit.errors import DataError
from bertkit.evaluation.bootstrap import bootstrap_intervals, point_estimates
from bertkit.evaluation.results import BootstrapSettings, SplitResult, TruncationStats

if TYPE_CHECKING:
    import numpy as np

    from bertkit.evaluation.bootstrap import MetricFn

DEFAULT_BOOTSTRAP = BootstrapSettings()


class WorstErrors:
    """The ``k`` highest-scoring errors seen so far (a bounded min-heap). Ties keep the earlier example."""

    def __init__(self, k: int) -> None:
        self.k = max(0, int(k))
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._counter = itertools.count()

    def would_keep(self, score: float) -> bool:
        return self.k > 0 and (len(self._heap) < self.k or score > self._heap[0][0])

    def offer(self, score: float, entry: dict[str, Any]) -> None:
        if not self.would_keep(score):
            return
        item = (float(score), -next(self._counter), entry)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, item)
        else:
            heapq.heapreplace(self._heap, item)

    def items(self) -> list[dict[str, Any]]:
        return [entry for _, _, entry in sorted(self._heap, key=lambda item: (-item[0], -item[1]))]


class Evaluator(ABC):
    """Base class: subclasses define the statistics rows, the metric function and the task-specific parts."""

    task: str = ""

    def __init__(self, *, worst_k: int = 10) -> None:
        self.worst = WorstErrors(worst_k)

    @property
    @abstractmethod
    def n_examples(self) -> int: ...

    @abstractmethod
    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct per-example statistic rows and their multiplicities."""

    @abstractmethod
    def metric_fn(self) -> MetricFn:
        """Summed statistics (k, d) -> {metric name: values (k,)}."""

    def _plain_metrics(self) -> dict[str, float]:
        """Metrics reported without a confidence interval (not functions of the bootstrap statistics)."""
        return {}

    def _extras(self) -> dict[str, Any]:
        """Task-specific fields of the ``SplitResult`` (per_class, confusion_matrix, details, ...)."""
        return {}

    def _require_examples(self) -> None:
        if self.n_examples == 0:
            raise DataError(
                f"no examples were evaluated for {self.task}: the split is empty",
                hint="Check the split name and the data file; an empty split cannot be scored.",
            )

    def metrics(self) -> dict[str, float]:
        """Point estimates only (cheap): what a training loop needs after each evaluation."""
        self._require_examples()
        rows, weights = self.statistics()
        return {**point_estimates(rows, weights, self.metric_fn()), **self._plain_metrics()}

    def result(
        self,
        *,
        bootstrap: BootstrapSettings | None = DEFAULT_BOOTSTRAP,
        truncation: TruncationStats | dict[str, Any] | None = None,
    ) -> SplitResult:
        """The full result of the split: metrics, confidence intervals (unless ``bootstrap`` is None), tables."""
        self._require_examples()
        rows, weights = self.statistics()
        metric_fn = self.metric_fn()
        metrics = {**point_estimates(rows, weights, metric_fn), **self._plain_metrics()}
        intervals = bootstrap_intervals(rows, weights, metric_fn, bootstrap) if bootstrap else {}
        split = SplitResult(
            task=self.task,
            n_examples=self.n_examples,
            metrics=metrics,
            confidence_intervals=intervals,
            bootstrap=bootstrap,
            worst_errors=self.worst.items(),
            **self._extras(),
        )
        return split.with_truncation(truncation) if truncation is not None else split
