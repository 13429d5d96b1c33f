"""Next-sentence-prediction pairs: the 50/50 balance (statistically), random segments from other documents,
real segments that follow segment A, lengths, and the model inputs cut from the token stream."""

import math
import random

import pytest

from bertkit.errors import DataError
from bertkit.tasks.nsp import RANDOM_NEXT, REAL_NEXT, Documents, build_pairs, group_documents, pair_features

Z_LIMIT = 4.0


def documents_of(sentence_lengths_per_document):
    import numpy as np

    lengths = [n for doc in sentence_lengths_per_document for n in doc]
    sentence_offsets = np.cumsum([0, *lengths])
    document_offsets = np.cumsum([0, *(len(doc) for doc in sentence_lengths_per_document)])
    return Documents(sentence_offsets, document_offsets)


def random_corpus(documents=2000, seed=0, sentences=(1, 20), tokens=(3, 40)):
    rng = random.Random(seed)
    return documents_of([[rng.randint(*tokens) for _ in range(rng.randint(*sentences))] for _ in range(documents)])


def document_range(docs, document):
    return int(docs.sentence_offsets[docs.document_offsets[document]]), int(
        docs.sentence_offsets[docs.document_offsets[document + 1]]
    )


def z_score(successes, trials, p):
    return (successes / trials - p) / math.sqrt(p * (1 - p) / trials)


def check_pairs(docs, pairs, max_length):
    for i in range(len(pairs)):
        a, b = (pairs.a_start[i], pairs.a_end[i]), (pairs.b_start[i], pairs.b_end[i])
        assert a[1] > a[0] and b[1] > b[0], "both segments hold tokens"
        assert (a[1] - a[0]) + (b[1] - b[0]) <= max_length - 3
        doc_a, doc_b = pairs.document_a[i], pairs.document_b[i]
        lo, hi = document_range(docs, doc_a)
        assert lo <= a[0] and a[1] <= hi, "A lies inside its document"
        lo, hi = document_range(docs, doc_b)
        assert lo <= b[0] and b[1] <= hi, "B lies inside its document"
        if pairs.label[i] == RANDOM_NEXT:
            assert doc_b != doc_a, "a random B comes from another document"
        else:
            assert doc_b == doc_a and b[0] >= a[1], "a real B follows A in the same document"


def test_pairs_are_balanced_50_50_and_well_formed():
    docs = random_corpus()
    pairs = build_pairs(docs, max_length=128, short_seq_prob=0.1, random_next_probability=0.5, seed=1)
    assert len(pairs) > 5000
    check_pairs(docs, pairs, 128)
    random_count = sum(pairs.label)
    assert abs(z_score(random_count, len(pairs), 0.5)) < Z_LIMIT, random_count / len(pairs)
    random_sources = {pairs.document_b[i] for i in range(len(pairs)) if pairs.label[i] == RANDOM_NEXT}
    assert len(random_sources) > 0.6 * docs.count  # drawn from all over the corpus
    real = [i for i in range(len(pairs)) if pairs.label[i] == REAL_NEXT]
    contiguous = sum(pairs.b_start[i] == pairs.a_end[i] for i in real)
    assert contiguous > 0.5 * len(real)  # most real pairs are untrimmed at the A/B boundary


def test_balance_holds_for_long_sentences_and_one_sentence_documents():
    # Sentences longer than the target: the reference code would make nearly every pair "random" here.
    long_sentences = random_corpus(documents=1500, seed=2, sentences=(1, 6), tokens=(80, 200))
    pairs = build_pairs(long_sentences, max_length=64, short_seq_prob=0.0, random_next_probability=0.5, seed=3)
    check_pairs(long_sentences, pairs, 64)
    assert abs(z_score(sum(pairs.label), len(pairs), 0.5)) < Z_LIMIT, sum(pairs.label) / len(pairs)
    single = random_corpus(documents=3000, seed=4, sentences=(1, 1), tokens=(4, 30))
    pairs = build_pairs(single, max_length=64, short_seq_prob=0.0, random_next_probability=0.5, seed=5)
    check_pairs(single, pairs, 64)
    assert abs(z_score(sum(pairs.label), len(pairs), 0.5)) < Z_LIMIT


def test_the_random_share_follows_the_recipe():
    docs = random_corpus(seed=6)
    pairs = build_pairs(docs, max_length=128, short_seq_prob=0.1, random_next_probability=0.3, seed=7)
    assert abs(z_score(sum(pairs.label), len(pairs), 0.3)) < Z_LIMIT


def test_short_seq_prob_makes_shorter_pairs():
    docs = random_corpus(documents=300, seed=8, sentences=(60, 100), tokens=(8, 20))  # long: few short doc ends

    def short_share(probability):
        pairs = build_pairs(docs, max_length=128, short_seq_prob=probability, random_next_probability=0.5, seed=9)
        totals = [(pairs.a_end[i] - pairs.a_start[i]) + (pairs.b_end[i] - pairs.b_start[i]) for i in range(len(pairs))]
        return sum(t < 60 for t in totals) / len(totals)

    # A short target is uniform in [2, 125]: about 47% of those pairs end below 60 tokens, so 0.3 x 47% = +14%.
    never, sometimes = short_share(0.0), short_share(0.3)
    assert never < 0.06 and sometimes > never + 0.09, (never, sometimes)


def test_pairs_are_seeded():
    docs = random_corpus(documents=200)

    def build(seed):
        return build_pairs(docs, max_length=64, short_seq_prob=0.1, random_next_probability=0.5, seed=seed)

    assert build(1) == build(1)
    assert build(1) != build(2)


def test_nsp_needs_two_documents():
    with pytest.raises(DataError, match="at least 2 documents") as err:
        build_pairs(documents_of([[5, 6, 7]]), max_length=32, short_seq_prob=0.0, random_next_probability=0.5, seed=0)
    assert "next_sentence_prediction: false" in err.value.hint


def test_pair_features_frame_segments_with_types_and_labels():
    import numpy as np

    from bertkit.tasks.nsp import PairSpans

    stream = np.arange(100, 130)
    words = np.arange(30) // 2
    pairs = PairSpans()
    pairs.add([0, 3], [3, 5], REAL_NEXT, 0, 0)
    pairs.add([10, 11], [20, 24], RANDOM_NEXT, 1, 2)
    columns = pair_features(stream, pairs, cls_id=2, sep_id=3, word_stream=words)
    assert columns["input_ids"].to_pylist() == [
        [2, 100, 101, 102, 3, 103, 104, 3],
        [2, 110, 3, 120, 121, 122, 123, 3],
    ]
    assert columns["token_type_ids"].to_pylist() == [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]]
    assert columns["next_sentence_label"].tolist() == [0, 1]
    assert columns["length"].tolist() == [8, 8]
    assert columns["word_ids"].to_pylist()[1] == [-1, 5, -1, 10, 10, 11, 11, -1]


def test_group_documents_keeps_sentence_order_within_documents():
    import numpy as np

    from bertkit.tasks.corpus import Ragged

    sentences = Ragged(np.array([1, 2, 3, 4, 5, 6]), np.array([0, 2, 3, 3, 5, 6]))  # 4th... one empty sentence
    grouped, _, docs = group_documents(sentences, [7, 3, 7, 3, 7])
    assert [grouped.row(i) for i in range(len(grouped))] == [[3], [4, 5], [1, 2], [6]]
    assert docs.document_offsets.tolist() == [0, 2, 4]
