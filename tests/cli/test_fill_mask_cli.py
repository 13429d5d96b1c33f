from tests.cli.helpers import assert_clean_error, json_lines, run_cli


def test_table_output_shows_mask_literally(tiny_mlm):
    result = run_cli("fill-mask", "-m", tiny_mlm, "a [MASK] b [MASK]", "-k", "2")
    assert result.exit_code == 0, result.stderr
    assert "[MASK]" in result.stdout  # Rich markup must not eat it
    assert "fill-mask" in result.stdout


def test_json_schema(tiny_mlm):
    result = run_cli("fill-mask", "-m", tiny_mlm, "--json", "-k", "3", "hello [MASK]", "[MASK] world [MASK]")
    assert result.exit_code == 0, result.stderr
    rows = json_lines(result.stdout)
    assert [r["text"] for r in rows] == ["hello [MASK]", "[MASK] world [MASK]"]
    assert len(rows[1]["masks"]) == 2
    pred = rows[0]["masks"][0]["predictions"][0]
    assert set(pred) == {"token", "token_id", "score", "sequence"}
    assert len(rows[0]["masks"][0]["predictions"]) == 3


def test_reads_txt_file_and_writes_output(tiny_mlm, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello [MASK]\n\nthe [MASK] city\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("fill-mask", "-m", tiny_mlm, "--input", src, "--output", out)
    assert result.exit_code == 0, result.stderr
    assert [r["text"] for r in json_lines(out.read_text())] == ["hello [MASK]", "the [MASK] city"]


def test_reads_stdin(tiny_mlm):
    result = run_cli("fill-mask", "-m", tiny_mlm, "--json", input="one [MASK]\ntwo [MASK]\n")
    assert result.exit_code == 0, result.stderr
    assert len(json_lines(result.stdout)) == 2


def test_no_mask_token(tiny_mlm):
    assert_clean_error(run_cli("fill-mask", "-m", tiny_mlm, "no mask"), "no mask token", "[MASK]")


def test_model_without_mlm_head(tiny_encoder):
    assert_clean_error(run_cli("fill-mask", "-m", tiny_encoder, "a [MASK]"), "masked-LM head")


def test_missing_model_folder(tmp_path):
    assert_clean_error(run_cli("fill-mask", "-m", tmp_path / "nope", "a [MASK]"), "not found")


def test_offline_hub_id_names_model_and_fix():
    result = run_cli("fill-mask", "-m", "some-org/not-a-cached-model", "a [MASK]")
    assert_clean_error(result, "some-org/not-a-cached-model", "HF_HUB_OFFLINE", "local model folder")


def test_empty_input(tiny_mlm, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert_clean_error(run_cli("fill-mask", "-m", tiny_mlm, "--input", empty), "no input")


def test_non_utf8_file(tiny_mlm, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 [MASK]\n".encode("latin-1"))
    assert_clean_error(run_cli("fill-mask", "-m", tiny_mlm, "--input", bad), "not valid UTF-8", "line 1")


def test_missing_csv_column(tiny_mlm, tmp_path):
    table = tmp_path / "in.csv"
    table.write_text("sentence,id\nhello [MASK],1\n", encoding="utf-8")
    result = run_cli("fill-mask", "-m", tiny_mlm, "--input", table, "--column", "body")
    assert_clean_error(result, "column 'body' not found", "sentence, id")
