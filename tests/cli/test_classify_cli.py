import json

import pytest

from tests.cli.helpers import assert_clean_error, json_lines, run_cli
from tests.tiny import build_model

LABELS = {"negative", "neutral", "positive"}
FIELDS = {"text", "text_pair", "label", "score", "scores", "truncated"}


@pytest.fixture(scope="module")
def unnamed_classifier(tmp_path_factory):
    """A classifier saved without label names (LABEL_0, LABEL_1)."""
    folder = tmp_path_factory.mktemp("unnamed-clf")
    build_model(folder, "BertForSequenceClassification", num_labels=2)
    return folder


def classify_json(model, *args, input=None):
    result = run_cli("classify", "-m", model, "--json", "--precision", "fp32", *args, input=input)
    assert result.exit_code == 0, result.stderr
    return json_lines(result.stdout)


def test_table_output_keeps_user_text_literal(tiny_classifier):
    result = run_cli("classify", "-m", tiny_classifier, "I love this [product]!", "awful food")
    assert result.exit_code == 0, result.stderr
    assert "classify" in result.stdout
    assert "I love this [product]!" in result.stdout  # no Rich markup interpretation
    assert any(label in result.stdout for label in LABELS)


def test_json_schema_and_order(tiny_classifier):
    rows = classify_json(tiny_classifier, "good movie", "bad", "the king of the north")
    assert [r["text"] for r in rows] == ["good movie", "bad", "the king of the north"]
    for row in rows:
        assert set(row) == FIELDS
        assert row["label"] in LABELS
        assert 0.0 < row["score"] <= 1.0
        assert row["scores"] is None
        assert row["text_pair"] is None
        assert row["truncated"] is False


def test_all_scores_lists_every_label_highest_first(tiny_classifier):
    row = classify_json(tiny_classifier, "--all-scores", "good movie")[0]
    assert set(row["scores"]) == LABELS
    values = list(row["scores"].values())
    assert values == sorted(values, reverse=True)
    assert row["scores"][row["label"]] == row["score"]
    assert sum(values) == pytest.approx(1.0, abs=1e-5)


def test_pairs_as_arguments(tiny_classifier):
    rows = classify_json(tiny_classifier, "a man is here", "--pair", "a person is here", "cats", "--pair", "dogs")
    assert [(r["text"], r["text_pair"]) for r in rows] == [("a man is here", "a person is here"), ("cats", "dogs")]


def test_txt_file_and_output_file(tiny_classifier, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("good movie\n\nbad food\nhello world\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = run_cli("classify", "-m", tiny_classifier, "--input", src, "--output", out)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["text"] for r in rows] == ["good movie", "bad food", "hello world"]
    assert "Wrote 3 result(s)" in result.stderr


def test_jsonl_with_columns(tiny_classifier, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [{"premise": "a man sleeps", "hypothesis": "a person rests"}, {"premise": "cats", "hypothesis": "dogs"}]
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    rows = classify_json(tiny_classifier, "-i", src, "--column", "premise", "--pair-column", "hypothesis")
    assert [(r["text"], r["text_pair"]) for r in rows] == [("a man sleeps", "a person rests"), ("cats", "dogs")]


def test_csv_with_columns_matches_arguments(tiny_classifier, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,body,other\n1,"good, very good",the book\n2,bad food,a song\n', encoding="utf-8")
    rows = classify_json(tiny_classifier, "-i", src, "--column", "body", "--pair-column", "other", "--all-scores")
    assert [(r["text"], r["text_pair"]) for r in rows] == [("good, very good", "the book"), ("bad food", "a song")]
    direct = classify_json(
        tiny_classifier, "good, very good", "--pair", "the book", "bad food", "--pair", "a song", "--all-scores"
    )
    assert [r["scores"] for r in rows] == [r["scores"] for r in direct]


def test_reads_stdin(tiny_classifier):
    rows = classify_json(tiny_classifier, input="good movie\nbad movie\n")
    assert [r["text"] for r in rows] == ["good movie", "bad movie"]


def test_long_input_is_truncated_with_a_warning(tiny_classifier):
    long_text = " ".join(["the good movie was a bad film"] * 40)
    result = run_cli("classify", "-m", tiny_classifier, "--json", "short", long_text)
    assert result.exit_code == 0, result.stderr
    assert [r["truncated"] for r in json_lines(result.stdout)] == [False, True]
    assert "1 of 2 input(s)" in result.stderr and "truncated" in result.stderr


def test_labels_name_an_unnamed_model(unnamed_classifier):
    plain = run_cli("classify", "-m", unnamed_classifier, "--json", "good movie")
    assert plain.exit_code == 0, plain.stderr
    assert "labels have no names" in plain.stderr
    assert json_lines(plain.stdout)[0]["label"] in {"LABEL_0", "LABEL_1"}
    named = run_cli("classify", "-m", unnamed_classifier, "--json", "--labels", "neg,pos", "--all-scores", "good movie")
    assert named.exit_code == 0, named.stderr
    assert "labels have no names" not in named.stderr
    row = json_lines(named.stdout)[0]
    assert set(row["scores"]) == {"neg", "pos"}
    assert row["label"] == {"LABEL_0": "neg", "LABEL_1": "pos"}[json_lines(plain.stdout)[0]["label"]]


def test_model_without_classification_head(tiny_encoder):
    assert_clean_error(run_cli("classify", "-m", tiny_encoder, "hello"), "classification head")


def test_missing_csv_column(tiny_classifier, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("sentence,id\nhello,1\n", encoding="utf-8")
    result = run_cli("classify", "-m", tiny_classifier, "-i", src, "--column", "body")
    assert_clean_error(result, "column 'body' not found", "sentence, id")


def test_missing_pair_column(tiny_classifier, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text,id\nhello,1\n", encoding="utf-8")
    result = run_cli("classify", "-m", tiny_classifier, "-i", src, "--pair-column", "second")
    assert_clean_error(result, "column 'second' not found")


def test_empty_input(tiny_classifier, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert_clean_error(run_cli("classify", "-m", tiny_classifier, "-i", empty), "no input")


def test_no_input_at_all(tiny_classifier):
    assert_clean_error(run_cli("classify", "-m", tiny_classifier, input=""), "no input")


def test_non_utf8_file(tiny_classifier, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("good\ncaf\xe9 food\n".encode("latin-1"))
    assert_clean_error(run_cli("classify", "-m", tiny_classifier, "-i", bad), "not valid UTF-8", "line 2")


def test_pair_count_must_match_texts(tiny_classifier):
    result = run_cli("classify", "-m", tiny_classifier, "a", "b", "--pair", "c")
    assert_clean_error(result, "2 text(s) but 1 --pair")


def test_pair_without_texts(tiny_classifier, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\n", encoding="utf-8")
    assert_clean_error(run_cli("classify", "-m", tiny_classifier, "-i", src, "--pair", "x"), "--pair-column")


def test_pair_column_needs_a_file(tiny_classifier):
    assert_clean_error(run_cli("classify", "-m", tiny_classifier, "a", "--pair-column", "b"), "--pair-column")


def test_pair_column_with_plain_text_file(tiny_classifier, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\n", encoding="utf-8")
    result = run_cli("classify", "-m", tiny_classifier, "-i", src, "--pair-column", "b")
    assert_clean_error(result, "one text per line", "JSONL, CSV or TSV")


def test_labels_count_must_match_the_model(tiny_classifier):
    result = run_cli("classify", "-m", tiny_classifier, "hello", "--labels", "a,b")
    assert_clean_error(result, "2 name(s)", "3 label(s)", "negative, neutral, positive")
