"""Local data files -> ``RawTable`` (a ``datasets.Dataset`` plus the line each row came from, for messages).

Formats: CSV, TSV (GLUE style: no quoting), JSON (a list of objects, or nested SQuAD), JSON Lines, Parquet,
plain text, CoNLL column files. Every reader raises ``DataError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bertkit.errors import DataError

FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".conll": "conll",
    ".conllu": "conll",
    ".iob": "conll",
    ".bio": "conll",
}
TEXT_TASKS = ("masked-lm", "pretraining")


@dataclass
class RawTable:
    """Rows read from one source. ``lines[i]`` is the file line of row ``i`` (when known)."""

    dataset: Any  # datasets.Dataset
    source: str
    fingerprint: str
    lines: list[int] | None = None
    notes: list[str] = field(default_factory=list)
    from_text_file: bool = False  # plain-text corpus: blank lines were document boundaries
    canonical: bool = False  # read by a CoNLL, SQuAD or text reader: columns already carry the field names

    def where(self, row: int) -> str:
        if self.lines is not None and 0 <= row < len(self.lines):
            return f"{self.source}:{self.lines[row]}"
        return f"{self.source} (row {row + 1})"


def detect_format(path: Path, fmt: str, task: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".txt", ".text"):
        if task == "token-classification":
            return "conll"
        if task in TEXT_TASKS:
            return "text"
        raise DataError(
            f"{path}: a .txt file is read as a text corpus (masked-lm, pretraining) or a CoNLL file "
            f"(token-classification), not as {task} data",
            hint="Use CSV, TSV, JSON Lines or Parquet with one column per field, or set data.format.",
        )
    if suffix in FORMAT_BY_SUFFIX:
        return FORMAT_BY_SUFFIX[suffix]
    raise DataError(
        f"{path}: cannot tell the file format from the extension '{suffix or '(none)'}'",
        hint="Rename the file (.csv, .tsv, .json, .jsonl, .parquet, .txt, .conll) or set data.format.",
    )


def read_bytes(path: Path) -> tuple[bytes, str]:
    if not path.is_file():
        raise DataError(
            f"data file not found: {path}", hint=f"Paths are relative to the working directory ({Path.cwd()})."
        )
    raw = path.read_bytes()
    return raw, hashlib.sha256(raw).hexdigest()


def decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{source}:{line}: not valid UTF-8 (byte 0x{raw[err.start]:02x})",
            hint="Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in > out`).",
        ) from None


def read_local(path: Path, fmt: str, task: str, conll_options: Any = None) -> RawTable:
    """Read one local file in ``fmt`` (or detected from the extension)."""
    fmt = detect_format(path, fmt, task)
    if fmt == "parquet":
        return read_parquet(path)
    raw, digest = read_bytes(path)
    text = decode(raw, str(path))
    source = str(path)
    if fmt in ("csv", "tsv"):
        return read_delimited(text, source, digest, delimiter="\t" if fmt == "tsv" else ",")
    if fmt == "jsonl":
        return read_jsonl(text, source, digest)
    if fmt in ("json", "squad"):
        return read_json(text, source, digest, force_squad=fmt == "squad")
    if fmt == "text":
        return read_text_corpus(text, source, digest)
    from bertkit.data.conll import read_conll

    return read_conll(text, source, digest, conll_options)


def read_delimited(text: str, source: str, digest: str, delimiter: str) -> RawTable:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header is None:
                header = [name.strip() for name in row]
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{source}:{reader.line_num}: expected {len(header)} fields ({', '.join(header)}), "
                    f"found {len(row)}",
                    hint="The first line is the header; every row needs one value per header column.",
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError(f"{source}:{reader.line_num}: cannot parse the file: {err}") from None
    if header is None:
        raise DataError(f"{source}: the file is empty (expected a header line with the column names)")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    return RawTable(dataset_from_columns(columns, source), source, digest, lines)


def read_jsonl(text: str, source: str, digest: str) -> RawTable:
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{source}:{number}:{err.colno}: invalid JSON: {err.msg}") from None
        if not isinstance(record, dict):
            raise DataError(f"{source}:{number}: expected a JSON object per line, got {type(record).__name__}")
        records.append(record)
        lines.append(number)
    return RawTable(dataset_from_records(records, source, lines), source, digest, lines)


def read_json(text: str, source: str, digest: str, force_squad: bool = False) -> RawTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{source}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    from bertkit.data.squad import flatten_squad, looks_like_squad

    if force_squad or looks_like_squad(data):
        columns, notes = flatten_squad(data, source)
        return RawTable(dataset_from_columns(columns, source), source, digest, notes=notes, canonical=True)
    records = data.get("data") if isinstance(data, dict) and isinstance(data.get("data"), list) else data
    if not isinstance(records, list):
        raise DataError(
            f'{source}: expected a JSON list of objects (or {{"data": [...]}} or SQuAD JSON), '
            f"got {type(data).__name__}",
            hint="Use JSON Lines (.jsonl) for one object per line.",
        )
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"{source}: item {index} is {type(record).__name__}, expected an object")
    return RawTable(dataset_from_records(records, source, None), source, digest)


def read_parquet(path: Path) -> RawTable:
    import datasets
    import pyarrow.parquet as pq

    _, digest = read_bytes(path)
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: cannot read Parquet: {err}") from None
    return RawTable(datasets.Dataset(table), str(path), digest)


def read_text_corpus(text: str, source: str, digest: str) -> RawTable:
    """One row per non-blank line; blank lines separate documents (the original BERT corpus format)."""
    texts: list[str] = []
    documents: list[int] = []
    lines: list[int] = []
    document, in_document = 0, False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if in_document:
                document, in_document = document + 1, False
            continue
        texts.append(line.strip())
        documents.append(document)
        lines.append(number)
        in_document = True
    columns = {"text": texts, "document": documents}
    return RawTable(dataset_from_columns(columns, source), source, digest, lines, from_text_file=True, canonical=True)


def dataset_from_records(records: list[dict[str, Any]], source: str, lines: list[int] | None) -> Any:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {name: [record.get(name) for record in records] for name in names}
    return dataset_from_columns(columns, source, lines)


def dataset_from_columns(columns: dict[str, list[Any]], source: str, lines: list[int] | None = None) -> Any:
    """Build a Dataset; a column mixing types (1 and "a") is named with the first row that differs."""
    import datasets
    import pyarrow as pa

    try:
        return datasets.Dataset.from_dict(columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as err:
        for name, values in columns.items():
            try:
                pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                raise DataError(mixed_type_message(name, values, source, lines)) from None
        raise DataError(f"{source}: cannot store the rows: {err}") from None


def mixed_type_message(name: str, values: list[Any], source: str, lines: list[int] | None) -> str:
    first = next((v for v in values if v is not None), None)
    for row, value in enumerate(values):
        if value is not None and type(value) is not type(first):
            where = f"{source}:{lines[row]}" if lines else f"{source} (row {row + 1})"
            return (
                f"{where}: column '{name}' holds {type(value).__name__} {value!r} here but "
                f"{type(first).__name__} in earlier rows; use one type per column"
            )
    return f"{source}: column '{name}' holds values of mixed types; use one type per column"
