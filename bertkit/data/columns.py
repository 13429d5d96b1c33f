"""Map dataset columns to the task's canonical fields and normalise their values.

text-classification: text, text_pair (optional), label. token-classification: tokens, tags (lists).
question-answering: id, question, context, answers {text: [...], answer_start: [...]}. masked-lm: text.
pretraining: text, document (int id). Labels are encoded separately (``bertkit.data.labels``).
"""

from __future__ import annotations

import difflib
from typing import Any

from bertkit.data.readers import RawTable
from bertkit.errors import DataError
from bertkit.recipes.schema import TASK_FIELDS

# Column names tried, in order, for a field that ``data.columns`` does not map.
ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("text", "sentence", "sentence1", "content", "review"),
    "text_pair": ("text_pair", "sentence2"),
    "label": ("label", "labels", "class", "target"),
    "tokens": ("tokens", "words"),
    "tags": ("tags", "ner_tags", "ner", "tag", "labels"),
    "id": ("id", "qid"),
    "question": ("question",),
    "context": ("context", "passage"),
    "answers": ("answers",),
    "answer_text": ("answer_text", "answer"),
    "answer_start": ("answer_start",),
    "document": ("document", "doc_id", "document_id"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "text-classification": ("text", "label"),
    "token-classification": ("tokens", "tags"),
    "question-answering": ("question", "context"),
    "masked-lm": ("text",),
    "pretraining": ("text",),
}


def map_columns(table: RawTable, task: str, mapping: dict[str, str], split: str) -> list[str]:
    """Keep only the task's fields, renamed to their canonical names (in place). Returns notes.

    Files read by the CoNLL, SQuAD and text readers already name their columns after the fields; a mapping that
    names another column (written for the hub version of the data, e.g. tags: ner_tags) does not apply to them.
    """
    available = list(table.dataset.column_names)
    chosen: dict[str, str] = {}
    notes = []
    for name in TASK_FIELDS[task]:
        if name in mapping and table.canonical and mapping[name] not in available and name in available:
            chosen[name] = name  # CoNLL/SQuAD/text files: the mapping is for the hub columns, the file has the field
            continue
        if name in mapping:
            column = mapping[name]
            if column not in available:
                close = difflib.get_close_matches(column, available, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise DataError(
                    f"data.columns.{name}: no column '{column}' in the {split} split of {table.source} "
                    f"(available: {', '.join(available)}).{hint}"
                )
            chosen[name] = column
            continue
        column = next((c for c in ALIASES.get(name, (name,)) if c in available and c not in chosen.values()), None)
        if column is not None:
            chosen[name] = column
            if column != name:
                notes.append(f"field '{name}' read from column '{column}' (set data.columns.{name} to change)")
    missing = [name for name in REQUIRED[task] if name not in chosen]
    if task == "question-answering" and "answers" not in chosen and not {"answer_text", "answer_start"} <= set(chosen):
        missing.append("answers")
    if missing:
        raise DataError(
            f"the {split} split of {table.source} has no column for {', '.join(missing)} "
            f"(available: {', '.join(available) or 'none'})",
            hint=f"Map the field(s) to a column in the recipe: data.columns: {{{missing[0]}: COLUMN_NAME}}.",
        )
    if len(set(chosen.values())) < len(chosen):
        raise DataError(f"data.columns maps two fields to the same column: {chosen}")
    dataset = table.dataset.select_columns(list(chosen.values()))
    renames = {column: name for name, column in chosen.items() if column != name}
    table.dataset = dataset.rename_columns(renames) if renames else dataset
    return notes


def replace_column(table: RawTable, name: str, values: list[Any], feature: Any = None) -> None:
    dataset = table.dataset
    if name in dataset.column_names:
        dataset = dataset.remove_columns(name)
    table.dataset = dataset.add_column(name, values, feature=feature)


def keep_rows(table: RawTable, keep: list[int]) -> None:
    """Select rows, keeping the file-line index in step."""
    if len(keep) == len(table.dataset):
        return
    table.dataset = table.dataset.select(keep)
    if table.lines is not None:
        table.lines = [table.lines[i] for i in keep]


def normalize(table: RawTable, task: Any, split: str) -> list[str]:
    """Check and normalise field values for ``task`` (the recipe's task section), in place. Returns notes."""
    if task.type == "text-classification":
        for name in ("text", "text_pair"):
            if name in table.dataset.column_names:
                normalize_texts(table, name, split)
        return []
    if task.type == "token-classification":
        return normalize_tokens(table, split)
    if task.type == "question-answering":
        from bertkit.data.qa import normalize_qa

        return normalize_qa(table, split)
    notes = assign_documents(table, split) if task.type == "pretraining" else []
    return notes + drop_blank_texts(table, split)


def normalize_texts(table: RawTable, name: str, split: str) -> None:
    values = list(table.dataset[name])
    changed = False
    for row, value in enumerate(values):
        if value is None:
            raise DataError(f"{split} split, {table.where(row)}: the '{name}' field is empty")
        if not isinstance(value, str):
            values[row], changed = str(value), True
    if changed:
        replace_column(table, name, values)


def normalize_tokens(table: RawTable, split: str) -> list[str]:
    tokens_column = list(table.dataset["tokens"])
    tags_column = list(table.dataset["tags"])
    keep: list[int] = []
    for row, (tokens, tags) in enumerate(zip(tokens_column, tags_column, strict=True)):
        if isinstance(tokens, str):
            tokens_column[row] = tokens = tokens.split()
        if isinstance(tags, str):
            tags_column[row] = tags = tags.split()
        if not isinstance(tokens, list) or not isinstance(tags, list):
            raise DataError(f"{split} split, {table.where(row)}: tokens and tags must be lists (or space-separated)")
        if len(tokens) != len(tags):
            raise DataError(
                f"{split} split, {table.where(row)}: {len(tokens)} tokens but {len(tags)} tags",
                hint="Each token needs exactly one tag.",
            )
        if tokens:
            keep.append(row)
    replace_column(table, "tokens", [[str(t) for t in tokens] for tokens in tokens_column])
    replace_column(table, "tags", tags_column)
    dropped = len(tokens_column) - len(keep)
    keep_rows(table, keep)
    return [f"{split}: {dropped} empty sentence(s) dropped"] if dropped else []


def drop_blank_texts(table: RawTable, split: str) -> list[str]:
    texts = table.dataset["text"]
    keep = [row for row, text in enumerate(texts) if isinstance(text, str) and text.strip()]
    dropped = len(table.dataset) - len(keep)
    keep_rows(table, keep)
    return [f"{split}: {dropped} blank row(s) dropped"] if dropped else []


def assign_documents(table: RawTable, split: str) -> list[str]:
    """Give every row a document id: a ``document`` column as given, else blank rows separate documents,
    else (no blank rows in a table) each row is its own document."""
    texts = list(table.dataset["text"])
    if "document" in table.dataset.column_names and not table.from_text_file:
        numbering: dict[Any, int] = {}
        ids = [numbering.setdefault(value, len(numbering)) for value in table.dataset["document"]]
        replace_column(table, "document", ids)
        return []
    if table.from_text_file:
        return []
    blank = [not (isinstance(t, str) and t.strip()) for t in texts]
    if not any(blank):
        replace_column(table, "document", list(range(len(texts))))
        return [f"{split}: no document column and no blank rows: each row is one document"]
    ids, document = [], 0
    for row, is_blank in enumerate(blank):
        if is_blank and row and not blank[row - 1]:
            document += 1
        ids.append(document)
    replace_column(table, "document", ids)
    return [f"{split}: blank rows separate documents"]
