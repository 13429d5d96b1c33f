"""Shared fixtures: offline environment and tiny models built once per test session."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from tests.tiny import build_model

NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


@pytest.fixture(scope="session")
def tiny_mlm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-mlm")
    build_model(folder, "BertForMaskedLM")
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory):
    """A bare encoder (no task head), like the packaged MiniLM."""
    folder = tmp_path_factory.mktemp("tiny-encoder")
    build_model(folder, "BertModel")
    return folder


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-clf")
    build_model(
        folder,
        "BertForSequenceClassification",
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    return folder


@pytest.fixture(scope="session")
def tiny_tagger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-ner")
    build_model(
        folder,
        "BertForTokenClassification",
        num_labels=len(NER_LABELS),
        id2label=dict(enumerate(NER_LABELS)),
        label2id={label: i for i, label in enumerate(NER_LABELS)},
    )
    return folder


@pytest.fixture(scope="session")
def tiny_qa(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-qa")
    build_model(folder, "BertForQuestionAnswering")
    return folder
