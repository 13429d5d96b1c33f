import json

import pytest

from bertkit.data import load_splits
from bertkit.errors import DataError
from tests.data.conftest import make_recipe


def squad(paragraphs, version="1.1"):
    return json.dumps({"version": version, "data": [{"title": "T", "paragraphs": paragraphs}]})


CONTEXT = "Paris is the capital of France."


def test_nested_squad_v1_is_flattened(files):
    qas = [
        {"id": "q1", "question": "What is the capital?", "answers": [{"text": "Paris", "answer_start": 0}] * 2},
        {"id": "q2", "question": "Of what?", "answers": [{"text": "France", "answer_start": 24}]},
    ]
    path = files("train-v1.1.json", squad([{"context": CONTEXT, "qas": qas}]))
    splits = load_splits(make_recipe("question-answering", train_file=str(path)), splits=["train"])
    rows = splits.train.to_list()
    assert rows[0] == {
        "question": "What is the capital?",
        "context": CONTEXT,
        "id": "q1",
        "answers": {"text": ["Paris", "Paris"], "answer_start": [0, 0]},
    }
    assert rows[1]["answers"] == {"text": ["France"], "answer_start": [24]}
    assert any("SQuAD JSON v1.1, 2 questions" in note for note in splits.notes)
    assert splits.label_names is None


def test_squad_v2_impossible_questions_have_no_answers(files):
    qas = [
        {"id": "a", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": 0}], "is_impossible": False},
        {
            "id": "b",
            "question": "Population?",
            "answers": [],
            "is_impossible": True,
            "plausible_answers": [{"text": "France", "answer_start": 24}],
        },
    ]
    path = files("v2.json", squad([{"context": CONTEXT, "qas": qas}], "v2.0"))
    recipe = make_recipe({"type": "question-answering", "version_2_with_negative": True}, train_file=str(path))
    splits = load_splits(recipe, splits=["train"])
    assert splits.train["answers"][1] == {"text": [], "answer_start": []}
    assert "train: 1 question(s) without an answer (SQuAD 2.0 style)" in splits.notes


def test_mismatched_answers_are_counted(files):
    qas = [
        {"id": "a", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": 0}]},
        {"id": "b", "question": "Country?", "answers": [{"text": "France", "answer_start": 3}]},
    ]
    path = files("t.json", squad([{"context": CONTEXT, "qas": qas}]))
    splits = load_splits(make_recipe("question-answering", train_file=str(path)), splits=["train"])
    assert any("train: 1 of 2 answers do not match the context at answer_start" in n for n in splits.notes)


def test_all_mismatched_answers_are_an_error(files):
    rows = [{"question": "Capital?", "context": CONTEXT, "answer_text": "Paris", "answer_start": 5}]
    path = files.jsonl("t.jsonl", rows)
    with pytest.raises(DataError) as info:
        load_splits(make_recipe("question-answering", train_file=str(path)), splits=["train"])
    assert "none of the 1 answers is found at its answer_start" in info.value.message
    assert f"{path}:1" in info.value.message
    assert "character offset" in info.value.hint


def test_broken_squad_structure_names_the_path(files):
    bad = squad([{"context": CONTEXT, "qas": [{"id": "x", "answers": []}]}])
    path = files("bad.json", bad)
    with pytest.raises(DataError, match=r"bad.json: data\[0\].paragraphs\[0\].qas\[0\] has no 'question'"):
        load_splits(make_recipe("question-answering", train_file=str(path), format="squad"), splits=["train"])


def test_flat_csv_with_answer_columns_and_generated_ids(files):
    text = 'question,context,answer_text,answer_start\nCapital?,"Paris is the capital of France.",Paris,0\n'
    path = files("qa.csv", text)
    splits = load_splits(make_recipe("question-answering", train_file=str(path)), splits=["train"])
    assert splits.train[0]["answers"] == {"text": ["Paris"], "answer_start": [0]}
    assert splits.train[0]["id"] == "train-0"
    assert sorted(splits.train.column_names) == ["answers", "context", "id", "question"]


def test_answer_start_must_be_an_integer(files):
    path = files("qa.csv", "question,context,answer_text,answer_start\nQ?,Paris,Paris,first\n")
    with pytest.raises(DataError, match=rf"train split, {path}:2: answer_start 'first' is not a character offset"):
        load_splits(make_recipe("question-answering", train_file=str(path)), splits=["train"])


def test_answers_as_a_list_of_objects(files):
    rows = [{"question": "Q?", "context": CONTEXT, "answers": [{"text": "Paris", "answer_start": 0}]}]
    splits = load_splits(
        make_recipe("question-answering", train_file=str(files.jsonl("a.jsonl", rows))), splits=["train"]
    )
    assert splits.train[0]["answers"] == {"text": ["Paris"], "answer_start": [0]}


def test_no_answer_columns(files):
    path = files.jsonl("a.jsonl", [{"question": "Q?", "context": CONTEXT}])
    with pytest.raises(DataError, match=r"has no column for answers \(available: question, context\)"):
        load_splits(make_recipe("question-answering", train_file=str(path)), splits=["train"])
