import pytest

from bertkit.errors import InputError
from bertkit.inference.classify import classify
from bertkit.modeling.loading import load_for_inference
from tests.tiny import build_model

TEXTS = [
    "I love this product , it was great !",
    "terrible service and awful food",
    "hello",
    "the movie was not bad but the book was better , said mary in new york",
]
LONG_TEXT = " ".join(["the good movie was a bad film"] * 40)  # ~280 tokens, tiny models take 128


def load(folder):
    return load_for_inference(str(folder), "text-classification", device="cpu", precision="fp32")


def reference_pipeline(folder):
    from transformers import pipeline

    return pipeline("text-classification", model=str(folder), device="cpu", top_k=None)


def assert_same_as_pipeline(ours, expected):
    """``expected``: the pipeline's list of {label, score}, highest first (top_k=None)."""
    assert ours.label == expected[0]["label"]
    assert ours.score == pytest.approx(expected[0]["score"], rel=1e-4, abs=1e-6)
    assert list(ours.scores) == [e["label"] for e in expected]
    for label, exp in zip(ours.scores, expected, strict=True):
        assert ours.scores[label] == pytest.approx(exp["score"], rel=1e-4, abs=1e-6)


@pytest.fixture(scope="module")
def loaded(tiny_classifier):
    return load(tiny_classifier)


def test_same_scores_as_transformers_pipeline(loaded, tiny_classifier):
    expected = reference_pipeline(tiny_classifier)(TEXTS)
    ours = classify(loaded, TEXTS, all_scores=True, batch_size=3)
    assert [r.text for r in ours] == TEXTS
    for result, exp in zip(ours, expected, strict=True):
        assert_same_as_pipeline(result, exp)
        assert result.text_pair is None
        assert not result.truncated
    assert len({r.label for r in ours}) > 1, "the tiny model should not give every text the same label"


def test_sentence_pairs_match_the_pipeline(loaded, tiny_classifier):
    pairs = ["it was bad", "the best place in london", "world", "a story about a king"]
    expected = reference_pipeline(tiny_classifier)(
        [{"text": t, "text_pair": p} for t, p in zip(TEXTS, pairs, strict=True)]
    )
    ours = classify(loaded, TEXTS, pairs, all_scores=True, batch_size=2)
    for result, pair, exp in zip(ours, pairs, expected, strict=True):
        assert result.text_pair == pair
        assert_same_as_pipeline(result, exp)
    alone = classify(loaded, TEXTS, all_scores=True)
    assert [r.scores for r in ours] != [r.scores for r in alone], "the pair must reach the model"


def test_input_order_kept_with_mixed_lengths_and_small_batches(loaded):
    texts = [TEXTS[3], "a", TEXTS[0], "good", TEXTS[1] + " " + TEXTS[3], "bad bad", TEXTS[2]]
    one_by_one = [classify(loaded, [t], all_scores=True)[0] for t in texts]
    for batch_size in (1, 2, 3, 32):
        batched = classify(loaded, texts, all_scores=True, batch_size=batch_size)
        assert [r.text for r in batched] == texts
        for single, result in zip(one_by_one, batched, strict=True):
            assert result.label == single.label
            assert result.scores == pytest.approx(single.scores, rel=1e-4, abs=1e-6)


def test_long_text_is_truncated_and_flagged(loaded, tiny_classifier):
    ours = classify(loaded, ["short text", LONG_TEXT], all_scores=True)
    assert [r.truncated for r in ours] == [False, True]
    # The label is the one of the text's first 128 tokens, as the pipeline computes with truncation on.
    expected = reference_pipeline(tiny_classifier)([LONG_TEXT], truncation=True, max_length=loaded.max_length)[0]
    assert_same_as_pipeline(ours[1], expected)


def test_long_pair_is_truncated_and_flagged(loaded):
    ours = classify(loaded, ["short", LONG_TEXT], ["also short", "short pair"])
    assert [r.truncated for r in ours] == [False, True]


def test_scores_only_when_asked(loaded):
    result = classify(loaded, ["hello"])[0]
    assert result.scores is None
    assert result.label in {"negative", "neutral", "positive"}


def test_label_names_rename_labels_in_id_order(loaded):
    plain = classify(loaded, TEXTS, all_scores=True)
    renamed = classify(loaded, TEXTS, all_scores=True, label_names=["neg", "neu", "pos"])
    mapping = {"negative": "neg", "neutral": "neu", "positive": "pos"}
    for a, b in zip(plain, renamed, strict=True):
        assert b.label == mapping[a.label]
        assert b.scores == {mapping[k]: v for k, v in a.scores.items()}


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a", "b"], "has 3 label"),
        (["a", "b", "c", "d"], "gives 4 name"),
        (["a", "", "c"], "empty"),
        (["a", "a", "b"], "repeats"),
    ],
)
def test_bad_label_names_are_input_errors(loaded, names, message):
    with pytest.raises(InputError, match=message):
        classify(loaded, ["hello"], label_names=names)


def test_pair_count_must_match_texts(loaded):
    with pytest.raises(InputError, match=r"2 text.*1 pair"):
        classify(loaded, ["a", "b"], ["c"])


@pytest.mark.parametrize(
    ("settings", "function"),
    [
        ({"num_labels": 3, "problem_type": "multi_label_classification"}, "sigmoid"),
        ({"num_labels": 1}, "sigmoid"),
        ({"num_labels": 1, "problem_type": "regression"}, "none"),
    ],
)
def test_score_function_follows_the_pipeline(tmp_path, settings, function):
    import math

    folder = tmp_path / "model"
    build_model(folder, "BertForSequenceClassification", seed=1, **settings)
    ours = classify(load(folder), TEXTS, all_scores=True)
    expected = reference_pipeline(folder)(TEXTS)
    for result, exp in zip(ours, expected, strict=True):
        assert_same_as_pipeline(result, exp)
    values = [v for r in ours for v in r.scores.values()]
    if function == "sigmoid":
        assert all(0.0 < v < 1.0 for v in values)
        if settings["num_labels"] > 1:  # independent labels: scores need not sum to 1
            assert not all(math.isclose(sum(r.scores.values()), 1.0, abs_tol=1e-3) for r in ours)
    else:
        assert any(v < 0.0 or v > 1.0 for v in values), "regression scores are raw values"
