"""The label-map check: a data label the model does not know is an error unless mapped explicitly."""

from __future__ import annotations

import pytest

from bertkit.errors import DataError
from bertkit.evaluation import align_labels


def test_same_names_in_another_order_map_by_name():
    assert align_labels(["neg", "pos"], ["pos", "neg", "pos"]) == {"pos": 1, "neg": 0}


def test_data_may_lack_model_labels():
    assert align_labels(["neg", "neu", "pos"], ["neg", "pos"]) == {"neg": 0, "pos": 2}


def test_mismatch_is_an_error_with_both_lists_and_how_to_map():
    with pytest.raises(DataError) as info:
        align_labels(["LABEL_0", "LABEL_1"], ["negative", "positive"])
    message = str(info.value)
    assert "model labels (id2label): ['LABEL_0', 'LABEL_1']" in message
    assert "data labels: ['negative', 'positive']" in message
    assert "saved without label names" in message
    assert "{'negative': 'LABEL_0', 'positive': 'LABEL_1'}" in info.value.hint


def test_partial_mismatch_names_only_the_unknown_labels():
    with pytest.raises(DataError, match=r"does not know: \['MISC'\]") as info:
        align_labels(["PER", "LOC", "ORG"], ["PER", "MISC"], how_to_map="use --label-map DATA=MODEL")
    assert info.value.hint.startswith("If they mean the same classes, use --label-map DATA=MODEL")


def test_explicit_mapping_resolves_the_mismatch():
    mapping = {"negative": "LABEL_0", "positive": "LABEL_1"}
    assert align_labels(["LABEL_0", "LABEL_1"], ["negative", "positive"], mapping) == {"negative": 0, "positive": 1}
    # labels not in the mapping still match by name; several data labels may map to one model label
    assert align_labels(["a", "b"], ["a", "b", "c"], {"c": "b"}) == {"a": 0, "b": 1, "c": 1}


def test_bad_mapping_is_an_error():
    with pytest.raises(DataError, match=r"not data labels: \['negatve'\]"):
        align_labels(["LABEL_0", "LABEL_1"], ["negative", "positive"], {"negatve": "LABEL_0"})
    with pytest.raises(DataError, match=r"not model labels: \['LABEL_7'\]"):
        align_labels(["LABEL_0", "LABEL_1"], ["negative"], {"negative": "LABEL_7"})
    with pytest.raises(DataError, match=r"does not know .*: \[.positive.\]"):
        align_labels(["LABEL_0", "LABEL_1"], ["negative", "positive"], {"negative": "LABEL_0"})
