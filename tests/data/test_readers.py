import hashlib

import pytest

from bertkit.data.readers import read_local
from bertkit.errors import DataError


def test_csv_with_quotes_and_line_numbers(files):
    path = files("t.csv", 'text,label\n"hello, world",pos\n\nbye,neg\n')
    table = read_local(path, "auto", "text-classification")
    assert table.dataset.column_names == ["text", "label"]
    assert table.dataset["text"] == ["hello, world", "bye"]
    assert table.lines == [2, 4]
    assert table.where(1) == f"{path}:4"
    assert table.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


def test_tsv_is_read_without_quoting(files):
    path = files("t.tsv", 'sentence\tlabel\nhe said "hi \t1\n" quoted start\t0\n')
    table = read_local(path, "auto", "text-classification")
    assert table.dataset["sentence"] == ['he said "hi ', '" quoted start']


def test_wrong_field_count_names_the_line(files):
    path = files("t.tsv", "sentence\tlabel\nok\t1\nbroken line\n")
    with pytest.raises(DataError, match=rf"{path}:3: expected 2 fields \(sentence, label\), found 1"):
        read_local(path, "auto", "text-classification")


def test_empty_csv(files):
    with pytest.raises(DataError, match="the file is empty"):
        read_local(files("e.csv", ""), "auto", "text-classification")


def test_jsonl_errors_name_line_and_column(files):
    path = files("t.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b", label: 2}\n')
    with pytest.raises(DataError, match=rf"{path}:3:15: invalid JSON"):
        read_local(path, "auto", "text-classification")
    path = files("u.jsonl", '{"text": "a"}\n["not", "an", "object"]\n')
    with pytest.raises(DataError, match=rf"{path}:2: expected a JSON object per line, got list"):
        read_local(path, "auto", "text-classification")


def test_jsonl_rows_with_missing_keys(files):
    path = files.jsonl("t.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "extra": 1}])
    table = read_local(path, "auto", "text-classification")
    assert table.dataset["label"] == ["x", None]
    assert table.lines == [1, 2]


def test_mixed_types_in_a_column_name_the_row(files):
    path = files.jsonl("t.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": "two"}])
    with pytest.raises(DataError, match=rf"{path}:2: column 'label' holds str 'two' here but int in earlier rows"):
        read_local(path, "auto", "text-classification")


def test_json_list_and_data_key(files):
    assert read_local(files("a.json", '[{"text": "x", "label": 0}]'), "auto", "text-classification").dataset[0] == {
        "text": "x",
        "label": 0,
    }
    table = read_local(files("b.json", '{"data": [{"text": "y", "label": 1}]}'), "auto", "text-classification")
    assert table.dataset["text"] == ["y"]
    with pytest.raises(DataError, match=r"b2.json:2:1: invalid JSON"):
        read_local(files("b2.json", '[{"text": "y"},\n]'), "auto", "text-classification")
    with pytest.raises(DataError, match="expected a JSON list of objects"):
        read_local(files("c.json", '"just a string"'), "auto", "text-classification")


def test_parquet_keeps_types(files, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": [0, 1]}), path)
    table = read_local(path, "auto", "text-classification")
    assert table.dataset["label"] == [0, 1]
    assert table.lines is None and table.where(1) == f"{path} (row 2)"
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read Parquet"):
        read_local(tmp_path / "bad.parquet", "auto", "text-classification")


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"text,label\ncaf\xe9,1\n")
    with pytest.raises(DataError, match=rf"{path}:2: not valid UTF-8 \(byte 0xe9\)"):
        read_local(path, "auto", "text-classification")


def test_format_from_extension_and_override(files):
    with pytest.raises(DataError, match=r"cannot tell the file format from the extension '.dat'"):
        read_local(files("t.dat", "text,label\na,1\n"), "auto", "text-classification")
    table = read_local(files("t2.dat", "text,label\na,1\n"), "csv", "text-classification")
    assert table.dataset["text"] == ["a"]
    with pytest.raises(DataError, match=r"a \.txt file is read as a text corpus"):
        read_local(files("t.txt", "a\n"), "auto", "text-classification")


def test_text_corpus_documents(files):
    path = files("c.txt", "first doc line one\nline two\n\n\nsecond doc\n  \nthird\n")
    table = read_local(path, "auto", "pretraining")
    assert table.dataset["text"] == ["first doc line one", "line two", "second doc", "third"]
    assert table.dataset["document"] == [0, 0, 1, 2]
    assert table.lines == [1, 2, 5, 7]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        read_local(tmp_path / "nope.csv", "auto", "text-classification")
