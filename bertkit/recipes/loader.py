"""Load a recipe: YAML -> ``Recipe``, every problem reported at once as ``FILE:LINE:COL: dotted.key: message``.

``--set a.b.c=value`` overrides are applied to the parsed YAML before validation, so they are checked by the same
schema; their problems name the ``--set`` that caused them.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bertkit.errors import RecipeError
from bertkit.recipes.schema import TASK_TYPES, Recipe
from bertkit.recipes.yaml_tree import Path_, Position, YamlTree, parse_scalar, parse_yaml_text, read_yaml_file

RECIPE_HINT = "Every key is documented in the recipe written by `bertkit recipe init --task TYPE`."
SECTION_ERRORS = {"model_type", "model_attributes_type", "dict_type"}
DOTTED_KEY = re.compile(r"(?<![\w.-])([\w-]+(?:\.[\w-]+)+)")
TASK_ALIASES = {
    "classification": "text-classification",
    "sequence-classification": "text-classification",
    "ner": "token-classification",
    "tagging": "token-classification",
    "qa": "question-answering",
    "mlm": "masked-lm",
    "fill-mask": "masked-lm",
    "pretrain": "pretraining",
    "pre-training": "pretraining",
}
Origins = dict[Path_, tuple[str, int]]  # overridden path -> ("--set a.b", index of that --set)


@dataclass(frozen=True)
class Problem:
    """One located problem. ``order`` sorts file positions first (by line), then overrides in the given order."""

    order: tuple[int, int, int]
    where: str
    key: str
    message: str

    def __str__(self) -> str:
        if not self.where:
            return self.message
        if not self.key or self.where == f"--set {self.key}":
            return f"{self.where}: {self.message}"
        return f"{self.where}: {self.key}: {self.message}"


# ------------------------------------------------------------------------------------------------ public API
def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read, override and validate the recipe at ``path``. Raises ``RecipeError`` listing every problem."""
    return validate_tree(read_yaml_file(path), overrides)


def load_recipe_text(text: str, source: str = "<recipe>", overrides: Sequence[str] = ()) -> Recipe:
    """Like ``load_recipe`` for YAML text; ``source`` names it in messages."""
    return validate_tree(parse_yaml_text(text, source), overrides)


def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    """The resolved recipe (defaults filled in) as plain JSON-compatible data."""
    return recipe.model_dump(mode="json")


def recipe_to_yaml(recipe: Recipe, header: str | None = None) -> str:
    """The resolved recipe as YAML that ``load_recipe`` reads back to an equal ``Recipe``."""
    body = yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False, allow_unicode=True, width=120)
    if not header:
        return body
    return "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + body


def dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# -------------------------------------------------------------------------------------------- validation
def validate_tree(tree: YamlTree, overrides: Sequence[str]) -> Recipe:
    problems = [Problem((0, p.line, p.column), "", "", text) for p, text in tree.problems]
    origins, override_problems = apply_overrides(tree.data, overrides)
    problems += override_problems
    try:
        recipe = Recipe.model_validate(tree.data)
    except ValidationError as err:
        problems += [describe_error(e, tree, origins) for e in err.errors(include_url=False)]
        recipe = None
    if problems:
        unique = list(dict.fromkeys(str(p) for p in sorted(problems, key=lambda p: p.order)))
        count = f"{len(unique)} problem" + ("s" if len(unique) > 1 else "")
        raise RecipeError(f"recipe {tree.source} is invalid ({count}):", unique, hint=RECIPE_HINT)
    assert recipe is not None
    return recipe


def describe_error(error: dict[str, Any], tree: YamlTree, origins: Origins) -> Problem:
    path = data_path(error["loc"], tree.data)
    kind = error["type"]
    if kind == "value_error":
        path = key_named_in(error["msg"], tree, origins) or path
    if kind == "union_tag_not_found":
        path = (*path, "type")
        kind = "missing"
    elif kind == "union_tag_invalid":
        path = (*path, "type")
    where, order = locate(kind, path, tree, origins)
    key = dotted(path)
    message = error_message(error, kind, path, tree.data).removeprefix(f"{key}: ")
    return Problem(order, where, key, message)


def data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Pydantic's error location as a path in the recipe: union tags (``text-classification``) dropped."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and part == node.get("type"):
            continue  # the discriminator tag pydantic inserts for the tagged union `task`
        if part == "[key]":
            continue
        path.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path)


def key_named_in(message: str, tree: YamlTree, origins: Origins) -> Path_ | None:
    """A cross-field check names its keys (``task.stride``): point at the first one that is written down."""
    for match in DOTTED_KEY.finditer(message):
        path = tuple(match.group(1).split("."))
        if path in tree.keys or path in origins:
            return path
    return None


def locate(kind: str, path: Path_, tree: YamlTree, origins: Origins) -> tuple[str, tuple[int, int, int]]:
    for n in range(len(path), 0, -1):
        if path[:n] in origins:
            return override_place(path[:n], origins)
    if path not in tree.keys:  # a key that only an override created, e.g. --set trainig.epochs=1
        below = [p for p in origins if p[: len(path)] == path]
        if below and path:
            return override_place(below[0], origins)
    position = file_position(kind, path, tree)
    return tree.where(position), (0, position.line, position.column)


def override_place(path: Path_, origins: Origins) -> tuple[str, tuple[int, int, int]]:
    label, index = origins[path]
    return label, (1, index, 0)


