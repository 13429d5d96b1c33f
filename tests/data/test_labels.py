import pytest

from bertkit.data.labels import (
    LabelEncoder,
    class_label_names,
    derive_label_names,
    encode_labels,
    iob1_to_iob2,
    sorted_labels,
    sorted_tags,
)
from bertkit.errors import DataError


def test_class_list_priority():
    assert derive_label_names(["b", "a"], recipe_labels=["x", "y"], class_names=["n", "p"], tags=False) == ["x", "y"]
    assert derive_label_names(["b", "a"], recipe_labels=None, class_names=["n", "p"], tags=False) == ["n", "p"]
    assert derive_label_names(["b", "a", "b"], recipe_labels=None, class_names=None, tags=False) == ["a", "b"]


def test_sorting():
    assert sorted_labels(["10", "2", "1"]) == ["1", "2", "10"]
    assert sorted_labels(["pos", "neg"]) == ["neg", "pos"]
    assert sorted_tags(["I-PER", "B-LOC", "O", "B-PER", "S-LOC"]) == ["O", "B-LOC", "S-LOC", "B-PER", "I-PER"]


def test_class_label_names_of_features():
    import datasets

    assert class_label_names(datasets.ClassLabel(names=["a", "b"])) == ["a", "b"]
    assert class_label_names(datasets.List(datasets.ClassLabel(names=["O", "B"]))) == ["O", "B"]
    assert class_label_names(datasets.Value("string")) is None
    assert class_label_names(None) is None


def test_unknown_label_names_split_row_and_list():
    encoder = LabelEncoder(["neg", "pos"])
    with pytest.raises(DataError) as info:
        encode_labels(["pos", "neutral"], encoder, None, "validation", lambda row: f"dev.csv:{row + 2}")
    assert info.value.message == "validation split, dev.csv:3: label 'neutral' is not one of the 2 labels (neg, pos)"


def test_positional_integers_only_for_recipe_labels():
    positional = LabelEncoder(["negative", "positive"], positional=True)
    assert encode_labels([0, "1", 1.0], positional, None, "train", str) == [0, 1, 1]
    strict = LabelEncoder(["negative", "positive"])
    with pytest.raises(DataError, match="label '0' is not one of"):
        encode_labels([0], strict, None, "train", str)
    named_numbers = LabelEncoder(["1", "0"], positional=True)
    assert encode_labels([0, 1], named_numbers, None, "train", str) == [1, 0]  # names win over positions


def test_class_label_ids_and_unlabeled_rows():
    encoder = LabelEncoder(["pos", "neg"])  # recipe order differs from the ClassLabel order
    assert encode_labels([0, 1], encoder, ["neg", "pos"], "train", str) == [1, 0]
    with pytest.raises(DataError, match="label is -1 \\(no label\\): this split looks unlabeled"):
        encode_labels([-1], encoder, ["neg", "pos"], "test", str)
    with pytest.raises(DataError, match="the label is empty"):
        encode_labels([None], encoder, None, "train", str)


def test_duplicate_labels():
    with pytest.raises(DataError, match="duplicates: a"):
        LabelEncoder(["a", "b", "a"])


def test_iob1_to_iob2():
    assert iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG"]) == [
        "B-PER",
        "I-PER",
        "O",
        "B-LOC",
        "B-LOC",
        "I-LOC",
        "B-ORG",
    ]
    assert iob1_to_iob2(["B-PER", "I-PER"]) == ["B-PER", "I-PER"]
