"""Class lists and label encoding: ClassLabel names, else the recipe's labels, else the sorted distinct values.

Encoding errors name the split, the row (file:line where known) and the label list, for classes and NER tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bertkit.errors import DataError

Where = Callable[[int], str]
TAG_PREFIX = re.compile(r"^([BIESLU])[-_](.+)$")
PREFIX_ORDER = {"B": 0, "I": 1, "E": 2, "L": 2, "S": 3, "U": 3}


def class_label_names(feature: Any) -> list[str] | None:
    """Names of a ``ClassLabel`` feature, or of the ``ClassLabel`` inside a list/sequence feature."""
    inner = getattr(feature, "feature", None)
    for candidate in (feature, inner):
        names = getattr(candidate, "names", None)
        if candidate is not None and type(candidate).__name__ == "ClassLabel" and names:
            return list(names)
    return None


def label_name(value: Any, class_names: Sequence[str] | None) -> str:
    """One raw label as a name: a ClassLabel id -> its name, 1.0 -> '1', anything else -> str."""
    if isinstance(value, bool):
        return str(value).lower()
    if class_names is not None and isinstance(value, int) and 0 <= value < len(class_names):
        return class_names[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def sorted_labels(names: Iterable[str]) -> list[str]:
    """Distinct labels in a stable order: numerically when all are integers, else alphabetically."""
    distinct = set(names)
    if distinct and all(re.fullmatch(r"-?\d+", n) for n in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def sorted_tags(names: Iterable[str]) -> list[str]:
    """NER tags: O first, then by entity type, B before I (before E, S)."""

    def key(tag: str) -> tuple[int, str, int, str]:
        if tag == "O":
            return (0, "", 0, tag)
        match = TAG_PREFIX.match(tag)
        if match:
            return (1, match.group(2), PREFIX_ORDER[match.group(1)], tag)
        return (2, tag, 0, tag)

    return sorted(set(names), key=key)


def derive_label_names(
    values: Iterable[str], *, recipe_labels: Sequence[str] | None, class_names: Sequence[str] | None, tags: bool
) -> list[str]:
    """The class list: the recipe's labels, else the ClassLabel names, else the sorted distinct ``values``."""
    if recipe_labels:
        return list(recipe_labels)
    if class_names:
        return list(class_names)
    return sorted_tags(values) if tags else sorted_labels(values)


class LabelEncoder:
    """Names (or raw values) -> ids for one class list. With ``positional``, integer values that are not class
    names are read as positions in the list (recipe labels over 0/1 data)."""

    def __init__(self, names: Sequence[str], *, positional: bool = False, field: str = "label") -> None:
        if len(set(names)) != len(names):
            duplicates = sorted({n for n in names if list(names).count(n) > 1})
            raise DataError(f"the label list has duplicates: {', '.join(duplicates)}", hint="Fix task.labels.")
        self.names = list(names)
        self.ids = {name: index for index, name in enumerate(self.names)}
        self.positional = positional
        self.field = field

    def encode(self, value: Any, class_names: Sequence[str] | None, split: str, where: str) -> int:
        if class_names is not None and value == -1:
            raise DataError(
                f"{split} split, {where}: {self.field} is -1 (no label): this split looks unlabeled",
                hint="Evaluate on a labeled split (data.validation_split / data.test_split).",
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DataError(f"{split} split, {where}: the {self.field} is empty", hint="Every example needs a label.")
        name = label_name(value, class_names)
        if name in self.ids:
            return self.ids[name]
        if self.positional and re.fullmatch(r"\d+", name) and int(name) < len(self.names):
            return int(name)
        raise DataError(
            f"{split} split, {where}: {self.field} '{name}' is not one of the {len(self.names)} labels "
            f"({shown(self.names)})",
            hint="Add it to task.labels, or fix the data. Without task.labels the labels are those of the "
            "training data.",
        )


def shown(names: Sequence[str], limit: int = 20) -> str:
    text = ", ".join(names[:limit])
    return text + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def encode_labels(
    values: Sequence[Any], encoder: LabelEncoder, class_names: Sequence[str] | None, split: str, where: Where
) -> list[int]:
    return [encoder.encode(value, class_names, split, where(row)) for row, value in enumerate(values)]


def encode_multi_labels(
    values: Sequence[Any], encoder: LabelEncoder, class_names: Sequence[str] | None, split: str, where: Where
) -> list[list[int]]:
    return [
        sorted({encoder.encode(v, class_names, split, where(row)) for v in as_label_list(value)})
        for row, value in enumerate(values)
    ]


def as_label_list(value: Any) -> list[Any]:
    """A multi-label value: a list, or a string of comma/semicolon-separated labels."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,;|]", value) if part.strip()]
    return [] if value is None else [value]


def encode_tags(
    sequences: Sequence[Sequence[Any]],
    encoder: LabelEncoder,
    class_names: Sequence[str] | None,
    split: str,
    where: Where,
) -> list[list[int]]:
    return [[encoder.encode(tag, class_names, split, where(row)) for tag in tags] for row, tags in enumerate(sequences)]


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 (I- starts an entity unless it follows the same type) -> IOB2 (every entity starts with B-)."""
    result: list[str] = []
    previous = "O"
    for tag in tags:
        match = TAG_PREFIX.match(tag)
        if match and match.group(1) == "I":
            prev = TAG_PREFIX.match(previous)
            if prev is None or prev.group(2) != match.group(2):
                tag = f"B-{match.group(2)}"
        result.append(tag)
        previous = tag
    return result


def count_iob2_violations(sequences: Iterable[Sequence[str]]) -> int:
    """Entities that start with I- (allowed in IOB1, invalid in IOB2)."""
    count = 0
    for tags in sequences:
        count += sum(
            1 for before, after in zip(["O", *tags], tags, strict=False) if iob1_to_iob2([before, after])[1] != after
        )
    return count
