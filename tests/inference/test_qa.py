import math

import pytest

from bertkit.errors import InputError
from bertkit.inference.qa import answer_questions
from bertkit.modeling.loading import load_for_inference
from bertkit.tasks.windows import qa_features, tokenize_texts
from tests.inference.keyed_models import filler_context

QUESTION = "Where is Paris?"


@pytest.fixture(scope="module")
def keyed(keyed_qa):
    return load_for_inference(str(keyed_qa), "question-answering", device="cpu", precision="fp32")


def join(*parts):
    return " ".join(w for part in parts for w in (part if isinstance(part, list) else [part]))


def test_answer_beyond_the_first_window(keyed):
    context = join(filler_context(400), "Paris", filler_context(150, seed=1))
    [result] = answer_questions(keyed, [QUESTION], [context], top_k=1)
    answer = result.answers[0]
    assert (answer.text, answer.start, answer.end) == ("Paris", context.index("Paris"), context.index("Paris") + 5)
    assert result.windows > 5
    assert not result.no_answer and result.null_score is None


def test_answer_in_an_overlap_is_listed_once(keyed):
    filler = filler_context(300)
    features = qa_features(keyed.tokenizer, [QUESTION], [join(filler)], max_length=64, doc_stride=20)
    covered = [(f.context_start, f.context_start + f.context_range[1] - f.context_range[0]) for f in features]
    in_overlap = next(t for t in range(100, 300) if sum(a <= t < b for a, b in covered) == 2)
    words = [*filler[:in_overlap], "Berlin", *filler[in_overlap + 1 :]]  # one token per filler word
    context = join(words)
    assert len(tokenize_texts(keyed.tokenizer, [context])[0]) == len(filler)
    [result] = answer_questions(keyed, [QUESTION], [context], top_k=3, max_length=64, doc_stride=20)
    texts = [a.text for a in result.answers]
    assert texts[0] == "Berlin" and texts.count("Berlin") == 1
    assert result.answers[0].start == context.index("Berlin")


def test_nbest_order_and_max_answer_length(keyed):
    context = join(filler_context(6), "Paris", filler_context(10, 1), "Berlin", filler_context(10, 2), "London", ".")
    [short] = answer_questions(keyed, [QUESTION], [context], top_k=3, max_answer_length=5)
    assert [a.text for a in short.answers] == ["Paris", "Berlin", "London"]
    assert [a.start for a in short.answers] == [context.index(w) for w in ("Paris", "Berlin", "London")]
    scores = [a.score for a in short.answers]
    assert scores == sorted(scores, reverse=True)
    [wide] = answer_questions(keyed, [QUESTION], [context], top_k=3, max_answer_length=30)
    # a span from Paris to Berlin (start 6 + end 5) now beats Berlin alone (5 + 5)
    assert wide.answers[1].text.startswith("Paris") and wide.answers[1].text.endswith("Berlin")
    assert wide.answers[0].text == "Paris"


def test_multi_token_answer_and_question_tokens_are_never_answers(keyed):
    context = join(filler_context(8), "New York", filler_context(8, 1))
    [result] = answer_questions(keyed, ["Is it Paris or Berlin?"], [context])
    answer = result.answers[0]
    assert (answer.text, answer.start) == ("New York", context.index("New York"))


def test_score_is_the_product_of_start_and_end_softmaxes(keyed):
    import torch

    context = join(filler_context(5), "Berlin", filler_context(5, 1))
    [result] = answer_questions(keyed, [QUESTION], [context], allow_no_answer=True)
    [feature] = qa_features(keyed.tokenizer, [QUESTION], [context], max_length=64, doc_stride=16)
    with torch.no_grad():
        out = keyed.model(**{k: torch.tensor([v]) for k, v in feature.model_inputs().items()})
    lo, hi = feature.context_range
    keep = [feature.cls_index, *range(lo, hi)]
    pos = next(i for i in range(lo, hi) if feature.offsets[i][0] == context.index("Berlin"))

    def prob(row, i):
        return math.exp(row[i]) / sum(math.exp(row[k]) for k in keep)

    starts, ends = out.start_logits[0].tolist(), out.end_logits[0].tolist()
    assert result.answers[0].score == pytest.approx(prob(starts, pos) * prob(ends, pos), rel=1e-5)
    assert result.null_score == pytest.approx(prob(starts, 0) * prob(ends, 0), rel=1e-5)


def test_no_answer_for_squad2_style_use(keyed):
    nothing = join(filler_context(40))
    something = join(filler_context(20), "London", filler_context(20, 1))
    results = answer_questions(keyed, [QUESTION, QUESTION], [nothing, something], allow_no_answer=True)
    assert results[0].no_answer and results[0].null_score > 0.5
    assert not results[1].no_answer and results[1].answers[0].text == "London"
    # the threshold moves the decision both ways
    lenient = answer_questions(keyed, [QUESTION], [nothing], allow_no_answer=True, null_threshold=100.0)[0]
    assert not lenient.no_answer
    eager = answer_questions(keyed, [QUESTION], [something], allow_no_answer=True, null_threshold=-100.0)[0]
    assert eager.no_answer and eager.answers[0].text == "London"
    # without --allow-no-answer there is always an answer
    assert not answer_questions(keyed, [QUESTION], [nothing])[0].no_answer


def test_results_in_input_order_whatever_the_batching(keyed):
    contexts = [join(filler_context(n, n), city, filler_context(9)) for n, city in [(50, "Paris"), (5, "Berlin")]]
    contexts.append(join(filler_context(200, 7), "London", "."))
    batched = answer_questions(keyed, ["a?", "b?", "c?"], contexts, batch_size=2)
    assert [r.question for r in batched] == ["a?", "b?", "c?"]
    assert [r.answers[0].text for r in batched] == ["Paris", "Berlin", "London"]


def test_bad_settings_are_input_errors(keyed):
    with pytest.raises(InputError, match="--doc-stride 60 is too large"):
        answer_questions(keyed, [QUESTION], ["Paris"], doc_stride=60)
    with pytest.raises(InputError, match="more than the model takes"):
        answer_questions(keyed, [QUESTION], ["Paris"], max_length=100)
    with pytest.raises(InputError, match="leaves no room for context"):
        answer_questions(keyed, ["where " * 70], ["Paris"])
    with pytest.raises(InputError, match="--top-k"):
        answer_questions(keyed, [QUESTION], ["Paris"], top_k=0)
    with pytest.raises(InputError, match="one context per question"):
        answer_questions(keyed, [QUESTION, QUESTION], ["Paris"])
