"""Helpers for data tests: a recipe around a data section, and small files written in tmp_path."""

from __future__ import annotations

import json
import textwrap

import pytest

from bertkit.recipes.schema import Recipe


def make_recipe(task, seed: int = 42, **data):
    task_section = {"type": task} if isinstance(task, str) else task
    return Recipe.model_validate(
        {
            "model": {"name": "minilm"},
            "data": data,
            "task": task_section,
            "training": {"seed": seed},
            "output": {"dir": "runs/test"},
        }
    )


@pytest.fixture
def files(tmp_path):
    """Write files: files(name=text) for text, files.jsonl(name, rows) for JSON Lines."""

    class Writer:
        root = tmp_path

        def __call__(self, name: str, text: str):
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
            return path

        def jsonl(self, name: str, rows: list[dict]):
            return self(name, "".join(json.dumps(row) + "\n" for row in rows))

    return Writer()
