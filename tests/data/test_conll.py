import pytest

from bertkit.data import load_splits
from bertkit.data.readers import read_local
from bertkit.errors import DataError
from bertkit.recipes.schema import ConllFormat
from tests.data.conftest import make_recipe

CONLL = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Paris NNP B-NP B-LOC
"""


def test_reads_tokens_and_last_column_tags(files):
    table = read_local(files("train.txt", CONLL), "auto", "token-classification", ConllFormat())
    assert table.dataset["tokens"] == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["Paris"]]
    assert table.dataset["tags"] == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert table.lines == [3, 7, 12]  # first line of each sentence


def test_column_options(files):
    text = "a|x|T1\nb|y|T2\n"
    options = ConllFormat(token_column=1, tag_column=0, separator="|")
    table = read_local(files("t.conll", text), "auto", "token-classification", options)
    assert table.dataset["tokens"] == [["x", "y"]]
    assert table.dataset["tags"] == [["a", "b"]]


def test_malformed_line_names_file_and_line(files):
    path = files("train.txt", CONLL.replace("rejects VBZ B-VP O", "rejects VBZ O"))
    with pytest.raises(DataError, match=rf"{path}:4: expected 4 columns \(as on the first token line\), found 3"):
        read_local(path, "auto", "token-classification", ConllFormat())


def test_tag_column_out_of_range(files):
    with pytest.raises(DataError, match=r"data.conll.tag_column is 5, but the lines have 2 columns"):
        read_local(files("t.conll", "a O\n"), "auto", "token-classification", ConllFormat(tag_column=5))
    with pytest.raises(DataError, match="needs at least 2 columns"):
        read_local(files("u.conll", "a\nb\n"), "auto", "token-classification", ConllFormat())


def test_folder_of_conll_files_with_derived_tags(files):
    files("data/train.txt", CONLL)
    files("data/dev.txt", "Rome NNP B-NP B-LOC\n")
    files("data/test.txt", "Bob NNP B-NP B-PER\n")
    recipe = make_recipe(
        "token-classification", dataset=str(files.root / "data"), test_split="test", columns={"tags": "ner_tags"}
    )  # the mapping is for the hub columns: CoNLL files have tokens and tags
    splits = load_splits(recipe)
    assert splits.label_names == ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]
    assert splits.train["tags"][1] == [4, 5]
    assert splits.validation["tokens"] == [["Rome"]] and splits.test["tags"] == [[4]]
    assert splits.train.features["tags"].feature.names == splits.label_names


def test_unknown_tag_error_cites_the_sentence_line(files):
    files("d/train.txt", CONLL)
    dev = files("d/dev.txt", "x NN B-NP O\n\nRome NNP B-NP B-CITY\n")
    recipe = make_recipe(
        {"type": "token-classification", "labels": ["O", "B-ORG", "B-MISC", "B-PER", "I-PER", "B-LOC"]},
        dataset=str(files.root / "d"),
    )
    with pytest.raises(DataError) as info:
        load_splits(recipe)
    assert info.value.message.startswith(
        f"validation split, {dev}:3: tag 'B-CITY' is not one of the 6 labels (O, B-ORG"
    )
    assert "task.labels" in info.value.hint


def test_iob1_is_converted_to_iob2(files):
    path = files("iob1.txt", "The O\nEuropean I-ORG\nUnion I-ORG\nand O\nParis I-LOC\nLyon B-LOC\n")
    splits = load_splits(
        make_recipe({"type": "token-classification", "tag_scheme": "iob1"}, train_file=str(path)), splits=["train"]
    )
    names = splits.label_names
    assert [names[i] for i in splits.train["tags"][0]] == ["O", "B-ORG", "I-ORG", "O", "B-LOC", "B-LOC"]
    assert "tags: converted from IOB1 to IOB2" in splits.notes


def test_iob1_looking_data_is_flagged_under_iob2(files):
    path = files("iob1.txt", "The O\nEuropean I-ORG\nUnion I-ORG\n")
    splits = load_splits(make_recipe("token-classification", train_file=str(path)), splits=["train"])
    assert any("1 entities start with I- (IOB1 style)" in note for note in splits.notes)


def test_tokens_and_tags_from_jsonl(files):
    rows = [{"words": ["a", "b"], "ner_tags": ["O", "B-X"]}, {"words": [], "ner_tags": []}]
    path = files.jsonl("t.jsonl", rows)
    splits = load_splits(make_recipe("token-classification", train_file=str(path)), splits=["train"])
    assert splits.train["tokens"] == [["a", "b"]]
    assert "train: 1 empty sentence(s) dropped" in splits.notes
    spaced = files.jsonl("s.jsonl", [{"tokens": "c d", "tags": "B-X I-X"}])
    splits = load_splits(make_recipe("token-classification", train_file=str(spaced)), splits=["train"])
    assert splits.train["tokens"] == [["c", "d"]] and splits.label_names == ["B-X", "I-X"]
    bad = files.jsonl("bad.jsonl", [{"tokens": ["a", "b"], "tags": ["O"]}])
    with pytest.raises(DataError, match=rf"train split, {bad}:1: 2 tokens but 1 tags"):
        load_splits(make_recipe("token-classification", train_file=str(bad)), splits=["train"])
