import itertools
import random

import pytest

from bertkit.errors import InputError
from bertkit.tasks.windows import (
    IGNORE_INDEX,
    align_word_labels,
    answer_token_span,
    assign_owners,
    check_window_room,
    plan_windows,
    qa_features,
    resolve_max_length,
    special_template,
    token_windows,
    tokenize_texts,
)

WORDS = "the city of paris unbelievable and london , a great day in new york".split()


def random_text(n_words, seed=0):
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def test_tokenize_keeps_offsets_and_word_ids(tokenizer):
    [tok] = tokenize_texts(tokenizer, ["Unbelievable, Paris!"])
    pieces = tokenizer.convert_ids_to_tokens(tok.input_ids)
    assert pieces == ["un", "##believ", "##able", ",", "paris", "!"]
    assert [tok.text[a:b] for a, b in tok.offsets] == ["Un", "believ", "able", ",", "Paris", "!"]
    assert tok.word_ids == [0, 0, 0, 1, 2, 3]
    assert tok.word_starts() == [True, False, False, True, True, True]


def test_pre_split_words_get_offsets_into_the_joined_text(tokenizer):
    [tok] = tokenize_texts(tokenizer, [["John", "unbelievable", "Paris"]], is_split_into_words=True)
    assert tok.text == "John unbelievable Paris"
    assert tok.word_ids == [0, 1, 1, 1, 2]
    assert [tok.text[a:b] for a, b in tok.offsets] == ["John", "un", "believ", "able", "Paris"]


def test_special_templates_of_bert(tokenizer):
    single = special_template(tokenizer)
    assert (single.prefix, single.suffix, single.size) == ((tokenizer.cls_token_id,), (tokenizer.sep_token_id,), 2)
    pair = special_template(tokenizer, pair=True)
    assert pair.middle == (tokenizer.sep_token_id,)
    assert (pair.first_type, pair.second_type, pair.suffix_types, pair.size) == (0, 1, (1,), 3)


@pytest.mark.parametrize("seed", range(30))
def test_plan_windows_covers_everything_with_the_overlap_asked(seed):
    rng = random.Random(seed)
    n, room = rng.randint(1, 300), rng.randint(2, 60)
    stride = rng.randint(0, room - 1)
    word_ids = []
    while len(word_ids) < n:
        word_ids += [len(set(word_ids))] * rng.choice([1, 1, 1, 2, 3])
    word_ids = word_ids[:n]
    spans = plan_windows(word_ids, room, stride)
    assert spans[0][0] == 0 and spans[-1][1] == n
    for (s1, e1), (s2, e2) in itertools.pairwise(spans):
        assert s1 < s2 and e1 < e2, spans
        assert e1 - s2 >= stride  # consecutive windows share at least `stride` tokens
        assert s2 <= e1  # no gap
    assert all(0 < e - s <= room for s, e in spans)
    if n > room:
        assert spans[-1][1] - spans[-1][0] >= room - 3  # last window nearly full (only a word start moved it)
    if room - stride > 3:  # room to move back to a word start (words here are at most 3 tokens)
        assert all(s == 0 or word_ids[s] != word_ids[s - 1] for s, _ in spans[:-1])


def test_short_text_is_one_window():
    assert plan_windows([0, 1, 2], room=5, stride=2) == [(0, 3)]
    assert plan_windows([], room=5, stride=2) == [(0, 0)]


@pytest.mark.parametrize("seed", range(20))
def test_each_token_owned_by_the_window_where_it_has_most_context(seed):
    rng = random.Random(seed)
    n, room = rng.randint(20, 200), rng.randint(5, 30)
    spans = plan_windows(list(range(n)), room, rng.randint(0, room - 1))
    owners = assign_owners(spans, n)

    def context(k, t):
        s, e = spans[k]
        return min(t - s if s > 0 else n, e - 1 - t if e < n else n)

    for t in range(n):
        holding = [k for k, (s, e) in enumerate(spans) if s <= t < e]
        assert owners[t] in holding
        assert context(owners[t], t) == max(context(k, t) for k in holding)
    assert owners == sorted(owners)  # each window owns one contiguous run


def test_token_windows_predict_every_token_exactly_once(tokenizer):
    texts = [random_text(150, seed) for seed in range(3)] + ["short one", ""]
    tokenized = tokenize_texts(tokenizer, texts)
    windows = token_windows(tokenized, tokenizer, max_length=24, stride=6)
    for index, tok in enumerate(tokenized):
        mine = [w for w in windows if w.example_index == index]
        assert mine, "every example gets at least one window"
        owned = [t for w in mine for t, own in zip(w.token_index, w.owned, strict=True) if own]
        assert owned == list(range(len(tok)))
        for w in mine:
            assert len(w.input_ids) <= 24 and w.input_ids[0] == tokenizer.cls_token_id
            assert w.input_ids[-1] == tokenizer.sep_token_id
            assert w.model_inputs() == {"input_ids": w.input_ids, "token_type_ids": w.token_type_ids}
            for pos, t in enumerate(w.token_index):
                if t is not None:
                    assert w.input_ids[pos] == tok.input_ids[t]
                    assert w.offsets[pos] == tok.offsets[t]
                    assert w.word_start[pos] == tok.word_starts()[t]
    assert len([w for w in windows if w.example_index == 0]) > 1


