import pytest

from bertkit.errors import InputError
from bertkit.inference.ner import recognize_entities
from bertkit.modeling.loading import load_for_inference
from bertkit.tasks.windows import token_windows, tokenize_texts
from tests.inference.keyed_models import KEYED_MAX_LENGTH, keyed_document

TEXTS = [
    "George Washington went to Washington.",
    "John Smith works at Google in New York, unbelievable!",
    "Mary visited Paris ☃ and the Café in Berlin; she loved it.",
    "the king and queen of the north went to london by car on day one",
    "WHO: the University of Berlin, Apple and Google (twice) — 1999-2001.",
    "i love my new york city house and the river in the south east",
]


@pytest.fixture(scope="module")
def tagger(tiny_tagger):
    return load_for_inference(str(tiny_tagger), "token-classification", device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def keyed(keyed_tagger):
    return load_for_inference(str(keyed_tagger), "token-classification", device="cpu", precision="fp32")


@pytest.mark.parametrize("aggregation", ["first", "average", "max"])
def test_same_entities_as_transformers_pipeline(tagger, tiny_tagger, aggregation):
    from transformers import pipeline

    reference = pipeline("token-classification", model=str(tiny_tagger), aggregation_strategy=aggregation, device="cpu")
    ours = recognize_entities(tagger, TEXTS, aggregation=aggregation, batch_size=4)
    compared = 0
    for text, result in zip(TEXTS, ours, strict=True):
        expected = reference(text)
        assert [(e.type, e.start, e.end) for e in result.entities] == [
            (e["entity_group"], e["start"], e["end"]) for e in expected
        ], text
        for ent, exp in zip(result.entities, expected, strict=True):
            assert ent.score == pytest.approx(float(exp["score"]), rel=1e-4, abs=1e-6)
            assert ent.text == text[exp["start"] : exp["end"]]
        compared += len(expected)
        assert result.windows == 1
    assert compared >= 10  # the random tagger predicts plenty of entities: the comparison is not vacuous


def test_long_text_entities_found_once_with_exact_offsets(keyed, keyed_tagger):
    text, expected = keyed_document()
    [result] = recognize_entities(keyed, [text])
    assert [(e.text, e.type, e.start, e.end) for e in result.entities] == expected
    assert all(text[e.start : e.end] == e.text for e in result.entities)
    assert result.windows > 5
    # The check covers what it should: entities past the first window, inside window overlaps, and
    # entities whose tokens are owned by two different windows.
    [tok] = tokenize_texts(keyed.tokenizer, [text])
    windows = token_windows([tok], keyed.tokenizer, max_length=KEYED_MAX_LENGTH, stride=31)
    assert len(windows) == result.windows
    starts = {a: t for t, (a, _) in enumerate(tok.offsets)}
    ends = {b: t for t, (_, b) in enumerate(tok.offsets)}
    spans = [(starts[s], ends[e]) for _, _, s, e in expected]
    holders = [[k for k, w in enumerate(windows) if w.start <= first < w.end] for first, _ in spans]
    assert sum(1 for h in holders if h == [0]) < len(spans) / 4
    assert sum(1 for h in holders if len(h) > 1) >= 10
    owner = {t: k for k, w in enumerate(windows) for t, own in zip(w.token_index, w.owned, strict=True) if own}
    assert any(owner[first] != owner[last] for first, last in spans)


@pytest.mark.parametrize("stride", [8, 12])
def test_each_token_comes_from_the_window_where_it_has_most_context(keyed, stride):
    # The keyed tagger is blind within 3 tokens of a window edge: any other choice of window loses entities.
    text, expected = keyed_document(seed=1)
    [result] = recognize_entities(keyed, [text], stride=stride)
    assert [(e.text, e.type, e.start, e.end) for e in result.entities] == expected


def test_without_enough_overlap_the_blind_edges_lose_entities(keyed):
    text, expected = keyed_document(seed=1)
    [result] = recognize_entities(keyed, [text], stride=0)
    found = [(e.text, e.type, e.start, e.end) for e in result.entities]
    assert len(found) < len(expected)  # proves the tests above could fail


def test_first_subword_decides_the_word(keyed):
    # (four words first: the keyed tagger is blind at the first three positions of a window)
    [result] = recognize_entities(keyed, ["the city of the Unbelievable city"])
    assert [(e.text, e.type, e.start, e.end) for e in result.entities] == [("Unbelievable", "ORG", 16, 28)]
    [average] = recognize_entities(keyed, ["the city of the Unbelievable city"], aggregation="average")
    assert average.entities == []  # two of its three subwords say O


def test_results_in_input_order_whatever_the_batching(keyed):
    texts = [keyed_document(n_words=n, seed=n)[0] for n in (30, 300, 12, 150)]
    one_by_one = [recognize_entities(keyed, [t], batch_size=1)[0] for t in texts]
    batched = recognize_entities(keyed, texts, batch_size=3)
    assert [r.text for r in batched] == texts
    for a, b in zip(one_by_one, batched, strict=True):
        assert a.entities == b.entities


def test_explicit_window_settings(keyed):
    text, expected = keyed_document(n_words=120, seed=2)
    [result] = recognize_entities(keyed, [text], max_length=32, stride=8)
    assert result.windows > 3
    assert [(e.text, e.type, e.start, e.end) for e in result.entities] == expected


def test_bad_settings_are_input_errors(keyed):
    with pytest.raises(InputError, match="--stride 62 is too large"):
        recognize_entities(keyed, ["john smith"], stride=62)
    with pytest.raises(InputError, match="more than the model takes"):
        recognize_entities(keyed, ["john smith"], max_length=65)
    with pytest.raises(InputError, match="unknown aggregation"):
        recognize_entities(keyed, ["john smith"], aggregation="mean")
    with pytest.raises(InputError, match="tagging scheme"):
        recognize_entities(keyed, ["john smith"], scheme="XYZ")
