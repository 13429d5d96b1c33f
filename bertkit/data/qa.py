"""Question-answering rows: ids, and answers as ``{"text": [...], "answer_start": [...]}`` from any input shape."""

from __future__ import annotations

from typing import Any

from bertkit.data.columns import replace_column
from bertkit.data.readers import RawTable
from bertkit.data.squad import check_alignment
from bertkit.errors import DataError


def normalize_qa(table: RawTable, split: str) -> list[str]:
    """Fill ``id`` (``split-row`` when absent), build ``answers`` from flat columns, check they fit the context."""
    dataset = table.dataset
    columns = dataset.column_names
    ids = [str(v) for v in dataset["id"]] if "id" in columns else [f"{split}-{row}" for row in range(len(dataset))]
    if "answers" in columns:
        answers = [answers_from_nested(value, table, split, row) for row, value in enumerate(dataset["answers"])]
    else:
        answers = [
            answers_from_flat(text, start, table, split, row)
            for row, (text, start) in enumerate(zip(dataset["answer_text"], dataset["answer_start"], strict=True))
        ]
    for name in ("question", "context"):
        values = dataset[name]
        for row, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{split} split, {table.where(row)}: the '{name}' is empty")
    notes = check_alignment(list(dataset["context"]), answers, split, table.where)
    import datasets

    table.dataset = dataset.remove_columns([c for c in ("answer_text", "answer_start") if c in columns])
    replace_column(table, "id", ids, datasets.Value("string"))
    answer_feature = {
        "text": datasets.List(datasets.Value("string")),
        "answer_start": datasets.List(datasets.Value("int64")),
    }
    replace_column(table, "answers", answers, answer_feature)
    return notes


def answers_from_nested(value: Any, table: RawTable, split: str, row: int) -> dict[str, list[Any]]:
    """``{"text": [...], "answer_start": [...]}``, ``{"text": "x", "answer_start": 3}`` or a list of such dicts."""
    if value is None:
        return {"text": [], "answer_start": []}
    if isinstance(value, list):
        pairs = [(item.get("text"), item.get("answer_start")) for item in value if isinstance(item, dict)]
        if len(pairs) != len(value):
            raise DataError(f"{split} split, {table.where(row)}: answers must be objects with text and answer_start")
        texts, starts = [p[0] for p in pairs], [p[1] for p in pairs]
    elif isinstance(value, dict):
        texts, starts = as_list(value.get("text")), as_list(value.get("answer_start"))
    else:
        raise DataError(
            f"{split} split, {table.where(row)}: answers should be {{text: [...], answer_start: [...]}}, "
            f"got {type(value).__name__}"
        )
    return checked_answers(texts, starts, table, split, row)


def answers_from_flat(text: Any, start: Any, table: RawTable, split: str, row: int) -> dict[str, list[Any]]:
    texts = [] if text in (None, "") else as_list(text)
    starts = [] if start in (None, "") else as_list(start)
    return checked_answers(texts, starts, table, split, row)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def checked_answers(texts: list[Any], starts: list[Any], table: RawTable, split: str, row: int) -> dict[str, list]:
    if len(texts) != len(starts):
        raise DataError(f"{split} split, {table.where(row)}: {len(texts)} answer texts but {len(starts)} answer_start")
    clean_starts = []
    for start in starts:
        try:
            clean_starts.append(int(start))
        except (TypeError, ValueError):
            raise DataError(
                f"{split} split, {table.where(row)}: answer_start {start!r} is not a character offset (an integer)"
            ) from None
    return {"text": [str(t) for t in texts], "answer_start": clean_starts}
