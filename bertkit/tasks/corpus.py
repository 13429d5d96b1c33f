"""Text corpora as model inputs: sentence splitting, tokenization into flat token arrays, line-by-line examples
and packed blocks.

Token sequences are held as a flat numpy array plus row offsets (a ragged array), so corpora of hundreds of
millions of tokens are cut and packed with vectorised numpy work instead of Python lists. Word ids (for
whole-word masking) travel beside the tokens, numbered so that a word id is unique within a row or stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bertkit.errors import DataError, ModelLoadError
from bertkit.tasks.masking import NO_WORD

# A run of sentence-final punctuation, optional closing quotes/brackets, then whitespace before the next text.
BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+(?=\S)")
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e cf al fig figs no nos vol vols pp inc ltd co corp dept est approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft gen col lt sgt capt rev gov sen rep u.s u.k".split()
)


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences at ., ! or ? followed by space, keeping abbreviations ("Dr.", "e.g."),
    initials ("J. Smith") and, in cased text, a lowercase continuation ("approx. five") inside the sentence."""
    text = text.strip()
    if not text:
        return []
    cased = text != text.lower()
    sentences, start = [], 0
    for match in BOUNDARY.finditer(text):
        before = text[start : match.start()].split()
        word = before[-1].lower().rstrip(".") if before else ""
        following = text[match.end()]
        if match.group().startswith(".") and (word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            continue
        if cased and following.islower():
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


@dataclass
class Ragged:
    """Rows of tokens as one flat array: row ``i`` is ``values[offsets[i]:offsets[i + 1]]``."""

    values: Any  # np.ndarray, int64
    offsets: Any  # np.ndarray, int64, len(rows) + 1, starting at 0

    @property
    def lengths(self) -> Any:
        import numpy as np

        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, index: int) -> list[int]:
        return self.values[self.offsets[index] : self.offsets[index + 1]].tolist()

    def take(self, order: Any) -> Ragged:
        """The rows in ``order`` (a permutation or a selection), as a new ragged array."""
        import numpy as np

        order = np.asarray(order, dtype=np.int64)
        lengths = self.lengths[order]
        offsets = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return Ragged(self.values[ranges(self.offsets[:-1][order], lengths)], offsets)


def ranges(starts: Any, lengths: Any) -> Any:
    """Concatenated ``arange(start, start + length)`` for each pair, without a Python loop."""
    import numpy as np

    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def ragged_column(dataset: Any, name: str) -> Ragged:
    """A list column of a ``datasets.Dataset`` (respecting selections) as a :class:`Ragged` array."""
    import numpy as np
    import pyarrow as pa

    column = dataset.with_format("arrow")[name]
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = np.asarray(array.offsets, dtype=np.int64)
    values = np.asarray(array.flatten(), dtype=np.int64)
    return Ragged(values, offsets - offsets[0])


def ragged_to_arrow(ragged: Ragged) -> Any:
    import pyarrow as pa

    return pa.ListArray.from_arrays(pa.array(ragged.offsets, pa.int32()), pa.array(ragged.values, pa.int32()))


def special_ids(tokenizer: Any) -> tuple[int, int]:
    """(cls, sep): the tokens that open and close a sequence (``<s>`` and ``</s>`` for RoBERTa)."""
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:
        raise ModelLoadError(
            "the tokenizer has no [CLS]/[SEP] (or <s>/</s>) tokens to frame sequences with",
            hint="Use a BERT-style encoder tokenizer (BERT, RoBERTa, MiniLM) or train one (task.tokenizer.train).",
        )
    return int(cls_id), int(sep_id)


