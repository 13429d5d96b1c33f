"""Corpus preparation: sentence splitting, ragged arrays, line-by-line examples and packed blocks."""

import pytest

from bertkit.errors import DataError
from bertkit.tasks.corpus import (
    Ragged,
    line_by_line,
    pack_blocks,
    ragged_column,
    ranges,
    require_text,
    split_sentences,
    tokenize_column,
    unique_words,
)
from bertkit.tasks.masking import NO_WORD

CLS, SEP = 2, 3


def ragged(rows):
    import numpy as np

    offsets = np.cumsum([0] + [len(r) for r in rows])
    values = np.array([x for r in rows for x in r], dtype=np.int64)
    return Ragged(values, offsets)


def as_rows(array):
    return array.to_pylist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        (
            "Dr. Smith met J. R. Doe in the U.S. today. He left.",
            ["Dr. Smith met J. R. Doe in the U.S. today.", "He left."],
        ),
        ('He said "stop." Then he went.', ['He said "stop."', "Then he went."]),
        ("It costs approx. five dollars. Fine.", ["It costs approx. five dollars.", "Fine."]),
        ("the game was released in 2011 . it sold well . ", ["the game was released in 2011 .", "it sold well ."]),
        ("version 2.5 is out", ["version 2.5 is out"]),
        ("   ", []),
        ("Wait... What?! Yes.", ["Wait...", "What?!", "Yes."]),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_ranges_and_take():
    assert ranges([5, 0, 9], [2, 0, 3]).tolist() == [5, 6, 9, 10, 11]
    assert ranges([], []).tolist() == []
    rows = ragged([[1, 2, 3], [], [4], [5, 6]])
    taken = rows.take([3, 0, 2])
    assert [taken.row(i) for i in range(len(taken))] == [[5, 6], [1, 2, 3], [4]]
    assert taken.offsets.tolist() == [0, 2, 5, 6]


def test_line_by_line_frames_and_cuts_each_text():
    tokens = ragged([[10, 11, 12], [13], list(range(20, 40))])
    words = ragged([[0, 0, 1], [0], list(range(20))])
    columns = line_by_line(tokens, words, CLS, SEP, max_length=8)
    assert as_rows(columns["input_ids"]) == [
        [CLS, 10, 11, 12, SEP],
        [CLS, 13, SEP],
        [CLS, 20, 21, 22, 23, 24, 25, SEP],
    ]
    assert columns["num_tokens"].tolist() == [5, 3, 22]  # before cutting: the engine counts truncation
    assert columns["length"].tolist() == [5, 3, 8]
    assert as_rows(columns["word_ids"])[0] == [NO_WORD, 0, 0, 1, NO_WORD]


def test_packed_blocks_are_full_and_lose_nothing():
    import random

    rng = random.Random(0)
    rows = [[rng.randrange(10, 99) for _ in range(rng.randint(1, 30))] for _ in range(60)]
    columns = pack_blocks(ragged(rows), None, CLS, SEP, max_length=16)
    blocks = as_rows(columns["input_ids"])
    assert all(len(b) == 16 for b in blocks[:-1]) and 3 <= len(blocks[-1]) <= 16
    assert all(b[0] == CLS and b[-1] == SEP for b in blocks)
    stream = [x for b in blocks for x in b[1:-1]]
    expected = []
    for i, row in enumerate(rows):
        expected += ([SEP] if i else []) + row
    assert stream == expected
    assert columns["length"].tolist() == [len(b) for b in blocks]


def test_packed_word_ids_never_join_words_of_different_texts():
    tokens = ragged([[10, 11], [12, 13, 14], [15]])
    words = ragged([[0, 0], [0, 1, 1], [0]])
    assert unique_words(words).values.tolist() == [0, 0, 1, 2, 2, 3]
    columns = pack_blocks(tokens, words, CLS, SEP, max_length=6)
    assert as_rows(columns["input_ids"]) == [[CLS, 10, 11, SEP, 12, SEP], [CLS, 13, 14, SEP, 15, SEP]]
    assert as_rows(columns["word_ids"]) == [
        [NO_WORD, 0, 0, NO_WORD, 1, NO_WORD],
        [NO_WORD, 2, 2, NO_WORD, 3, NO_WORD],
    ]


def test_tokenize_column_and_ragged_column_respect_selections(tokenizer):
    import datasets

    dataset = datasets.Dataset.from_dict({"text": ["the good movie", "washing", "unbelievable city"]})
    tokenized = tokenize_column(dataset.select([2, 0]), tokenizer, with_word_ids=True, desc="test")
    tokens, words = ragged_column(tokenized, "input_ids"), ragged_column(tokenized, "word_ids")
    assert tokenizer.convert_ids_to_tokens(tokens.row(0)) == ["un", "##believ", "##able", "city"]
    assert words.row(0) == [0, 0, 0, 1]
    assert tokenizer.decode(tokens.row(1)) == "the good movie"


def test_a_corpus_without_text_names_its_source():
    import datasets

    empty = datasets.Dataset.from_dict({"text": ["", "   "]})
    with pytest.raises(DataError, match=r"train corpus \(corpus\.txt\) has no text"):
        require_text(empty, "train", "corpus.txt")
    require_text(datasets.Dataset.from_dict({"text": ["", "a text"]}), "train", None)
