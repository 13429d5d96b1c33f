"""Percentile bootstrap over examples, computed from per-example sufficient statistics.

Resampling n examples with replacement is the same as drawing multiplicities ``w ~ Multinomial(n, counts/n)``
over the distinct statistic rows; the resampled metric is ``metric_fn(w @ rows)``. The point estimate uses the
same ``metric_fn`` on the plain sums, so intervals and estimates can never disagree on a definition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bertkit.errors import DataError
from bertkit.evaluation.results import BootstrapSettings, ConfidenceInterval

if TYPE_CHECKING:
    import numpy as np

    # Summed statistics of shape (k, d) -> one array of shape (k,) per metric name.
    MetricFn = Callable[[np.ndarray], dict[str, np.ndarray]]

_MAX_CELLS = 4_000_000  # bound on the multiplicity matrix held at once (32 MB of int64)


def point_estimates(rows: np.ndarray, weights: np.ndarray, metric_fn: MetricFn) -> dict[str, float]:
    """Metrics on the whole split: ``metric_fn`` applied to the weighted column sums."""
    sums = (weights.astype(rows.dtype) @ rows)[None, :]
    return {name: float(values[0]) for name, values in metric_fn(sums).items()}


def bootstrap_samples(
    rows: np.ndarray, weights: np.ndarray, metric_fn: MetricFn, settings: BootstrapSettings
) -> dict[str, np.ndarray]:
    """The metric values of ``settings.n_resamples`` example-level resamples (seeded, reproducible)."""
    import numpy as np

    n = int(weights.sum())
    if n == 0:
        raise DataError("cannot bootstrap an empty split: no examples were evaluated")
    probabilities = weights / n
    rng = np.random.default_rng(settings.seed)
    per_draw = max(len(weights), rows.shape[1], 1)
    chunk = max(1, min(settings.n_resamples, _MAX_CELLS // per_draw))
    collected: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < settings.n_resamples:
        size = min(chunk, settings.n_resamples - done)
        multiplicities = rng.multinomial(n, probabilities, size=size)
        for name, values in metric_fn(multiplicities.astype(np.float64) @ rows).items():
            collected.setdefault(name, []).append(np.asarray(values, dtype=np.float64))
        done += size
    return {name: np.concatenate(parts) for name, parts in collected.items()}


def percentile_interval(samples: np.ndarray, confidence: float) -> ConfidenceInterval:
    import numpy as np

    alpha = 1.0 - confidence
    low, high = np.percentile(samples, [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
    return ConfidenceInterval(float(low), float(high))


def bootstrap_intervals(
    rows: np.ndarray, weights: np.ndarray, metric_fn: MetricFn, settings: BootstrapSettings
) -> dict[str, ConfidenceInterval]:
    """Percentile confidence intervals for every metric ``metric_fn`` returns."""
    samples = bootstrap_samples(rows, weights, metric_fn, settings)
    return {name: percentile_interval(values, settings.confidence) for name, values in samples.items()}
