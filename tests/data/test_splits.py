import hashlib

import pytest

from bertkit.data import DataSplits, load_splits
from bertkit.data.hub import HubDataset, pick_split
from bertkit.data.sources import builtin_datasets_root, resolve_builtin
from bertkit.errors import DataError
from bertkit.recipes.loader import load_recipe
from tests.data.conftest import make_recipe

TRAIN = "sentence,label\n" + "".join(f"sentence {i},{i % 2}\n" for i in range(20))
DEV = "sentence,label\nA,1\nB,0\n"


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_local_folder_finds_splits_by_name(files):
    train = files("d/train.csv", TRAIN)
    dev = files("d/dev.csv", DEV)
    files("d/README.md", "not data")
    files("d/test.csv", DEV)
    splits = load_splits(make_recipe("text-classification", dataset=str(files.root / "d")))
    assert isinstance(splits, DataSplits)
    assert len(splits.train) == 20 and len(splits.validation) == 2
    assert splits.test is None  # data.test_split not set
    assert splits.train.column_names == ["text", "label"]
    assert splits.label_names == ["0", "1"]
    assert splits.fingerprints == {"train": sha(train), "validation": sha(dev)}
    assert splits.sources == {"train": str(train), "validation": str(dev)}
    assert "field 'text' read from column 'sentence' (set data.columns.text to change)" in splits.notes


