"""QuestionAnsweringTask: doc-stride features and span labels, n-best evaluation over windows, SQuAD scores."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bertkit.errors import DataError, RecipeError
from bertkit.recipes.schema import QuestionAnsweringTask as Spec
from bertkit.tasks.base import FEATURE_INDEX
from bertkit.tasks.qa_scoring import answer_chars
from bertkit.tasks.question_answering import EXAMPLE_INDEX, QuestionAnsweringTask

FILLER = "the king lives in paris . " * 8
CONTEXT = FILLER + "mary works at google in london ."
QUESTION = "where does mary work ?"


def row(question, context, answer=None, start=None, row_id="q"):
    if answer is None:
        return {"id": row_id, "question": question, "context": context, "answers": {"text": [], "answer_start": []}}
    start = context.index(answer) if start is None else start
    return {
        "id": row_id,
        "question": question,
        "context": context,
        "answers": {"text": [answer], "answer_start": [start]},
    }


def splits_of(train, validation=None):
    import datasets

    def build(rows):
        return None if rows is None else datasets.Dataset.from_list(rows)

    return SimpleNamespace(train=build(train), validation=build(validation), test=None, label_names=None, sources={})


def make_task(**spec):
    settings = {"max_length": 32, "doc_stride": 4, "max_question_length": 8, **spec}
    return QuestionAnsweringTask(Spec(type="question-answering", **settings))


def prepared(task, splits, tokenizer):
    task.setup(splits)
    return task.prepare(splits, tokenizer)


def test_answers_beyond_the_first_window_are_labelled_in_the_windows_that_hold_them(tokenizer):
    task = make_task()
    encoded = prepared(task, splits_of([row(QUESTION, CONTEXT, "google")]), tokenizer)
    features = encoded["train"].features
    assert len(features) >= 3 and all(len(ids) <= 32 for ids in features["input_ids"])
    holding = []
    for k in range(len(features)):
        first, last = features[k]["start_positions"], features[k]["end_positions"]
        if first == last == 0:  # [CLS]: the answer is not wholly in this window
            continue
        holding.append(k)
        assert tokenizer.decode(features[k]["input_ids"][first : last + 1]) == "google"
    assert holding and holding[0] > 0  # found beyond the first window
    assert any("contexts need more than one window" in note for note in task.prepare_notes)


def fake_outputs(batch, aim):
    """Logits that point at ``aim(row) -> (start, end)`` window positions."""
    import torch

    rows, width = batch["input_ids"].shape
    starts, ends = torch.full((rows, width), -8.0), torch.full((rows, width), -8.0)
    for r in range(rows):
        first, last = aim(r)
        starts[r, first], ends[r, last] = 8.0, 8.0
    return SimpleNamespace(start_logits=starts, end_logits=ends)


def evaluate(task, split, aim, batch_size=2):
    """What the engine does: collate evaluation batches (with feature_index), reduce each, concatenate."""
    import numpy as np

    features = split.features
    order = list(range(len(features)))[::-1]  # any order must work
    parts: dict[str, list] = {}
    for begin in range(0, len(order), batch_size):
        rows = [features[i] for i in order[begin : begin + batch_size]]
        batch = task.collate(rows)
        reduced = task.eval_reduce(fake_outputs(batch, lambda r, rows=rows: aim(rows[r])), batch)
        for key, value in reduced.items():
            parts.setdefault(key, []).append(value.numpy())
    return {key: np.concatenate(values) for key, values in parts.items()}


def gold_span(feature):
    return feature["start_positions"], feature["end_positions"]


def test_evaluation_finds_answers_in_later_windows_with_small_results(tokenizer):
    task = make_task(n_best=5)
    rows = [
        row(QUESTION, CONTEXT, "google", row_id="a"),
        row("who rules ?", "the king rules .", "the king", row_id="b"),
    ]
    encoded = prepared(task, splits_of(rows, rows), tokenizer)
    validation = encoded["validation"]
    assert FEATURE_INDEX in validation.features.column_names
    results = evaluate(task, validation, gold_span)
    assert results["span_chars"].shape == (len(validation.features), 5, 2)  # n-best per window, not logits
    assert task.compute_metrics(results, validation) == {"exact_match": 1.0, "f1": 1.0}
    predictions = task.postprocess(results, validation)
    assert [(p["id"], p["prediction_text"]) for p in predictions] == [("a", "google"), ("b", "the king")]
    assert predictions[0]["start"] == CONTEXT.index("google")

    def off_by_one(feature):  # "google in" instead of "google": partial credit
        first, last = gold_span(feature)
        return (first, last + 1) if first else (0, 0)

    scores = task.compute_metrics(evaluate(task, validation, off_by_one), validation)
    assert scores["exact_match"] == 0.0 and scores["f1"] == pytest.approx(2 / 3)  # "google in", "king rules"


def test_max_answer_length_limits_the_spans_searched(tokenizer):
    task = make_task(max_answer_length=1)
    rows = [row("who rules ?", "the king rules .", "the king")]
    validation = prepared(task, splits_of(rows, rows), tokenizer)["validation"]
    prediction = task.postprocess(evaluate(task, validation, gold_span), validation)[0]["prediction_text"]
    assert prediction in ("the", "king")


def test_answers_not_at_their_start_are_found_and_missing_ones_skipped(tokenizer):
    task = make_task()
    moved = row(QUESTION, CONTEXT, "google", start=3)  # wrong answer_start, the text is in the context
    missing = row(QUESTION, CONTEXT, "berlin", start=0)
    notes = task.setup(splits_of([moved, missing]))
    assert any("1 answer(s) not at their answer_start" in n and "1 question(s) whose answer" in n for n in notes)
    features = task.prepare(splits_of([moved, missing]), tokenizer)["train"].features
    assert set(features[EXAMPLE_INDEX]) == {0}  # nothing trained for the missing answer
    assert answer_chars(CONTEXT, "google", 3) == (CONTEXT.index("google"), CONTEXT.index("google") + 6)
    assert answer_chars(CONTEXT, "berlin", 0) is None


def test_unanswerable_questions_need_version_2(tokenizer):
    rows = [row(QUESTION, CONTEXT, "google"), row("who is the president ?", "mary lives in paris .")]
    with pytest.raises(DataError, match=r"1 of 2 train questions have no answer .*version_2_with_negative is false"):
        make_task().setup(splits_of(rows))
    task = make_task(version_2_with_negative=True)
    validation = prepared(task, splits_of(rows, rows), tokenizer)["validation"]
    no_answer_rows = [k for k, ex in enumerate(validation.features[EXAMPLE_INDEX]) if ex == 1]
    assert all(gold_span(validation.features[k]) == (0, 0) for k in no_answer_rows)  # trained on [CLS]
    scores = task.compute_metrics(evaluate(task, validation, gold_span), validation)
    assert scores["has_ans_exact_match"] == 1.0 and scores["no_ans_exact_match"] == 1.0
    assert task.postprocess(evaluate(task, validation, gold_span), validation)[1]["no_answer"] is True
    assert "no_ans_f1" in task.metric_names()


def test_long_questions_are_cut_and_counted(tokenizer):
    task = make_task(max_question_length=4)
    long_question = "where is the city of john smith ?"
    encoded = prepared(task, splits_of([row(long_question, CONTEXT, "google")]), tokenizer)
    first = encoded["train"].features[0]["input_ids"]
    assert tokenizer.decode(first[1 : first.index(tokenizer.sep_token_id)]) == "where is the city"
    assert any("1 of 1 questions are longer than task.max_question_length=4" in n for n in task.prepare_notes)


def test_a_doc_stride_that_leaves_no_new_context_stops_before_encoding(tokenizer):
    # The schema checks this for BERT's 3 special tokens; the task checks it with the tokenizer's own layout.
    fields = {**Spec(type="question-answering").model_dump(), "max_length": 32, "max_question_length": 8}
    task = QuestionAnsweringTask(Spec.model_construct(**{**fields, "doc_stride": 21}))
    with pytest.raises(RecipeError) as info:
        task.encode(splits_of([row(QUESTION, CONTEXT, "google")]).train, tokenizer, "train")
    assert "task.doc_stride (21) must be less than the room left for the context" in info.value.message
    assert "task.max_length (32) - task.max_question_length (8) - 3 special tokens = 21" in info.value.message


def test_config_records_the_windowing():
    updates = make_task().model_config_updates()["bertkit"]
    assert updates == {
        "task": "question-answering",
        "max_length": 32,
        "doc_stride": 4,
        "max_answer_length": 30,
        "version_2_with_negative": False,
        "null_score_threshold": 0.0,
    }


def test_scores_use_the_official_squad_normalisation(tokenizer):
    task = make_task()
    rows = [row("who rules ?", "the king rules .", "the king")]
    validation = prepared(task, splits_of(rows, rows), tokenizer)["validation"]

    def without_article(feature):  # "king" for the gold "the king": the same answer once normalised
        first, last = gold_span(feature)
        return first + 1, last

    assert task.compute_metrics(evaluate(task, validation, without_article), validation) == {
        "exact_match": 1.0,
        "f1": 1.0,
    }
