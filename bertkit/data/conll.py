"""CoNLL column files: one token per line, a blank line after each sentence, ``-DOCSTART-`` lines dropped."""

from __future__ import annotations

from typing import Any

from bertkit.errors import DataError


def read_conll(text: str, source: str, digest: str, options: Any = None) -> Any:
    """Read ``tokens`` and ``tags`` columns; ``options`` is the recipe's ``data.conll`` (token/tag column, separator).

    All token lines must have the same number of columns as the first one; a line that does not is an error
    naming its file and line.
    """
    from bertkit.data.readers import RawTable, dataset_from_columns

    token_column = getattr(options, "token_column", 0)
    tag_column = getattr(options, "tag_column", -1)
    separator = getattr(options, "separator", None)
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    lines: list[int] = []
    sentence: list[tuple[str, str]] = []
    start = 0
    width: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split(separator) if separator else line.split()
        if separator:
            fields = [f.strip() for f in fields]
        if not line.strip() or fields[0] == "-DOCSTART-":
            if sentence:
                tokens.append([token for token, _ in sentence])
                tags.append([tag for _, tag in sentence])
                lines.append(start)
                sentence = []
            continue
        if width is None:
            width = len(fields)
            check_columns(width, token_column, tag_column, source, number)
        if len(fields) != width:
            raise DataError(
                f"{source}:{number}: expected {width} columns (as on the first token line), found {len(fields)}: "
                f"{line.strip()[:80]!r}",
                hint="Each token line holds the same columns, separated by whitespace (see data.conll.separator); "
                "a blank line ends a sentence.",
            )
        if not sentence:
            start = number
        sentence.append((fields[token_column], fields[tag_column]))
    if sentence:
        tokens.append([token for token, _ in sentence])
        tags.append([tag for _, tag in sentence])
        lines.append(start)
    dataset = dataset_from_columns({"tokens": tokens, "tags": tags}, source)
    return RawTable(dataset, source, digest, lines, canonical=True)


def check_columns(width: int, token_column: int, tag_column: int, source: str, line: int) -> None:
    if width < 2:
        raise DataError(
            f"{source}:{line}: a CoNLL token line needs at least 2 columns (token and tag), found {width}",
            hint="Is this a CoNLL file? Set data.conll.separator if the columns are not separated by whitespace.",
        )
    for key, column in (("token_column", token_column), ("tag_column", tag_column)):
        if not -width <= column < width:
            raise DataError(
                f"{source}:{line}: data.conll.{key} is {column}, but the lines have {width} columns",
                hint=f"Use a column between 0 and {width - 1} (or -1 for the last).",
            )
