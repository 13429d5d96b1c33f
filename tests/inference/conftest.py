"""Fixtures for NER and QA inference: models with known outputs (see keyed_models.py)."""

from __future__ import annotations

import pytest

from tests.inference.keyed_models import build_keyed_qa, build_keyed_tagger


@pytest.fixture(scope="session")
def keyed_tagger(tmp_path_factory):
    return build_keyed_tagger(tmp_path_factory.mktemp("keyed-tagger"))


@pytest.fixture(scope="session")
def keyed_qa(tmp_path_factory):
    return build_keyed_qa(tmp_path_factory.mktemp("keyed-qa"))