@pytest.mark.parametrize("name", ["validation.jsonl", "valid.jsonl", "dev-v1.1.jsonl"])
def test_validation_file_names(files, name):
    files.jsonl("d/train.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])
    files.jsonl(f"d/{name}", [{"text": "c", "label": "y"}])
    splits = load_splits(make_recipe("text-classification", dataset=str(files.root / "d")))
    assert splits.validation["text"] == ["c"]
    assert splits.validation["label"] == [1]


def test_ambiguous_and_missing_split_files(files):
    files("d/train.csv", TRAIN)
    files("d/train.tsv", "a\tb\n")
    with pytest.raises(DataError, match=r"several files could be the train split: train\.csv, train\.tsv"):
        load_splits(make_recipe("text-classification", dataset=str(files.root / "d")))
    files("e/training.csv", TRAIN)
    with pytest.raises(DataError, match=r"no train split file \(looked for train.\*; found training.csv\)"):
        load_splits(make_recipe("text-classification", dataset=str(files.root / "e")))


def test_test_split_when_asked(files):
    files("d/train.csv", TRAIN)
    test = files("d/test.csv", DEV)
    splits = load_splits(make_recipe("text-classification", dataset=str(files.root / "d"), test_split="test"))
    assert len(splits.test) == 2 and splits.fingerprints["test"] == sha(test)
    with pytest.raises(DataError, match="test split 'final' not found"):
        load_splits(make_recipe("text-classification", dataset=str(files.root / "d"), test_split="final"))


def test_validation_held_out_with_the_seed(files):
    path = files("train.csv", TRAIN)
    recipe = make_recipe("text-classification", dataset=str(path), validation_size=0.25)
    first, second = load_splits(recipe), load_splits(recipe)
    assert len(first.train) == 15 and len(first.validation) == 5
    assert first.validation["text"] == second.validation["text"]
    assert set(first.train["text"]).isdisjoint(first.validation["text"])
    other = load_splits(make_recipe("text-classification", seed=7, dataset=str(path), validation_size=0.25))
    assert other.validation["text"] != first.validation["text"]
    assert "validation: 25% of train held out (seed 42): 5 examples, 15 left to train" in first.notes
    assert first.fingerprints["validation"] == f"{sha(path)}+holdout(0.25,seed=42)"


def test_validation_only_request(files):
    path = files("train.csv", TRAIN)
    splits = load_splits(make_recipe("text-classification", dataset=str(path)), splits=("validation",))
    assert splits.train is None and len(splits.validation) == 2
    assert "train" not in splits.fingerprints


def test_named_validation_split_must_exist(files):
    files("d/train.csv", TRAIN)
    with pytest.raises(DataError, match="validation split 'heldout' not found"):
        load_splits(make_recipe("text-classification", dataset=str(files.root / "d"), validation_split="heldout"))


def test_explicit_files_and_sample_limits(files):
    train = files("a.csv", TRAIN)
    dev = files("b.csv", "sentence,label\n" + "".join(f"d{i},1\n" for i in range(10)))
    recipe = make_recipe(
        "text-classification", train_file=str(train), validation_file=str(dev), max_train_samples=4, max_eval_samples=3
    )
    splits = load_splits(recipe)
    assert len(splits.train) == 4 and splits.validation["text"] == ["d0", "d1", "d2"]
    assert "train: 4 of 20 examples (max_train_samples, seed 42)" in splits.notes
    assert "validation: first 3 of 10 examples (max_eval_samples)" in splits.notes
    with pytest.raises(DataError, match=r"data\.train_file: file not found"):
        load_splits(make_recipe("text-classification", train_file=str(files.root / "nope.csv")))


def test_column_mapping_errors_list_the_columns(files):
    path = files("t.csv", "review,stars\ngood,5\n")
    with pytest.raises(DataError) as info:
        load_splits(make_recipe("text-classification", train_file=str(path)), splits=["train"])
    assert "has no column for label (available: review, stars)" in info.value.message
    assert "data.columns: {label: COLUMN_NAME}" in info.value.hint
    with pytest.raises(
        DataError, match=r"data.columns.label: no column 'star' .* \(available: review, stars\). Did you mean 'stars'"
    ):
        load_splits(
            make_recipe("text-classification", train_file=str(path), columns={"label": "star"}), splits=["train"]
        )
    splits = load_splits(
        make_recipe("text-classification", train_file=str(path), columns={"label": "stars"}), splits=["train"]
    )
    assert splits.train.to_list() == [{"text": "good", "label": 0}] and splits.label_names == ["5"]


def test_sentence_pairs(files):
    path = files.jsonl("p.jsonl", [{"sentence1": "a", "sentence2": "b", "label": "entailment", "idx": 0}])
    splits = load_splits(make_recipe("text-classification", train_file=str(path)), splits=["train"])
    assert splits.train.to_list() == [{"text": "a", "text_pair": "b", "label": 0}]


def test_label_not_in_recipe_labels_names_split_file_line(files):
    files("d/train.csv", "text,label\ngood,positive\n")
    dev = files("d/dev.csv", "text,label\nfine,positive\nmeh,neutral\n")
    recipe = make_recipe(
        {"type": "text-classification", "labels": ["negative", "positive"]}, dataset=str(files.root / "d")
    )
    with pytest.raises(DataError) as info:
        load_splits(recipe)
    assert info.value.message == (
        f"validation split, {dev}:3: label 'neutral' is not one of the 2 labels (negative, positive)"
    )


def test_recipe_labels_over_integer_data(files):
    path = files("t.tsv", "sentence\tlabel\nbad \t0\ngood \t1\n")
    recipe = make_recipe({"type": "text-classification", "labels": ["negative", "positive"]}, train_file=str(path))
    splits = load_splits(recipe, splits=["train"])
    assert splits.train["label"] == [0, 1]
    assert splits.train.features["label"].names == ["negative", "positive"]
    assert "labels: 2 classes from task.labels: negative, positive" in splits.notes


def test_class_label_feature_gives_the_names(tmp_path):
    import datasets

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    datasets.Dataset.from_dict({"text": ["a", "b"], "label": [1, 0]}, features=features).to_parquet(
        tmp_path / "t.parquet"
    )
    splits = load_splits(make_recipe("text-classification", train_file=str(tmp_path / "t.parquet")), splits=["train"])
    assert splits.label_names == ["neg", "pos"] and splits.train["label"] == [1, 0]
    assert "labels: 2 classes from the dataset's ClassLabel names: neg, pos" in splits.notes


def test_multi_label_and_regression(files):
    path = files.jsonl("m.jsonl", [{"text": "a", "label": ["x", "y"]}, {"text": "b", "label": ["y"]}])
    recipe = make_recipe({"type": "text-classification", "problem_type": "multi_label"}, train_file=str(path))
    splits = load_splits(recipe, splits=["train"])
    assert splits.label_names == ["x", "y"] and splits.train["label"] == [[0, 1], [1]]
    assert splits.train.features["label"].feature.names == ["x", "y"]
    reg = files("r.csv", "text,label\na,0.5\nb,3\n")
    recipe = make_recipe({"type": "text-classification", "problem_type": "regression"}, train_file=str(reg))
    splits = load_splits(recipe, splits=["train"])
    assert splits.label_names is None and splits.train["label"] == [0.5, 3.0]
    bad = files("rb.csv", "text,label\na,high\n")
    recipe = make_recipe({"type": "text-classification", "problem_type": "regression"}, train_file=str(bad))
    with pytest.raises(DataError, match=rf"{bad}:2: label 'high' is not a number"):
        load_splits(recipe, splits=["train"])


def test_empty_split_is_an_error(files):
    path = files("t.csv", "text,label\n")
    with pytest.raises(DataError, match=rf"the train split \({path}\) has no examples"):
        load_splits(make_recipe("text-classification", train_file=str(path)), splits=["train"])


def test_masked_lm_text_corpus(files):
    path = files("corpus.txt", "one\n\ntwo\nthree\n")
    splits = load_splits(make_recipe("masked-lm", dataset=str(path), validation_size=0.34))
    assert sorted([*splits.train["text"], *splits.validation["text"]]) == ["one", "three", "two"]
    assert splits.train.column_names == ["text"]


def test_pretraining_documents_from_a_table(files):
    blank_rows = files.jsonl(
        "w.jsonl", [{"text": " = T = "}, {"text": ""}, {"text": "p1"}, {"text": "p2"}, {"text": " "}, {"text": "q"}]
    )
    splits = load_splits(make_recipe("pretraining", train_file=str(blank_rows)), splits=["train"])
    assert splits.train.to_list() == [
        {"text": " = T = ", "document": 0},
        {"text": "p1", "document": 1},
        {"text": "p2", "document": 1},
        {"text": "q", "document": 2},
    ]
    assert "train: blank rows separate documents" in splits.notes
    with_ids = files.jsonl(
        "d.jsonl", [{"text": "a", "doc_id": "x"}, {"text": "b", "doc_id": "y"}, {"text": "c", "doc_id": "x"}]
    )
    splits = load_splits(make_recipe("pretraining", train_file=str(with_ids)), splits=["train"])
    assert splits.train["document"] == [0, 1, 0]
    rows = files.jsonl("r.jsonl", [{"text": "a"}, {"text": "b"}])
    splits = load_splits(make_recipe("pretraining", train_file=str(rows)), splits=["train"])
    assert splits.train["document"] == [0, 1]


def test_hub_unreachable_is_a_clear_error():
    recipe = make_recipe("text-classification", dataset="nyu-mll/glue", config="sst2")
    with pytest.raises(DataError) as info:
        load_splits(recipe)
    assert "nyu-mll/glue (config sst2)" in info.value.message
    assert "data.dataset=" in info.value.hint and "HF_DATASETS_OFFLINE" in info.value.hint


def test_missing_hub_split_lists_the_available_ones():
    import datasets

    loaded = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict({"a": [1]}), "test": datasets.Dataset.from_dict({"a": [2]})}
    )
    with pytest.raises(DataError) as info:
        pick_split(loaded, HubDataset("org/data"), "training", "data.train_split")
    assert info.value.message == "hub dataset org/data has no split 'training' (available: train, test)"
    assert info.value.hint == "Set data.train_split to one of: train, test."


