"""Fixtures for the shared windowing / entity / span code: a real (tiny) fast WordPiece tokenizer."""

from __future__ import annotations

import pytest

from tests.tiny import write_tokenizer


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    return write_tokenizer(tmp_path_factory.mktemp("tasks-tokenizer"), max_length=64)
