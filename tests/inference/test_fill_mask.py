import pytest

from bertkit.errors import InputError
from bertkit.inference.fill_mask import fill_mask
from bertkit.modeling.loading import load_for_inference

TEXTS = ["The capital of France is [MASK].", "I [MASK] this movie , it was [MASK] !", "hello [MASK]"]


@pytest.fixture(scope="module")
def loaded(tiny_mlm):
    return load_for_inference(str(tiny_mlm), "fill-mask", device="cpu", precision="fp32")


def test_same_predictions_as_transformers_pipeline(loaded, tiny_mlm):
    from transformers import pipeline

    reference = pipeline("fill-mask", model=str(tiny_mlm), device="cpu")
    ours = fill_mask(loaded, TEXTS, top_k=4, batch_size=2)
    for text, result in zip(TEXTS, ours, strict=True):
        expected = reference(text, top_k=4)
        expected = [expected] if isinstance(expected[0], dict) else expected
        assert len(result.masks) == len(expected)
        for mask, exp in zip(result.masks, expected, strict=True):
            assert [p.token_id for p in mask.predictions] == [e["token"] for e in exp]
            assert [p.token for p in mask.predictions] == [e["token_str"] for e in exp]
            assert [p.sequence for p in mask.predictions] == [e["sequence"] for e in exp]
            for p, e in zip(mask.predictions, exp, strict=True):
                assert p.score == pytest.approx(e["score"], rel=1e-4, abs=1e-6)


def test_targets_score_only_the_candidates_like_the_pipeline(loaded, tiny_mlm):
    from transformers import pipeline

    reference = pipeline("fill-mask", model=str(tiny_mlm), device="cpu")
    text = "The capital of France is [MASK]."
    ours = fill_mask(loaded, [text], top_k=5, targets=["paris", "london", "berlin"])[0]
    expected = reference(text, targets=["paris", "london", "berlin"], top_k=5)
    assert [p.token for p in ours.masks[0].predictions] == [e["token_str"] for e in expected]
    assert len(ours.masks[0].predictions) == 3


def test_results_come_back_in_input_order_whatever_the_batching(loaded):
    texts = ["a [MASK]", "the very long text about a city and a river in the north [MASK] .", "[MASK] b"]
    one_by_one = [fill_mask(loaded, [t], top_k=2)[0] for t in texts]
    batched = fill_mask(loaded, texts, top_k=2, batch_size=2)
    assert [r.text for r in batched] == texts
    for a, b in zip(one_by_one, batched, strict=True):
        assert [p.token_id for p in a.masks[0].predictions] == [p.token_id for p in b.masks[0].predictions]


def test_text_without_mask_is_an_input_error(loaded):
    with pytest.raises(InputError, match="no mask token"):
        fill_mask(loaded, ["a [MASK]", "no mask here"])


def test_unknown_target_is_an_input_error(loaded):
    with pytest.raises(InputError, match="vocabulary"):
        fill_mask(loaded, ["a [MASK]"], targets=["\u2603"])
