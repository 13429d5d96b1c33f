"""Helpers for engine tests: small in-memory splits (a learnable toy sentiment task) and recipes around them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

POSITIVE = ["good movie", "great film i loved it", "excellent story", "best book", "nice music and happy people"]
NEGATIVE = ["bad movie", "terrible film i hated it", "awful story", "worst book", "boring plot and sad people"]


def sentiment_rows(repeat: int = 1) -> list[dict[str, Any]]:
    rows = [{"text": t, "label": "positive"} for t in POSITIVE] + [{"text": t, "label": "negative"} for t in NEGATIVE]
    return rows * repeat


def pair_rows(repeat: int = 1) -> list[dict[str, Any]]:
    same = [("good movie", "great film"), ("bad movie", "awful film"), ("the king", "the queen")]
    different = [("good movie", "awful film"), ("bad book", "great story"), ("happy man", "sad woman")]
    rows = [{"text": a, "text_pair": b, "label": "same"} for a, b in same]
    rows += [{"text": a, "text_pair": b, "label": "different"} for a, b in different]
    return rows * repeat


def make_splits(train: list[dict], validation: list[dict] | None = None, test: list[dict] | None = None, **extra):
    """Duck-typed ``bertkit.data.DataSplits``: datasets plus label names, fingerprints and notes."""
    import datasets

    def build(rows):
        return None if rows is None else datasets.Dataset.from_list(rows)

    return SimpleNamespace(
        train=build(train),
        validation=build(validation),
        test=build(test),
        label_names=extra.get("label_names"),
        fingerprints=extra.get("fingerprints", {"train": f"train-{len(train)}"}),
        notes=[],
    )


def make_recipe(model: Path, out: Path, *, task: dict | None = None, training: dict | None = None, **sections):
    from bertkit.recipes.schema import Recipe

    data = {
        "model": {"name": str(model)},
        "data": {"dataset": "in-memory"},
        "task": {"type": "text-classification", "max_length": 16, **(task or {})},
        "training": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3, "logging_steps": 2, **(training or {})},
        "output": {"dir": str(out), **sections.pop("output", {})},
        **sections,
    }
    return Recipe.model_validate(data)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; with two threads on a shared 2-core machine, OpenMP barriers wait
    for descheduled threads and a tiny run takes 10x longer."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
