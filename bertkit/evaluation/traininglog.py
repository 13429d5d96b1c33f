"""Training logs (JSON Lines) for the report's curves.

One JSON object per line. Recognised fields: ``step`` (x axis; ``epoch`` is used when no record has a step),
``epoch``, ``loss`` (training loss), ``learning_rate``, and evaluation results either flat (``eval_loss``,
``eval_f1``, ...) or nested (``{"eval": {"loss": ..., "f1": ...}}``). Other fields are kept in the report but
not plotted. Records without the x field or with non-numeric values are skipped for the plots.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from bertkit.errors import DataError

Curve = list[tuple[float, float]]


def load_training_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSONL training log; a bad line is a ``DataError`` naming ``file:line``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read training log {path}: {exc.strerror or exc}") from None
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{number}:{exc.colno}: not valid JSON ({exc.msg})",
                hint="The training log must hold one JSON object per line (JSON Lines).",
            ) from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in record.items() if not isinstance(v, dict)}
    for key in ("eval", "eval_metrics"):
        nested = record.get(key)
        if isinstance(nested, dict):
            flat.update({f"eval_{k}": v for k, v in nested.items() if not isinstance(v, dict)})
    return flat


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def training_curves(records: list[dict[str, Any]]) -> tuple[str, dict[str, Curve]]:
    """The x axis name (``step`` or ``epoch``) and one curve per numeric field, in first-seen order."""
    flat = [_flatten(r) for r in records]
    x_name = "step" if any(_number(r.get("step")) is not None for r in flat) else "epoch"
    curves: dict[str, Curve] = {}
    for record in flat:
        x = _number(record.get(x_name))
        if x is None:
            continue
        for key, value in record.items():
            y = _number(value)
            if key in ("step", "epoch") or y is None:
                continue
            curves.setdefault(key, []).append((x, y))
    return x_name, curves


def group_curves(curves: dict[str, Curve]) -> dict[str, dict[str, Curve]]:
    """Split curves into charts: losses, learning rate, evaluation metrics in [0, 1], and one chart per other
    evaluation value (e.g. perplexity). Throughput/runtime fields and unknown fields are not plotted."""
    groups: dict[str, dict[str, Curve]] = {"loss": {}, "learning rate": {}, "evaluation metrics": {}}
    for key, curve in curves.items():
        if key in ("loss", "train_loss", "eval_loss"):
            groups["loss"][key] = curve
        elif key in ("learning_rate", "lr"):
            groups["learning rate"][key] = curve
        elif key.startswith("eval_") and not key.endswith(("_runtime", "_per_second", "_samples", "_steps")):
            in_unit_range = all(0.0 <= y <= 1.0 for _, y in curve)
            groups.setdefault("evaluation metrics" if in_unit_range else key, {})[key] = curve
    return {name: group for name, group in groups.items() if group}
