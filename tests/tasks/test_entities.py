import random

import numpy as np
import pytest

from bertkit.errors import InputError
from bertkit.tasks.entities import (
    TagSpan,
    WordPrediction,
    aggregate_words,
    check_aggregation,
    detect_scheme,
    split_tag,
    tags_to_spans,
    words_to_entities,
)


def spans(tags, **kwargs):
    return [(s.type, s.start, s.end) for s in tags_to_spans(tags, **kwargs)]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("B-PER", ("B", "PER")),
        ("I-LOC", ("I", "LOC")),
        ("E-ORG", ("E", "ORG")),
        ("S-MISC", ("S", "MISC")),
        ("L-PER", ("E", "PER")),
        ("U-PER", ("S", "PER")),
        ("B_PER", ("B", "PER")),
        ("O", ("O", "")),
        ("PER", ("", "PER")),
        ("Bank", ("", "Bank")),
    ],
)
def test_split_tag(tag, expected):
    assert split_tag(tag) == expected


def test_detect_scheme():
    assert detect_scheme(["O", "B-PER", "I-PER"]) == "IOB2"
    assert detect_scheme(["O", "B-PER", "I-PER", "E-PER", "S-PER"]) == "BIOES"
    assert detect_scheme(["O", "U-PER", "L-PER"]) == "BIOES"


def test_iob_lenient_decoding_like_the_pipeline():
    tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG", "PER", "PER", "B-PER", "B-PER"]
    assert spans(tags) == [
        ("PER", 0, 2),
        ("LOC", 3, 5),  # I- after O begins an entity (IOB1, and lenient IOB2)
        ("LOC", 5, 6),  # B- always begins a new one
        ("ORG", 6, 7),  # a type change begins a new one
        ("PER", 7, 9),  # unprefixed tags continue each other
        ("PER", 9, 10),
        ("PER", 10, 11),
    ]
    assert spans(tags, scheme="IOB1") == spans(tags)


def test_strict_iob2_drops_orphan_inside_tags():
    assert spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"], strict=True) == [("PER", 0, 2), ("LOC", 4, 5)]
    # IOB1 allows I- after O, so strict changes nothing there
    assert spans(["O", "I-LOC", "I-LOC"], scheme="IOB1", strict=True) == [("LOC", 1, 3)]


def test_bioes_lenient_and_strict():
    tags = ["B-PER", "E-PER", "S-LOC", "B-ORG", "O", "E-ORG", "B-PER", "I-PER"]
    assert spans(tags, scheme="BIOES") == [
        ("PER", 0, 2),
        ("LOC", 2, 3),
        ("ORG", 3, 4),
        ("ORG", 5, 6),
        ("PER", 6, 8),
    ]
    assert spans(tags, scheme="BIOES", strict=True) == [("PER", 0, 2), ("LOC", 2, 3)]
    assert spans(["S-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "I-LOC"], scheme="BIOES") == [
        ("PER", 0, 1),
        ("PER", 1, 2),
        ("LOC", 2, 5),
        ("LOC", 5, 6),
    ]


def test_lenient_decoding_agrees_with_seqeval_on_random_sequences():
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(0)
    labels = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-LOC", "S-PER", "E-PER", "S-LOC"]
    for _ in range(500):
        tags = [rng.choice(labels) for _ in range(rng.randint(0, 12))]
        expected = [(kind, start, end + 1) for kind, start, end in get_entities(tags)]
        assert spans(tags, scheme="BIOES") == expected, tags


def test_unknown_scheme():
    with pytest.raises(ValueError, match="scheme"):
        tags_to_spans(["O"], scheme="BILOU2")


def test_aggregation_first_reads_only_first_subwords():
    nan = [np.nan] * 3
    probs = np.array([[0.1, 0.8, 0.1], nan, nan, [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]], dtype=np.float32)
    words = aggregate_words(probs, [0, 0, 0, 1, 2], "first")
    assert [(w.word_id, w.first_token, w.last_token, w.label_id) for w in words] == [
        (0, 0, 2, 1),
        (1, 3, 3, 0),
        (2, 4, 4, 2),
    ]
    assert words[0].score == pytest.approx(0.8)


def test_aggregation_average_and_max():
    probs = np.array([[0.5, 0.4, 0.1], [0.1, 0.9, 0.0], [0.45, 0.35, 0.2]], dtype=np.float32)
    average = aggregate_words(probs, [0, 0, 0], "average")[0]
    assert average.label_id == 1  # mean (0.35, 0.55, 0.1)
    assert average.score == pytest.approx(0.55)
    best = aggregate_words(probs, [0, 0, 0], "max")[0]
    assert (best.label_id, best.score) == (1, pytest.approx(0.9))
    first = aggregate_words(probs, [0, 0, 0], "first")[0]
    assert (first.label_id, first.score) == (0, pytest.approx(0.5))


def test_tokens_without_words_are_skipped_and_split_words_stay_apart():
    probs = np.eye(3, dtype=np.float32)
    # the same word id twice, not adjacent (pre-split input repeats no ids; guard anyway), and a None token
    words = aggregate_words(probs, [0, None, 0], "first")
    assert [(w.first_token, w.last_token) for w in words] == [(0, 0), (2, 2)]


def test_unknown_aggregation_is_an_input_error():
    with pytest.raises(InputError, match="unknown aggregation 'mean'"):
        check_aggregation("mean")
    assert check_aggregation(" MAX ") == "max"


def test_words_to_entities_uses_char_offsets_and_mean_scores():
    text = "John Smith lives in New York"
    offsets = [(0, 4), (5, 10), (11, 16), (17, 19), (20, 23), (24, 28)]
    id2label = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
    labels, scores = [1, 2, 0, 0, 3, 4], [0.9, 0.7, 0.99, 0.99, 0.6, 0.8]
    words = [WordPrediction(i, i, i, label, score) for i, (label, score) in enumerate(zip(labels, scores, strict=True))]
    entities = words_to_entities(text, offsets, words, id2label)
    assert [(e.text, e.type, e.start, e.end) for e in entities] == [
        ("John Smith", "PER", 0, 10),
        ("New York", "LOC", 20, 28),
    ]
    assert entities[0].score == pytest.approx(0.8)
    assert entities[1].score == pytest.approx(0.7)
    assert TagSpan("PER", 0, 2) == tags_to_spans(["B-PER", "I-PER"])[0]
