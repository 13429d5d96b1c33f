"""Inputs for the inference commands: text arguments, a file (txt, JSONL, JSON, CSV, TSV) or stdin.

Every function returns records (dicts of field name -> string) in input order, or raises ``InputError``
naming the file, the line and what to do.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bertkit.errors import InputError

Record = dict[str, str]
TEXT_SUFFIXES = {".txt", ".text", ""}
STDIN = Path("-")


def decode_utf8(data: bytes, source: str) -> str:
    """Decode UTF-8 (a BOM is dropped); on bad bytes say where they are."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"{source} is not valid UTF-8: byte 0x{data[err.start]:02x} on line {line} cannot be decoded",
            hint="Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt`).",
        ) from None


def read_file_text(path: Path) -> str:
    if not path.exists():
        raise InputError(f"input file not found: {path}", hint="Check the path passed to --input.")
    if path.is_dir():
        raise InputError(f"--input {path} is a folder, not a file")
    return decode_utf8(path.read_bytes(), str(path))


def parse_txt(text: str, fields: Sequence[str], source: str) -> list[Record]:
    if len(fields) > 1:
        raise InputError(
            f"{source}: a plain-text input holds one text per line, but this command needs "
            f"{', '.join(fields)} for each input",
            hint="Use a JSONL, CSV or TSV file with one column per field.",
        )
    return [{fields[0]: line} for line in text.splitlines() if line.strip()]


def pick_value(obj: object, field: str, key: str, where: str, lineno: int) -> str:
    if isinstance(obj, str) and key == field and field in ("text",):
        return obj
    if not isinstance(obj, dict):
        raise InputError(f"{where}:{lineno}: expected a JSON object with key '{key}', got {type(obj).__name__}")
    if key not in obj:
        available = ", ".join(map(str, obj)) or "(none)"
        raise InputError(
            f"{where}:{lineno}: key '{key}' not found; available keys: {available}",
            hint=f"Choose the key holding the {field} with the matching --*column option.",
        )
    value = obj[key]
    if not isinstance(value, str):
        raise InputError(f"{where}:{lineno}: key '{key}' must hold a string, got {type(value).__name__}")
    return value


def parse_jsonl(text: str, columns: Mapping[str, str], source: str) -> list[Record]:
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{source}:{lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
        records.append({f: pick_value(obj, f, k, source, lineno) for f, k in columns.items()})
    return records


def parse_json(text: str, columns: Mapping[str, str], source: str) -> list[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{source}:{err.lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
    if isinstance(data, dict) and "data" in data and isinstance(data["data"], list):
        data = data["data"]
    if not isinstance(data, list):
        raise InputError(f"{source}: expected a JSON array of objects (or use JSON Lines, one object per line)")
    return [{f: pick_value(obj, f, k, source, i) for f, k in columns.items()} for i, obj in enumerate(data, 1)]


def parse_delimited(text: str, columns: Mapping[str, str], source: str, delimiter: str) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = reader.fieldnames or []
    if not header:
        return []
    chosen = dict(columns)
    for field, key in columns.items():
        if key in header:
            continue
        if len(columns) == 1 and len(header) == 1 and key == field:
            chosen[field] = header[0]
            continue
        raise InputError(
            f"{source}: column '{key}' not found; available columns: {', '.join(header)}",
            hint=f"Pick the column holding the {field} with the matching --*column option.",
        )
    records = []
    for lineno, row in enumerate(reader, start=2):
        values = {f: row.get(k) for f, k in chosen.items()}
        missing = [k for f, k in chosen.items() if values[f] is None]
        if missing:
            raise InputError(f"{source}:{lineno}: row has no value for column {', '.join(missing)}")
        records.append({f: str(v) for f, v in values.items()})
    return records


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix == ".csv":
        return "csv"
    if suffix == ".tsv":
        return "tsv"
    if path == STDIN or suffix in TEXT_SUFFIXES:
        first = next((line for line in text.splitlines() if line.strip()), "")
        return "jsonl" if first.lstrip().startswith("{") else "txt"
    raise InputError(
        f"cannot read {path}: unknown file type '{path.suffix}'",
        hint="Use .txt (one text per line), .jsonl, .json, .csv or .tsv.",
    )


def parse_records(text: str, fmt: str, columns: Mapping[str, str], source: str) -> list[Record]:
    if fmt == "txt":
        return parse_txt(text, list(columns), source)
    if fmt == "jsonl":
        return parse_jsonl(text, columns, source)
    if fmt == "json":
        return parse_json(text, columns, source)
    return parse_delimited(text, columns, source, "," if fmt == "csv" else "\t")


def read_records(
    path: Path,
    columns: Mapping[str, str],
    stdin: TextIO | None = None,
) -> list[Record]:
    """Read records from ``path`` (or stdin when ``path`` is ``-``). ``columns`` maps field -> column/key."""
    if path == STDIN:
        stream = stdin or sys.stdin
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        text = decode_utf8(raw, "stdin") if isinstance(raw, bytes) else raw
        source = "stdin"
    else:
        text = read_file_text(path)
        source = str(path)
    return parse_records(text, detect_format(path, text), columns, source)


def stdin_has_data(stdin: TextIO | None = None) -> bool:
    stream = stdin or sys.stdin
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return False


def collect_records(
    args: Sequence[Record],
    path: Path | None,
    columns: Mapping[str, str],
    *,
    stdin: TextIO | None = None,
) -> list[Record]:
    """Inputs from arguments, else ``--input``, else piped stdin. Empty input is an error."""
    if args and path is not None:
        raise InputError("give inputs either as arguments or with --input, not both")
    if args:
        records = list(args)
    elif path is not None:
        records = read_records(path, columns, stdin)
    elif stdin_has_data(stdin):
        records = read_records(STDIN, columns, stdin)
    else:
        records = []
    if not records:
        where = f" in {path}" if path is not None and path != STDIN else ""
        raise InputError(
            f"no input{where}: nothing to process",
            hint="Pass text as an argument, a file with --input FILE, or pipe text on stdin.",
        )
    empty = [i for i, rec in enumerate(records, 1) if any(not v.strip() for v in rec.values())]
    if empty:
        raise InputError(f"input {empty[0]} is empty ({len(empty)} empty input(s) in total)")
    return records