def test_align_word_labels(tokenizer):
    [tok] = tokenize_texts(tokenizer, [random_text(60, 1)])
    windows = token_windows([tok], tokenizer, max_length=16, stride=4)
    n_words = max(tok.word_ids) + 1
    word_labels = [w % 5 for w in range(n_words)]
    labelled_once = []
    for window in windows:
        first = align_word_labels(window, word_labels)
        every = align_word_labels(window, word_labels, label_all_subwords=True)
        owned = align_word_labels(window, word_labels, owned_only=True)
        assert first[0] == first[-1] == IGNORE_INDEX  # [CLS], [SEP]
        for pos, word in enumerate(window.word_ids):
            if word is None:
                continue
            assert every[pos] == word_labels[word]
            assert first[pos] == (word_labels[word] if window.word_start[pos] else IGNORE_INDEX)
            assert owned[pos] == (first[pos] if window.owned[pos] else IGNORE_INDEX)
            if owned[pos] != IGNORE_INDEX:
                labelled_once.append(word)
    assert labelled_once == list(range(n_words))  # owned_only labels every word exactly once


def test_window_room_errors():
    with pytest.raises(InputError, match="--stride 30 is too large") as err:
        check_window_room(32, 30, 2)
    assert "room for 30 text tokens" in str(err.value)
    assert "--stride 15 or less" in err.value.hint
    with pytest.raises(InputError, match="no room for context: 40 question"):
        check_window_room(42, 0, 43, option="--doc-stride", question_tokens=40)
    with pytest.raises(InputError, match="0 or more"):
        check_window_room(32, -1, 2)
    assert check_window_room(32, 29, 2) == 30


def test_resolve_max_length():
    assert resolve_max_length(None, 512) == 512
    assert resolve_max_length(None, 512, default=384) == 384
    assert resolve_max_length(None, 128, default=384) == 128
    assert resolve_max_length(100, 128) == 100
    with pytest.raises(InputError, match="more than the model takes"):
        resolve_max_length(600, 512)


def test_qa_features_cover_a_long_context(tokenizer):
    context = random_text(200, 3)
    question = "where is paris ?"
    features = qa_features(tokenizer, [question, "who ?"], [context, "john smith"], max_length=40, doc_stride=10)
    first = [f for f in features if f.example_index == 0]
    assert len(first) > 3
    n_question = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    seen = set()
    for prev, feat in itertools.pairwise(first):
        a, b = prev.context_range
        assert prev.context_start + (b - a) - feat.context_start >= 10  # doc stride respected
    for feat in first:
        lo, hi = feat.context_range
        assert lo == 1 + n_question + 1 and hi == len(feat.input_ids) - 1
        assert feat.cls_index == 0 and feat.input_ids[0] == tokenizer.cls_token_id
        assert all(o is None for o in feat.offsets[:lo] + feat.offsets[hi:])
        assert feat.token_type_ids[lo:hi] == [1] * (hi - lo) and feat.token_type_ids[1] == 0
        for pos in range(lo, hi):
            seen.add(feat.offsets[pos])
    all_offsets = tokenize_texts(tokenizer, [context])[0].offsets
    assert seen == set(all_offsets)
    assert [f.example_index for f in features][-1] == 1


def test_default_doc_stride_fits_small_windows(tokenizer):
    features = qa_features(tokenizer, ["where ?"], [random_text(100)], max_length=24)
    assert len(features) > 1


def test_long_question_is_a_clear_error(tokenizer):
    long_question = "what " * 50
    with pytest.raises(InputError, match="input 2: --max-length 32 leaves no room for context") as err:
        qa_features(tokenizer, ["where ?", long_question], ["paris", "paris"], max_length=32, doc_stride=4)
    assert "shorten the question" in err.value.hint
    with pytest.raises(InputError, match="--doc-stride 20 is too large"):
        qa_features(tokenizer, ["where ?"], ["paris"], max_length=24, doc_stride=20)
    with pytest.raises(InputError, match="--doc-stride must be 0 or more"):
        qa_features(tokenizer, ["where ?"], ["paris"], max_length=24, doc_stride=-1)
    with pytest.raises(InputError, match="no room for context"):  # the default stride does not hide it
        qa_features(tokenizer, [long_question], ["paris"], max_length=32)


def test_answer_token_span(tokenizer):
    context = "John lives in New York since unbelievable times"
    [feat] = qa_features(tokenizer, ["where ?"], [context], max_length=64, doc_stride=8)
    start = context.index("New York")
    first, last = answer_token_span(feat, start, start + len("New York"))
    assert tokenizer.convert_ids_to_tokens(feat.input_ids[first : last + 1]) == ["new", "york"]
    start = context.index("unbelievable")
    first, last = answer_token_span(feat, start, start + len("unbelievable"))
    assert last - first == 2
    small = qa_features(tokenizer, ["where ?"], [context], max_length=10, doc_stride=2)
    inside = [answer_token_span(f, start, start + len("unbelievable")) for f in small]
    assert any(span is None for span in inside) and any(span is not None for span in inside)
