"""Sentence pairs for next-sentence prediction, built as in BERT's ``create_pretraining_data.py``.

Each document is read in order and cut into chunks of whole sentences of about ``target`` tokens (``max_length``
minus [CLS] [SEP] [SEP]; with probability ``short_seq_prob`` a random shorter target, so the model also sees
short inputs). A chunk is split at a random sentence boundary into segment A and the real continuation B; with
probability ``random_next_probability`` B is instead taken from a random position of a random OTHER document and
the unused sentences of the chunk go back to the stream. The longer segment is trimmed, one token at a time from
its front or back at random, until the pair fits.

Departure from the reference code, to keep the 50/50 balance exact: the reference forces a random B whenever a
chunk holds a single sentence, which biases the labels towards "random" (strongly on corpora of long sentences).
Here a real-next pair from a one-sentence chunk takes the following sentence of the document as B, or, at the end
of a document, splits the sentence's tokens in two (B is still the text that really follows A).

Pairs are returned as token spans into one flat token stream (documents contiguous), so building pairs touches
only sentence lengths, and the model inputs are cut out of the stream with vectorised numpy code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import DataError
from bertkit.tasks.corpus import Ragged, ranges

REAL_NEXT, RANDOM_NEXT = 0, 1  # next_sentence_label values (transformers' BertForPreTraining convention)


@dataclass
class PairSpans:
    """Pairs as spans of the flat token stream: A = stream[a_start:a_end], B = stream[b_start:b_end]."""

    a_start: list[int] = field(default_factory=list)
    a_end: list[int] = field(default_factory=list)
    b_start: list[int] = field(default_factory=list)
    b_end: list[int] = field(default_factory=list)
    label: list[int] = field(default_factory=list)  # REAL_NEXT or RANDOM_NEXT
    document_a: list[int] = field(default_factory=list)
    document_b: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.label)

    def add(self, a: list[int], b: list[int], label: int, doc_a: int, doc_b: int) -> None:
        self.a_start.append(a[0])
        self.a_end.append(a[1])
        self.b_start.append(b[0])
        self.b_end.append(b[1])
        self.label.append(label)
        self.document_a.append(doc_a)
        self.document_b.append(doc_b)


@dataclass
class Documents:
    """Sentences grouped by document: sentence ``s`` is ``stream[sentence_offsets[s]:sentence_offsets[s + 1]]``,
    document ``d`` holds sentences ``document_offsets[d]`` to ``document_offsets[d + 1]`` (exclusive)."""

    sentence_offsets: Any  # np.ndarray (sentences + 1)
    document_offsets: Any  # np.ndarray (documents + 1)

    @property
    def count(self) -> int:
        return len(self.document_offsets) - 1

    def sentences(self, document: int) -> range:
        return range(int(self.document_offsets[document]), int(self.document_offsets[document + 1]))


def group_documents(
    sentences: Ragged, document_ids: Any, words: Ragged | None = None
) -> tuple[Ragged, Ragged | None, Documents]:
    """Order sentences by document (stable: sentence order inside a document is kept), drop empty ones, and
    index the documents. ``words`` (word ids beside the tokens) is reordered the same way."""
    import numpy as np

    document_ids = np.asarray(document_ids, dtype=np.int64)
    order = np.argsort(document_ids, kind="stable")
    order = order[sentences.lengths[order] > 0]
    if not np.array_equal(order, np.arange(len(document_ids))):
        sentences, document_ids = sentences.take(order), document_ids[order]
        words = None if words is None else words.take(order)
    starts = np.flatnonzero(np.r_[True, document_ids[1:] != document_ids[:-1]]) if len(document_ids) else []
    document_offsets = np.append(starts, len(document_ids)).astype(np.int64)
    return sentences, words, Documents(sentences.offsets, document_offsets)


class PairBuilder:
    def __init__(
        self,
        documents: Documents,
        *,
        max_length: int,
        short_seq_prob: float,
        random_next_probability: float,
        seed: int,
        split: str = "train",
    ) -> None:
        if documents.count < 2:
            raise DataError(
                f"next-sentence prediction needs at least 2 documents, but the {split} split has {documents.count}: "
                "random second segments must come from another document",
                hint="Separate documents with blank lines (.txt) or give a document column (a held-out validation "
                "split takes whole documents: raise data.validation_size), or set task.next_sentence_prediction: "
                "false.",
            )
        self.docs = documents
        self.max_tokens = max_length - 3  # [CLS] A [SEP] B [SEP]
        self.short_seq_prob = short_seq_prob
        self.random_next_probability = random_next_probability
        self.rng = random.Random(seed)

    def build(self) -> PairSpans:
        pairs = PairSpans()
        for document in range(self.docs.count):
            self.document_pairs(document, pairs)
        return pairs

    def length(self, sentence: int) -> int:
        offsets = self.docs.sentence_offsets
        return int(offsets[sentence + 1] - offsets[sentence])

    def document_pairs(self, document: int, pairs: PairSpans) -> None:
        rng, sentences = self.rng, self.docs.sentences(document)
        target = self.max_tokens
        if rng.random() < self.short_seq_prob:
            target = rng.randint(2, self.max_tokens)
        chunk: list[int] = []
        chunk_tokens = 0
        index = sentences.start
        while index < sentences.stop:
            chunk.append(index)
            chunk_tokens += self.length(index)
            if index == sentences.stop - 1 or chunk_tokens >= target:
                index = self.emit(chunk, document, sentences.stop, target, pairs)
                chunk, chunk_tokens = [], 0
                target = self.max_tokens
                if rng.random() < self.short_seq_prob:
                    target = rng.randint(2, self.max_tokens)
            index += 1

    def emit(self, chunk: list[int], document: int, doc_end: int, target: int, pairs: PairSpans) -> int:
        """Add one pair made from ``chunk``; returns the index of the last sentence consumed."""
        rng, offsets = self.rng, self.docs.sentence_offsets
        last = chunk[-1]
        if rng.random() < self.random_next_probability:
            a_sentences = 1 if len(chunk) == 1 else rng.randint(1, len(chunk) - 1)
            a = [int(offsets[chunk[0]]), int(offsets[chunk[a_sentences - 1] + 1])]
            b, other = self.random_segment(document, max(1, target - (a[1] - a[0])))
            self.fit(a, b)
            pairs.add(a, b, RANDOM_NEXT, document, other)
            return chunk[a_sentences - 1]  # the unused sentences of the chunk are read again
        if len(chunk) == 1 and last + 1 < doc_end:
            chunk.append(last + 1)  # B is the next sentence, even past the target (trimmed below)
            last += 1
        if len(chunk) >= 2:
            a_sentences = rng.randint(1, len(chunk) - 1)
            split = int(offsets[chunk[a_sentences]])
        else:
            start, end = int(offsets[last]), int(offsets[last + 1])
            if end - start < 2:
                return last  # a one-token document end: no pair possible
            split = rng.randint(start + 1, end - 1)  # cut the sentence: B is what really follows A
        a = [int(offsets[chunk[0]]), split]
        b = [split, int(offsets[last + 1])]
        self.fit(a, b)
        pairs.add(a, b, REAL_NEXT, document, document)
        return last

    def random_segment(self, document: int, wanted: int) -> tuple[list[int], int]:
        """Sentences from a random position of a uniformly chosen other document, about ``wanted`` tokens."""
        rng, offsets = self.rng, self.docs.sentence_offsets
        other = rng.randrange(self.docs.count - 1)
        other += other >= document
        sentences = self.docs.sentences(other)
        first = rng.randrange(sentences.start, sentences.stop)
        end = first
        while end < sentences.stop and offsets[end] - offsets[first] < wanted:
            end += 1
        return [int(offsets[first]), int(offsets[end])], other

    def fit(self, a: list[int], b: list[int]) -> None:
        """Trim the longer span (front or back, at random) until both fit in ``max_tokens``; spans keep >= 1 token."""
        while (a[1] - a[0]) + (b[1] - b[0]) > self.max_tokens:
            longer = a if (a[1] - a[0]) > (b[1] - b[0]) else b
            if self.rng.random() < 0.5:
                longer[0] += 1
            else:
                longer[1] -= 1


def build_pairs(
    documents: Documents,
    *,
    max_length: int,
    short_seq_prob: float,
    random_next_probability: float,
    seed: int,
    split: str = "train",
) -> PairSpans:
    builder = PairBuilder(
        documents,
        max_length=max_length,
        short_seq_prob=short_seq_prob,
        random_next_probability=random_next_probability,
        seed=seed,
        split=split,
    )
    return builder.build()


def pair_features(stream: Any, pairs: PairSpans, cls_id: int, sep_id: int, word_stream: Any = None) -> dict[str, Any]:
    """[CLS] A [SEP] B [SEP] rows with token_type_ids 0/1, next_sentence_label, and word ids if given."""
    import numpy as np

    from bertkit.tasks.corpus import ragged_to_arrow
    from bertkit.tasks.masking import NO_WORD

    a_start, a_len = np.asarray(pairs.a_start), np.asarray(pairs.a_end) - np.asarray(pairs.a_start)
    b_start, b_len = np.asarray(pairs.b_start), np.asarray(pairs.b_end) - np.asarray(pairs.b_start)
    lengths = a_len + b_len + 3
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    a_out = ranges(offsets[:-1] + 1, a_len)
    b_out = ranges(offsets[:-1] + 2 + a_len, b_len)
    a_in, b_in = ranges(a_start, a_len), ranges(b_start, b_len)

    def assemble(source: Any, first: int, middle: int) -> Any:
        values = np.empty(int(offsets[-1]), dtype=np.int64)
        values[offsets[:-1]] = first
        values[offsets[:-1] + 1 + a_len] = middle
        values[offsets[1:] - 1] = middle
        values[a_out] = source[a_in]
        values[b_out] = source[b_in]
        return values

    types = np.zeros(int(offsets[-1]), dtype=np.int64)
    types[b_out] = 1
    types[offsets[1:] - 1] = 1
    columns = {
        "input_ids": ragged_to_arrow(Ragged(assemble(np.asarray(stream), cls_id, sep_id), offsets)),
        "token_type_ids": ragged_to_arrow(Ragged(types, offsets)),
        "next_sentence_label": np.asarray(pairs.label, dtype=np.int64),
        "length": lengths,
        "num_tokens": lengths,
    }
    if word_stream is not None:
        columns["word_ids"] = ragged_to_arrow(Ragged(assemble(np.asarray(word_stream), NO_WORD, NO_WORD), offsets))
    return columns