def test_missing_local_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(DataError, match=r"data.dataset: ./nope/folder does not exist"):
        load_splits(make_recipe("text-classification", dataset="./nope/folder"))


def test_builtin_datasets(tmp_path):
    (tmp_path / "demo").mkdir()
    assert resolve_builtin("demo", root=tmp_path) == tmp_path / "demo"
    with pytest.raises(DataError, match=r"no built-in dataset 'nope' \(built-in datasets: demo\)"):
        resolve_builtin("nope", root=tmp_path)
    with pytest.raises(DataError, match="no built-in dataset 'nope'"):
        load_splits(make_recipe("text-classification", dataset="builtin:nope"))


def test_quickstart_recipe_loads_the_shipped_sentiment_data():
    if not (builtin_datasets_root() / "sentiment").is_dir():
        pytest.skip("builtin:sentiment is not in this checkout")
    from pathlib import Path

    recipe = load_recipe(Path(__file__).resolve().parents[2] / "recipes/quickstart/sentiment.yaml")
    splits = load_splits(recipe)
    assert len(splits.train) > 100 and len(splits.validation) > 20
    assert "negative" in splits.label_names and "positive" in splits.label_names
    assert splits.sources["train"].endswith("sentiment/train.jsonl")


def test_pretraining_holds_out_whole_documents(files):
    text = "\n".join("".join(f"doc {d} line {i}\n" for i in range(3)) for d in range(10))
    path = files("corpus.txt", text)
    splits = load_splits(make_recipe("pretraining", dataset=str(path), validation_size=0.2))
    train_docs, validation_docs = set(splits.train["document"]), set(splits.validation["document"])
    assert train_docs.isdisjoint(validation_docs)
    assert len(validation_docs) == 2 and len(splits.validation) == 6
    assert (
        "validation: 20% of train held out by document (2 documents) (seed 42): 6 examples, 24 left to train"
        in splits.notes
    )
    ordered = list(splits.validation["text"])
    assert ordered == sorted(ordered, key=lambda t: (int(t.split()[1]), int(t.split()[3])))  # document order kept


def test_question_answering_holds_out_whole_contexts(files):
    rows = [
        {
            "question": f"q{c}{q}",
            "context": f"context {c} answer",
            "answer_text": "answer",
            "answer_start": len(f"context {c} "),
        }
        for c in range(5)
        for q in range(4)
    ]
    splits = load_splits(
        make_recipe("question-answering", train_file=str(files.jsonl("qa.jsonl", rows)), validation_size=0.2)
    )
    assert set(splits.train["context"]).isdisjoint(splits.validation["context"])
    assert len(splits.validation) == 4