def file_position(kind: str, path: Path_, tree: YamlTree) -> Position:
    if kind == "missing":
        return tree.keys.get(path[:-1], tree.root)
    if kind == "extra_forbidden" and path in tree.keys:
        return tree.keys[path]
    for n in range(len(path), 0, -1):
        prefix = path[:n]
        value = lookup(tree.data, prefix)
        if isinstance(value, (dict, list)) and prefix in tree.keys:
            return tree.keys[prefix]  # a whole section is wrong: point at its key, not its first child
        if prefix in tree.values:
            return tree.values[prefix]
    return tree.root


def lookup(data: Any, path: Path_) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


# ---------------------------------------------------------------------------------------------- messages
def error_message(error: dict[str, Any], kind: str, path: Path_, data: Any) -> str:
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing" and path == ("task", "type"):
        return f"missing required key 'type' (one of: {', '.join(TASK_TYPES)})"
    if kind == "missing":
        return f"missing required key '{path[-1]}'" if path else "missing required key"
    if kind == "extra_forbidden":
        return unknown_key_message(path, data)
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag", value))
        alias = TASK_ALIASES.get(tag.lower())
        hint = f"; did you mean '{alias}'?" if alias else did_you_mean(tag, TASK_TYPES)
        return f"unknown task type '{tag}'{hint} (valid types: {', '.join(TASK_TYPES)})"
    if kind in SECTION_ERRORS:
        return f"expected a section of 'key: value' lines, got {show(value)}"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"must be one of {', '.join(options)} (got {show(value)})"
        if isinstance(value, bool):  # `strategy: no` is false in YAML 1.1
            return message + "; YAML reads a bare yes/no/on/off as true/false: write it in quotes ('no')"
        return message + did_you_mean(str(value), options)
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    message = str(error["msg"]).replace("Input should be", "should be", 1)
    return f"{message} (got {show(value)})"


def show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, options: Sequence[str]) -> str:
    match = close_match(word, options)
    return f"; did you mean '{match}'?" if match else ""


def close_match(word: str, options: Sequence[str]) -> str | None:
    lowered = {option.lower(): option for option in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[matches[0]] if matches else None


def unknown_key_message(path: Path_, data: Any) -> str:
    key = str(path[-1])
    model = section_model(path[:-1], data)
    allowed = list(model.model_fields) if model else []
    match = close_match(key, allowed)
    if match:
        return f"unknown key '{key}'; did you mean '{match}'?"
    elsewhere = [f"{section}.{key}" for section in Recipe.model_fields if key in fields_of((section,), data)]
    if elsewhere and len(path) > 1:
        return f"unknown key '{key}' in {dotted(path[:-1])}; did you mean '{elsewhere[0]}'?"
    return f"unknown key '{key}' (allowed here: {', '.join(allowed)})"


def fields_of(path: Path_, data: Any) -> list[str]:
    model = section_model(path, data)
    return list(model.model_fields) if model else []


def section_model(path: Path_, data: Any) -> type[BaseModel] | None:
    """The schema class of the section at ``path`` (the task class is picked by ``task.type``)."""
    model: type[BaseModel] | None = Recipe
    node = data
    for part in path:
        if model is None or part not in model.model_fields:
            return None
        node = node.get(part) if isinstance(node, dict) else None
        model = model_in(model.model_fields[part].annotation, node)
    return model


def model_in(annotation: Any, node: Any) -> type[BaseModel] | None:
    candidates = [c for c in union_members(annotation) if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    tag = node.get("type") if isinstance(node, dict) else None
    for candidate in candidates:
        if tag in typing.get_args(candidate.model_fields["type"].annotation):
            return candidate
    return None


def union_members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return union_members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in union_members(arg)]
    return [annotation]


# --------------------------------------------------------------------------------------------- overrides
def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> tuple[Origins, list[Problem]]:
    """Apply ``KEY=VALUE`` overrides in place. Returns where each overridden path came from, and problems."""
    origins: Origins = {}
    problems: list[Problem] = []
    for index, raw in enumerate(overrides):
        key, sep, text = raw.partition("=")
        key = key.strip()
        label = f"--set {key}"
        order = (1, index, 0)
        if not sep or not key or any(not part for part in key.split(".")):
            problems.append(Problem(order, f"--set {raw}", "", "expected KEY=VALUE, e.g. training.learning_rate=3e-5"))
            continue
        try:
            value = parse_scalar(text)
        except yaml.YAMLError as err:
            reason = getattr(err, "problem", None) or "not valid YAML"
            problems.append(Problem(order, label, key, f"cannot read the value {text!r}: {reason}"))
            continue
        path, problem = set_path(data, key.split("."), value)
        if problem:
            problems.append(Problem(order, label, key, problem))
        else:
            origins[path] = (label, index)
    return origins, problems


def set_path(data: dict[str, Any], parts: list[str], value: Any) -> tuple[Path_, str | None]:
    node: Any = data
    path: list[Any] = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return tuple(path), f"{dotted(tuple(path))} is a list of {len(node)}: use an index 0..{len(node) - 1}"
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
            if not last and not isinstance(node.get(key), (dict, list)):
                if node.get(key) is not None:
                    where = dotted((*path, key))
                    return tuple(path), f"{where} is a value ({show(node[key])}), not a section with keys"
                node[key] = {}
        path.append(key)
        if last:
            node[key] = value
        else:
            node = node[key]
    return tuple(path), None