def tokenize_column(dataset: Any, tokenizer: Any, *, with_word_ids: bool, desc: str, source: str = "text") -> Any:
    """``dataset`` with ``input_ids`` (no special tokens) and, if asked, ``word_ids`` per row of ``source``."""

    def tokenize(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        encoded = tokenizer(batch[source], add_special_tokens=False, return_attention_mask=False)
        out = {"input_ids": encoded["input_ids"]}
        if with_word_ids:
            out["word_ids"] = [
                [NO_WORD if w is None else w for w in encoded.word_ids(i)] for i in range(len(batch[source]))
            ]
        return out

    return dataset.map(tokenize, batched=True, remove_columns=[source], desc=desc)


def require_text(dataset: Any, split: str, where: str | None) -> None:
    """A corpus split without any text is an error naming its source."""
    texts = dataset["text"] if "text" in dataset.column_names else []
    if not any(isinstance(t, str) and t.strip() for t in texts):
        place = f" ({where})" if where else ""
        raise DataError(
            f"the {split} corpus{place} has no text",
            hint="Give a file with one text per line (.txt), or a JSONL/CSV file with a text column.",
        )


# ------------------------------------------------------------------------------------------- model inputs
def line_by_line(tokens: Ragged, words: Ragged | None, cls_id: int, sep_id: int, max_length: int) -> dict[str, Any]:
    """One example per row: [CLS] row [SEP], cut to ``max_length``. Returns arrow columns and raw lengths."""
    import numpy as np

    body = np.minimum(tokens.lengths, max_length - 2)
    framed = frame(tokens, body, cls_id, sep_id)
    columns = {"input_ids": ragged_to_arrow(framed), "num_tokens": tokens.lengths + 2}
    if words is not None:
        columns["word_ids"] = ragged_to_arrow(frame(words, body, NO_WORD, NO_WORD))
    columns["length"] = framed.lengths
    return columns


def frame(rows: Ragged, body: Any, first: int, last: int) -> Ragged:
    """``first + row[:body] + last`` for every row (vectorised)."""
    import numpy as np

    lengths = np.asarray(body, dtype=np.int64) + 2
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.empty(int(offsets[-1]), dtype=np.int64)
    values[offsets[:-1]] = first
    values[offsets[1:] - 1] = last
    inner = ranges(offsets[:-1] + 1, body)
    values[inner] = rows.values[ranges(rows.offsets[:-1], body)]
    return Ragged(values, offsets)


def concatenate(tokens: Ragged, separator: int) -> Any:
    """All rows as one stream with ``separator`` between consecutive rows."""
    import numpy as np

    rows = len(tokens)
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    stream = np.full(len(tokens.values) + rows - 1, separator, dtype=np.int64)
    row_of_token = np.repeat(np.arange(rows, dtype=np.int64), tokens.lengths)
    stream[np.arange(len(tokens.values), dtype=np.int64) + row_of_token] = tokens.values
    return stream


def unique_words(words: Ragged) -> Ragged:
    """Word ids renumbered so that they never repeat across rows (words of different rows stay apart)."""
    import numpy as np

    values = words.values.copy()
    real = values != NO_WORD
    per_row = np.zeros(len(words), dtype=np.int64)
    if real.any():
        row_of_token = np.repeat(np.arange(len(words), dtype=np.int64), words.lengths)
        np.maximum.at(per_row, row_of_token[real], values[real] + 1)
        base = np.concatenate([[0], np.cumsum(per_row)[:-1]])
        values[real] += base[row_of_token[real]]
    return Ragged(values, words.offsets.copy())


def pack_blocks(tokens: Ragged, words: Ragged | None, cls_id: int, sep_id: int, max_length: int) -> dict[str, Any]:
    """Concatenate the rows ([SEP] between them) and cut the stream into [CLS] block [SEP] examples of exactly
    ``max_length`` tokens; only the last block may be shorter. Nothing is dropped."""
    import numpy as np

    stream = concatenate(tokens, sep_id)
    size = max_length - 2
    blocks = -(-len(stream) // size)
    starts = np.arange(blocks, dtype=np.int64) * size
    body = np.minimum(size, len(stream) - starts)
    cut = Ragged(stream, np.append(starts, len(stream)))
    framed = frame(cut, body, cls_id, sep_id)
    columns = {"input_ids": ragged_to_arrow(framed), "num_tokens": framed.lengths, "length": framed.lengths}
    if words is not None:
        word_stream = concatenate(unique_words(words), NO_WORD)
        columns["word_ids"] = ragged_to_arrow(frame(Ragged(word_stream, cut.offsets), body, NO_WORD, NO_WORD))
    return columns


def columns_to_dataset(columns: dict[str, Any]) -> Any:
    import datasets
    import pyarrow as pa

    table = pa.table(
        {name: value if isinstance(value, pa.Array) else pa.array(value) for name, value in columns.items()}
    )
    return datasets.Dataset(table)
