"""The label-map check between a model (its ``id2label``) and evaluation data: mismatches are errors.

Scoring a model against data whose labels it does not know silently produces garbage (the label ids mean
different things), so a data label that is not a model label is an error unless the caller maps it
explicitly. Model labels missing from the data are fine (a small dev set may lack a rare class).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bertkit.errors import DataError

_GENERIC = re.compile(r"^LABEL_\d+$")


def _suggestion(unmatched_data: list[str], spare_model: list[str]) -> str:
    pairs = list(zip(unmatched_data, spare_model, strict=False))[:4]
    body = ", ".join(f"{d!r}: {m!r}" for d, m in pairs)
    more = ", ..." if len(unmatched_data) > len(pairs) else ""
    return "{" + body + more + "}"


def align_labels(
    model_labels: Sequence[str],
    data_labels: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    *,
    how_to_map: str = "pass an explicit mapping {data label: model label}",
) -> dict[str, int]:
    """Return ``{data label: model label id}``.

    ``model_labels`` is the model's ``id2label`` in id order. Without ``mapping``, every data label must be a
    model label. With ``mapping``, its keys must be data labels and its values model labels; data labels it
    does not mention must match a model label by name. Anything else raises ``DataError`` listing both label
    lists and how to map them (``how_to_map`` lets the CLI name its own option).
    """
    model = [str(label) for label in model_labels]
    data = list(dict.fromkeys(str(label) for label in data_labels))
    model_id = {label: i for i, label in enumerate(model)}
    mapping = {str(k): str(v) for k, v in (mapping or {}).items()}
    listing = f"model labels (id2label): {model}\ndata labels: {data}"

    unknown_keys = sorted(set(mapping) - set(data))
    unknown_values = sorted({v for v in mapping.values() if v not in model_id})
    if unknown_keys or unknown_values:
        problems = []
        if unknown_keys:
            problems.append(f"not data labels: {unknown_keys}")
        if unknown_values:
            problems.append(f"not model labels: {unknown_values}")
        raise DataError(
            f"the label mapping does not fit ({'; '.join(problems)})\n{listing}",
            hint="Map each data label (left) to one of the model labels (right).",
        )

    resolved = {label: mapping.get(label, label) for label in data}
    unmatched = [label for label, target in resolved.items() if target not in model_id]
    if unmatched:
        spare = [label for label in model if label not in set(resolved.values())]
        generic = all(_GENERIC.match(label) for label in model)
        why = " (the model was saved without label names)" if generic else ""
        raise DataError(
            f"the data has labels the model does not know{why}: {unmatched}\n{listing}",
            hint=f"If they mean the same classes, {how_to_map}, e.g. {_suggestion(unmatched, spare)} "
            "(pairs shown by position: check them).",
        )
    return {label: model_id[target] for label, target in resolved.items()}
