"""The label stage of ``load_splits``: one class list for all splits, labels and tags encoded to ids.

Classification labels become ``ClassLabel`` ids (a list of them for multi_label, a float for regression); NER tags
become a list of ``ClassLabel`` ids. The features carry the names, so ids never have to be guessed. IOB1 tags are
converted to IOB2 first.
"""

from __future__ import annotations

from typing import Any

from bertkit.data.columns import replace_column
from bertkit.data.labels import (
    LabelEncoder,
    as_label_list,
    class_label_names,
    count_iob2_violations,
    derive_label_names,
    encode_labels,
    encode_multi_labels,
    encode_tags,
    iob1_to_iob2,
    label_name,
)
from bertkit.data.readers import RawTable
from bertkit.errors import DataError


def apply_labels(tables: dict[str, RawTable], task: Any) -> tuple[list[str] | None, list[str]]:
    """Encode the label field of every table in place. Returns the class list and notes."""
    if task.type == "text-classification":
        if task.problem_type == "regression":
            for split, table in tables.items():
                encode_regression(table, split)
            return None, []
        return encode_classes(tables, task)
    if task.type == "token-classification":
        return encode_ner_tags(tables, task)
    return None, []


def first_class_names(tables: dict[str, RawTable], field: str) -> list[str] | None:
    for table in tables.values():
        names = class_label_names(table.dataset.features.get(field))
        if names:
            return names
    return None


def origin_note(task_labels: Any, class_names: Any, names: list[str], field: str) -> str:
    if task_labels:
        origin = "task.labels"
    elif class_names:
        origin = "the dataset's ClassLabel names"
    else:
        origin = "the values found in the data (sorted)"
    return f"{field}: {len(names)} classes from {origin}: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}"


def encode_classes(tables: dict[str, RawTable], task: Any) -> tuple[list[str], list[str]]:
    import datasets

    multi = task.problem_type == "multi_label"
    class_names = first_class_names(tables, "label")
    seen: list[str] = []
    if not task.labels and not class_names:
        for table in tables.values():
            for value in table.dataset["label"]:
                values = as_label_list(value) if multi else [value]
                seen += [label_name(v, None) for v in values if v is not None and str(v).strip()]
    names = derive_label_names(seen, recipe_labels=task.labels, class_names=class_names, tags=False)
    encoder = LabelEncoder(names, positional=bool(task.labels))
    for split, table in tables.items():
        own_names = class_label_names(table.dataset.features.get("label"))
        values = list(table.dataset["label"])
        if multi:
            ids: list[Any] = encode_multi_labels(values, encoder, own_names, split, table.where)
            replace_column(table, "label", ids, datasets.List(datasets.ClassLabel(names=names)))
        else:
            ids = encode_labels(values, encoder, own_names, split, table.where)
            replace_column(table, "label", ids, datasets.ClassLabel(names=names))
    return names, [origin_note(task.labels, class_names, names, "labels")]


def encode_regression(table: RawTable, split: str) -> None:
    import datasets

    values = []
    for row, value in enumerate(table.dataset["label"]):
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            raise DataError(
                f"{split} split, {table.where(row)}: label {value!r} is not a number (task.problem_type is regression)"
            ) from None
    replace_column(table, "label", values, datasets.Value("float32"))


def encode_ner_tags(tables: dict[str, RawTable], task: Any) -> tuple[list[str], list[str]]:
    import datasets

    class_names = first_class_names(tables, "tags")
    notes = []
    named: dict[str, list[list[str]]] = {}
    for split, table in tables.items():
        own_names = class_label_names(table.dataset.features.get("tags"))
        named[split] = [[label_name(tag, own_names) for tag in tags] for tags in table.dataset["tags"]]
    if task.tag_scheme == "iob1":
        named = {split: [iob1_to_iob2(tags) for tags in sequences] for split, sequences in named.items()}
        notes.append("tags: converted from IOB1 to IOB2")
        converted = {tag for sequences in named.values() for tags in sequences for tag in tags}
        if class_names and not converted <= set(class_names):
            class_names = None  # the IOB1 class list lacks some B- tags: use the converted tags instead
    elif task.tag_scheme == "iob2":
        violations = sum(count_iob2_violations(sequences) for sequences in named.values())
        if violations:
            notes.append(
                f"tags: {violations} entities start with I- (IOB1 style); if the data is IOB1, "
                "set task.tag_scheme: iob1"
            )
    seen = [tag for sequences in named.values() for tags in sequences for tag in tags]
    names = derive_label_names(seen, recipe_labels=task.labels, class_names=class_names, tags=True)
    encoder = LabelEncoder(names, positional=False, field="tag")
    for split, table in tables.items():
        ids = encode_tags(named[split], encoder, None, split, table.where)
        replace_column(table, "tags", ids, datasets.List(datasets.ClassLabel(names=names)))
    return names, [origin_note(task.labels, class_names, names, "tags"), *notes]
