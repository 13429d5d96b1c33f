"""Helpers for recipe tests: write a recipe file and collect the problems of a failing load."""

from __future__ import annotations

import textwrap

import pytest

from bertkit.errors import RecipeError
from bertkit.recipes.loader import load_recipe

VALID = """\
model:
  name: minilm
data:
  dataset: nyu-mll/glue
  config: sst2
task:
  type: text-classification
  labels: [negative, positive]
training:
  epochs: 2
output:
  dir: runs/x
"""


@pytest.fixture
def write(tmp_path):
    def write_recipe(text: str, name: str = "recipe.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write_recipe


@pytest.fixture
def problems(write):
    """Load a recipe that must fail; return its problem lines."""

    def collect(text: str, overrides=()):
        path = write(text)
        with pytest.raises(RecipeError) as info:
            load_recipe(path, overrides)
        return info.value.problems, path

    return collect
