import pytest

from tests.cli.helpers import assert_clean_error, json_lines, run_cli
from tests.inference.keyed_models import build_keyed_tagger, keyed_document

TEXT = "George Washington went to Washington."


@pytest.fixture(scope="module")
def keyed_tagger(tmp_path_factory):
    return build_keyed_tagger(tmp_path_factory.mktemp("cli-keyed-tagger"))


def test_table_output(keyed_tagger):
    result = run_cli("ner", "-m", keyed_tagger, "the city of the John Smith [went] to Paris .")
    assert result.exit_code == 0, result.stderr
    assert "ner" in result.stdout
    for cell in ("John Smith", "PER", "Paris", "LOC", "16", "26"):
        assert cell in result.stdout


def test_json_schema_and_long_text(keyed_tagger):
    text, expected = keyed_document()
    result = run_cli("ner", "-m", keyed_tagger, "--json", "--precision", "fp32", text, "the city of the Mary")
    assert result.exit_code == 0, result.stderr
    rows = json_lines(result.stdout)
    assert [r["text"] for r in rows] == [text, "the city of the Mary"]
    assert set(rows[0]) == {"text", "entities", "windows"}
    assert rows[0]["windows"] > 5
    assert set(rows[0]["entities"][0]) == {"text", "type", "start", "end", "score"}
    assert [(e["text"], e["type"], e["start"], e["end"]) for e in rows[0]["entities"]] == expected
    assert rows[1]["entities"][0]["text"] == "Mary"


def test_options_reach_the_library(keyed_tagger):
    text, expected = keyed_document(n_words=150, seed=4)
    args = ("ner", "-m", keyed_tagger, "--json", "--max-length", "32", "--stride", "10", "--aggregation", "max", text)
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    [row] = json_lines(result.stdout)
    assert row["windows"] > 6
    assert [(e["text"], e["start"]) for e in row["entities"]] == [(t, s) for t, _, s, _ in expected]


def test_reads_files_and_writes_output(tiny_tagger, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text(f"{TEXT}\n\nJohn Smith lives in Paris.\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = run_cli("ner", "-m", tiny_tagger, "--input", src, "--output", out)
    assert result.exit_code == 0, result.stderr
    import json

    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["text"] for r in rows] == [TEXT, "John Smith lives in Paris."]


def test_reads_csv_column_and_jsonl(tiny_tagger, tmp_path):
    table = tmp_path / "in.csv"
    table.write_text(f'id,body\n1,"{TEXT}"\n2,Mary went to Berlin.\n', encoding="utf-8")
    result = run_cli("ner", "-m", tiny_tagger, "--input", table, "--column", "body", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["text"] for r in json_lines(result.stdout)] == [TEXT, "Mary went to Berlin."]
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"text": "one"}\n{"text": "two"}\n', encoding="utf-8")
    result = run_cli("ner", "-m", tiny_tagger, "--input", lines, "--json")
    assert [r["text"] for r in json_lines(result.stdout)] == ["one", "two"]


def test_reads_stdin(tiny_tagger):
    result = run_cli("ner", "-m", tiny_tagger, "--json", input=f"{TEXT}\nJohn Smith\n")
    assert result.exit_code == 0, result.stderr
    assert len(json_lines(result.stdout)) == 2


def test_model_without_token_classification_head(tiny_encoder):
    assert_clean_error(run_cli("ner", "-m", tiny_encoder, TEXT), "token-classification head")


def test_empty_input(tiny_tagger, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert_clean_error(run_cli("ner", "-m", tiny_tagger, "--input", empty), "no input")


def test_non_utf8_file(tiny_tagger, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 in Paris\n".encode("latin-1"))
    assert_clean_error(run_cli("ner", "-m", tiny_tagger, "--input", bad), "not valid UTF-8", "line 1")


def test_missing_csv_column(tiny_tagger, tmp_path):
    table = tmp_path / "in.csv"
    table.write_text("sentence,id\nJohn Smith,1\n", encoding="utf-8")
    result = run_cli("ner", "-m", tiny_tagger, "--input", table, "--column", "body")
    assert_clean_error(result, "column 'body' not found", "sentence, id")


def test_stride_too_large(tiny_tagger):
    result = run_cli("ner", "-m", tiny_tagger, "--max-length", "64", "--stride", "62", TEXT)
    assert_clean_error(result, "--stride 62 is too large", "room for 62 text tokens", "--stride 31 or less")


def test_max_length_beyond_the_model(tiny_tagger):
    assert_clean_error(run_cli("ner", "-m", tiny_tagger, "--max-length", "4096", TEXT), "more than the model takes")


def test_unknown_aggregation(tiny_tagger):
    assert_clean_error(run_cli("ner", "-m", tiny_tagger, "--aggregation", "mean", TEXT), "unknown aggregation")
