import json

import pytest

from tests.cli.helpers import assert_clean_error, json_lines, run_cli
from tests.inference.keyed_models import build_keyed_qa, filler_context

QUESTION = "Where does Mary live?"
CONTEXT = "Mary lives in Paris [not Berlin]."


@pytest.fixture(scope="module")
def keyed_qa(tmp_path_factory):
    return build_keyed_qa(tmp_path_factory.mktemp("cli-keyed-qa"))


def long_context() -> str:
    return " ".join([*filler_context(400), "Paris", *filler_context(100, seed=1)])


def test_table_output(keyed_qa):
    result = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "-c", CONTEXT, "-k", "2")
    assert result.exit_code == 0, result.stderr
    assert "qa" in result.stdout and "Paris" in result.stdout
    assert "14" in result.stdout and "19" in result.stdout  # character offsets of "Paris"


def test_json_schema_and_long_context(keyed_qa):
    context = long_context()
    result = run_cli("qa", "-m", keyed_qa, "--json", "-q", QUESTION, "-q", "Which city?", "-c", context, "-k", "3")
    assert result.exit_code == 0, result.stderr
    rows = json_lines(result.stdout)
    assert [r["question"] for r in rows] == [QUESTION, "Which city?"]
    assert set(rows[0]) == {"question", "answers", "no_answer", "null_score", "windows"}
    assert rows[0]["windows"] > 5
    assert len(rows[0]["answers"]) == 3
    best = rows[0]["answers"][0]
    assert set(best) == {"text", "start", "end", "score"}
    assert (best["text"], best["start"]) == ("Paris", context.index("Paris"))
    assert best["end"] == best["start"] + 5
    assert rows[0]["no_answer"] is False and rows[0]["null_score"] is None


def test_context_file_and_output(keyed_qa, tmp_path):
    ctx = tmp_path / "ctx.txt"
    ctx.write_text(long_context(), encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    result = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "--context-file", ctx, "--output", out)
    assert result.exit_code == 0, result.stderr
    [row] = json_lines(out.read_text(encoding="utf-8"))
    assert row["answers"][0]["text"] == "Paris"


def test_context_from_stdin(keyed_qa):
    result = run_cli("qa", "-m", keyed_qa, "--json", "-q", QUESTION, "--context-file", "-", input=CONTEXT)
    assert result.exit_code == 0, result.stderr
    assert json_lines(result.stdout)[0]["answers"][0]["text"] == "Paris"


def test_batch_from_jsonl_and_csv(keyed_qa, tmp_path):
    lines = tmp_path / "in.jsonl"
    rows = [{"q": QUESTION, "passage": CONTEXT}, {"q": "Which city?", "passage": "It is London ."}]
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ("--question-column", "q", "--context-column", "passage", "--json")
    result = run_cli("qa", "-m", keyed_qa, "--input", lines, *args)
    assert result.exit_code == 0, result.stderr
    assert [r["answers"][0]["text"] for r in json_lines(result.stdout)] == ["Paris", "London"]
    table = tmp_path / "in.csv"
    table.write_text(f'question,context\n"{QUESTION}","{CONTEXT}"\nWhich?,It is London .\n', encoding="utf-8")
    result = run_cli("qa", "-m", keyed_qa, "--input", table, "--json")
    assert [r["answers"][0]["text"] for r in json_lines(result.stdout)] == ["Paris", "London"]


def test_jsonl_on_stdin(keyed_qa):
    piped = json.dumps({"question": QUESTION, "context": CONTEXT}) + "\n"
    result = run_cli("qa", "-m", keyed_qa, "--json", input=piped)
    assert result.exit_code == 0, result.stderr
    assert json_lines(result.stdout)[0]["answers"][0]["text"] == "Paris"


def test_allow_no_answer(keyed_qa):
    nothing = " ".join(filler_context(30))
    args = ("qa", "-m", keyed_qa, "--json", "-q", QUESTION, "-c", nothing, "--allow-no-answer")
    [row] = json_lines(run_cli(*args).stdout)
    assert row["no_answer"] is True and row["null_score"] > 0.5
    [row] = json_lines(run_cli(*args, "--null-threshold", "100").stdout)
    assert row["no_answer"] is False
    table = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "-c", nothing, "--allow-no-answer")
    assert "(no answer)" in table.stdout


def test_max_answer_length_option(keyed_qa):
    context = "Paris " + " ".join(filler_context(3)) + " Berlin"
    base = ("qa", "-m", keyed_qa, "--json", "-q", QUESTION, "-c", context, "-k", "2")
    narrow = json_lines(run_cli(*base, "--max-answer-length", "2").stdout)[0]
    wide = json_lines(run_cli(*base, "--max-answer-length", "10").stdout)[0]
    assert [a["text"] for a in narrow["answers"]] == ["Paris", "Berlin"]
    assert wide["answers"][1]["text"] == context


def test_missing_context(keyed_qa):
    assert_clean_error(run_cli("qa", "-m", keyed_qa, "-q", QUESTION), "--question needs a context", "--context-file")


def test_missing_question(keyed_qa):
    assert_clean_error(run_cli("qa", "-m", keyed_qa, "-c", CONTEXT), "no question", "--question")


def test_no_input_at_all(keyed_qa):
    assert_clean_error(run_cli("qa", "-m", keyed_qa), "no question given", "--input FILE")


def test_both_context_options(keyed_qa, tmp_path):
    ctx = tmp_path / "c.txt"
    ctx.write_text(CONTEXT, encoding="utf-8")
    result = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "-c", CONTEXT, "--context-file", ctx)
    assert_clean_error(result, "not both")


def test_missing_context_file(keyed_qa, tmp_path):
    result = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "--context-file", tmp_path / "nope.txt")
    assert_clean_error(result, "context file not found", "nope.txt")


def test_non_utf8_context_file(keyed_qa, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Mary lives in Paris.\nCaf\xe9.\n".encode("latin-1"))
    result = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "--context-file", bad)
    assert_clean_error(result, "not valid UTF-8", "line 2")


def test_missing_csv_column(keyed_qa, tmp_path):
    table = tmp_path / "in.csv"
    table.write_text("question,passage\nWho?,Mary\n", encoding="utf-8")
    result = run_cli("qa", "-m", keyed_qa, "--input", table)
    assert_clean_error(result, "column 'context' not found", "question, passage")


def test_doc_stride_too_large(keyed_qa):
    result = run_cli("qa", "-m", keyed_qa, "-q", QUESTION, "-c", CONTEXT, "--doc-stride", "60")
    assert_clean_error(
        result, "--doc-stride 60 is too large", "question", "room for 53 context tokens", "--doc-stride 26 or less"
    )


def test_model_without_span_head(tiny_encoder):
    result = run_cli("qa", "-m", tiny_encoder, "-q", QUESTION, "-c", CONTEXT)
    assert_clean_error(result, "question-answering (span) head")


def test_random_tiny_model_runs(tiny_qa):
    result = run_cli("qa", "-m", tiny_qa, "--json", "-q", QUESTION, "-c", CONTEXT, "-k", "2")
    assert result.exit_code == 0, result.stderr
    [row] = json_lines(result.stdout)
    for answer in row["answers"]:
        assert CONTEXT[answer["start"] : answer["end"]] == answer["text"]
