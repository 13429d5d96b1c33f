"""`bertkit recipe init`: a complete recipe for a task, every key commented with its docstring from the schema.

Nothing is documented here: the comments come from ``schema.py``, so the template cannot drift from the schema.
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from bertkit.errors import RecipeError
from bertkit.recipes.loader import TASK_ALIASES, load_recipe_text, model_in
from bertkit.recipes.schema import TASK_TYPES, Recipe

COMMENT_WIDTH = 100

# What a template needs beyond the schema defaults: a dataset that fits the task (all on the hub, all
# replaceable by a local folder with one --set) and an output folder.
TASK_STARTERS: dict[str, dict[str, Any]] = {
    "text-classification": {
        "data": {"dataset": "nyu-mll/glue", "config": "sst2", "columns": {"text": "sentence", "label": "label"}},
    },
    "token-classification": {
        "data": {
            "dataset": "eriktks/conll2003",
            "test_split": "test",
            "columns": {"tokens": "tokens", "tags": "ner_tags"},
        },
    },
    "question-answering": {
        "data": {"dataset": "rajpurkar/squad"},
    },
    "masked-lm": {
        "data": {"dataset": "Salesforce/wikitext", "config": "wikitext-2-raw-v1", "columns": {"text": "text"}},
    },
    "pretraining": {
        "model": {
            "from_scratch": True,
            "architecture": {
                "num_hidden_layers": 4,
                "hidden_size": 256,
                "num_attention_heads": 4,
                "intermediate_size": 1024,
                "max_position_embeddings": 512,
            },
        },
        "data": {"dataset": "Salesforce/wikitext", "config": "wikitext-2-raw-v1", "columns": {"text": "text"}},
    },
}


def recipe_template(task: str, model: str = "minilm") -> str:
    """A commented recipe for ``task`` that validates as written. Raises ``RecipeError`` for an unknown task."""
    if task not in TASK_TYPES:
        alias = TASK_ALIASES.get(task.lower())
        raise RecipeError(
            f"unknown task '{task}'" + (f"; did you mean '{alias}'?" if alias else ""),
            hint=f"Choose one of: {', '.join(TASK_TYPES)}.",
        )
    starter = TASK_STARTERS[task]
    values: dict[str, Any] = {
        "name": f"my-{task}",
        "description": f"{task} recipe written by `bertkit recipe init`; edit the dataset and the model.",
        "model": {"name": model, **starter.get("model", {})},
        "data": starter["data"],
        "task": {"type": task},
        "output": {"dir": f"runs/{task}"},
    }
    header = [
        f"bertkit recipe: {task}. Every key is listed with its default value and what it does.",
        "Check it:  bertkit recipe validate THIS_FILE",
        "Train:     bertkit finetune THIS_FILE   (change any key with --set, e.g. --set training.epochs=1)",
        "Local data instead of the hub: --set data.dataset=path/to/folder (train.*, dev.* or validation.*, test.*)",
    ]
    lines = [f"# {line}" for line in header] + [""]
    lines += section_lines(Recipe, values, indent="", top_level=True)
    text = "\n".join(lines) + "\n"
    load_recipe_text(text, source=f"<template for {task}>")  # the template must always validate as written
    return text


def section_lines(model: type[BaseModel], values: dict[str, Any], indent: str, top_level: bool = False) -> list[str]:
    lines: list[str] = []
    for name, field in model.model_fields.items():
        value = values.get(name, default_of(field))
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        if top_level and lines:
            lines.append("")
        lines += comment_lines(field.description or "", indent)
        section = model_in(field.annotation, value) if isinstance(value, dict) else None
        if section is not None:
            lines.append(f"{indent}{name}:")
            lines += section_lines(section, value, indent + "  ")
        else:
            lines.append(f"{indent}{name}: {yaml_value(value)}")
    return lines


def default_of(field: Any) -> Any:
    default = field.get_default(call_default_factory=True)
    if default is PydanticUndefined:
        return {}  # a required section: filled from its own defaults
    return default


def comment_lines(text: str, indent: str) -> list[str]:
    text = " ".join(text.replace("``", "`").split())
    if not text:
        return []
    width = max(40, COMMENT_WIDTH - len(indent) - 2)
    return [f"{indent}# {line}" for line in textwrap.wrap(text, width=width, break_on_hyphens=False)]


def yaml_value(value: Any) -> str:
    """One value in flow style, as ``yaml.safe_dump`` writes it (so it reads back the same)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True).strip()
    return text.removesuffix("...").strip()
