"""Per-example sufficient statistics: the only per-example state an evaluation keeps.

Every metric bertkit reports is a function of *sums* of small per-example rows (a confusion-matrix cell, an
entity count vector, an EM/F1 pair, a loss sum). Keeping those rows instead of predictions keeps memory flat
and makes the example-level bootstrap exact and cheap: a resample is a vector of multiplicities over rows.

``CountRows`` stores integer rows sparsely and deduplicated (row -> multiplicity): memory grows with the number
of *distinct* rows, not with the number of examples. ``FloatRows`` stores fixed-width float rows compactly
(8 bytes per value) for statistics that rarely repeat (per-question F1, per-sequence loss).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class CountRows:
    """Integer rows over named columns that may appear over time (e.g. one column per entity type)."""

    def __init__(self, columns: Sequence[str] = ()) -> None:
        self._column_index: dict[str, int] = {}
        self._counts: dict[tuple[tuple[int, int], ...], int] = {}
        self.n = 0
        for name in columns:
            self._index(name)

    def _index(self, name: str) -> int:
        index = self._column_index.get(name)
        if index is None:
            index = self._column_index[name] = len(self._column_index)
        return index

    @property
    def columns(self) -> list[str]:
        return list(self._column_index)

    def add(self, values: Mapping[str, int], multiplicity: int = 1) -> None:
        """Add ``multiplicity`` examples whose statistics are ``values`` (zero entries may be left out)."""
        key = tuple(sorted((self._index(name), int(v)) for name, v in values.items() if v))
        self._counts[key] = self._counts.get(key, 0) + multiplicity
        self.n += multiplicity

    def arrays(self, columns: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Distinct rows as a dense float matrix (columns in ``columns`` order) and their multiplicities."""
        import numpy as np

        columns = self.columns if columns is None else list(columns)
        position = {self._column_index[name]: j for j, name in enumerate(columns) if name in self._column_index}
        names = list(self._column_index)
        # Canonical order (by column name, not arrival): the same data gives the same resamples in any order.
        keys = sorted(self._counts, key=lambda key: sorted((str(names[i]), v) for i, v in key))
        rows = np.zeros((len(keys), len(columns)), dtype=np.float64)
        for i, key in enumerate(keys):
            for index, value in key:
                if index in position:
                    rows[i, position[index]] = value
        weights = np.array([self._counts[key] for key in keys], dtype=np.int64)
        return rows, weights


class FloatRows:
    """Fixed-width float rows, stored in a compact array (no per-example Python objects)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._values = array("d")
        self.n = 0

    def add(self, values: Sequence[float]) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} values ({', '.join(self.columns)}), got {len(values)}")
        self._values.extend(float(v) for v in values)
        self.n += 1

    def arrays(self, columns: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        rows = np.frombuffer(self._values, dtype=np.float64).reshape(self.n, len(self.columns))
        rows = rows[np.lexsort(rows.T[::-1])] if self.n else rows.copy()  # canonical order, as in CountRows
        if columns is not None:
            rows = rows[:, [self.columns.index(name) for name in columns]]
        return rows, np.ones(self.n, dtype=np.int64)
