"""YAML with positions: ``yaml.safe_load`` semantics, plus the file, line and column of every key and value.

The document is composed into a node tree (SafeLoader) and built into plain Python values by hand, so that
duplicate keys can be reported (PyYAML silently keeps the last one) and every value keeps its position.
One extension to YAML 1.1: ``3e-5`` (exponent without a dot) is a float, as in YAML 1.2 and JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bertkit.errors import RecipeError

Path_ = tuple[Any, ...]  # a key path: ("task", "labels", 0)
MERGE_TAG = "tag:yaml.org,2002:merge"


class RecipeYamlLoader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-5`` as a float (YAML 1.1 needs a dot: ``1.0e-5``)."""


RecipeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


@dataclass(frozen=True)
class Position:
    """1-based line and column in a file."""

    line: int
    column: int

    @classmethod
    def of(cls, node: Node) -> Position:
        return cls(node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass
class YamlTree:
    """Plain data plus where each key and value was written."""

    data: Any
    source: str
    root: Position = field(default_factory=lambda: Position(1, 1))
    keys: dict[Path_, Position] = field(default_factory=dict)
    values: dict[Path_, Position] = field(default_factory=dict)
    problems: list[tuple[Position, str]] = field(default_factory=list)
    """Problems that do not stop reading (duplicate keys): reported with the validation problems."""

    def where(self, position: Position) -> str:
        return f"{self.source}:{position.line}:{position.column}"


def yaml_error(source: str, err: yaml.YAMLError) -> RecipeError:
    """A YAML syntax error as ``FILE:LINE:COL: message``."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    detail = f"{problem} ({context})" if context else problem
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    return RecipeError(
        f"{where}: YAML syntax error: {detail}",
        hint="Check the indentation (spaces, not tabs) and the quoting around that position.",
    )


def decode_recipe_bytes(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        column = err.start - (before.rfind(b"\n") + 1) + 1
        raise RecipeError(
            f"{source}:{line}:{column}: not valid UTF-8 (byte 0x{raw[err.start]:02x})",
            hint="Save the recipe as UTF-8.",
        ) from None


def read_yaml_file(path: str | Path) -> YamlTree:
    from bertkit.recipes.library import resolve_recipe_path

    path = resolve_recipe_path(path)
    if path.is_dir():
        raise RecipeError(f"{path} is a folder; a recipe is a YAML file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise RecipeError(f"cannot read recipe {path}: {err.strerror or err}") from None
    return parse_yaml_text(decode_recipe_bytes(raw, str(path)), str(path))


def parse_yaml_text(text: str, source: str) -> YamlTree:
    """Compose ``text`` and build it, keeping positions. Raises ``RecipeError`` for anything unreadable."""
    try:
        root = yaml.compose(text, Loader=RecipeYamlLoader)
    except yaml.YAMLError as err:
        raise yaml_error(source, err) from None
    if root is None:
        raise RecipeError(f"{source}: the recipe is empty", hint="Write one with `bertkit recipe init --task TYPE`.")
    tree = YamlTree(data=None, source=source, root=Position.of(root))
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        raise RecipeError(
            f"{tree.where(tree.root)}: a recipe is a mapping of sections (model, data, task, ...), not {kind}"
        )
    try:
        tree.data = TreeBuilder(tree).build(root, ())
    except yaml.YAMLError as err:  # a bad merge key or an unreadable tagged value
        raise yaml_error(source, err) from None
    return tree


class TreeBuilder:
    """Node tree -> plain values, recording positions and duplicate-key problems in the tree."""

    def __init__(self, tree: YamlTree) -> None:
        self.tree = tree
        self.constructor = SafeConstructor()
        self.active: set[int] = set()

    def problem(self, node: Node, message: str) -> None:
        position = Position.of(node)
        self.tree.problems.append((position, f"{self.tree.where(position)}: {message}"))

    def build(self, node: Node, path: Path_) -> Any:
        self.tree.values[path] = Position.of(node)
        if isinstance(node, ScalarNode):
            return self.constructor.construct_object(node, deep=True)
        if id(node) in self.active:
            self.problem(node, "recursive alias (a value containing itself)")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            return self.build_mapping(node, path)
        finally:
            self.active.discard(id(node))

    def build_mapping(self, node: MappingNode, path: Path_) -> dict[Any, Any]:
        seen: dict[Any, Position] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.key_of(key_node)
            if key in seen:
                dotted = ".".join(str(p) for p in (*path, key))
                self.problem(key_node, f"{dotted}: duplicate key (first set on line {seen[key].line}); keep one")
            else:
                seen[key] = Position.of(key_node)
        self.constructor.flatten_mapping(node)  # resolve `<<: *anchor` merge keys; explicit keys win
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.key_of(key_node)
            self.tree.keys[(*path, key)] = Position.of(key_node)  # merged keys come first: explicit ones win
            result[key] = self.build(value_node, (*path, key))
        return result

    def key_of(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            self.problem(node, "a key must be a plain name, not a list or a mapping")
            return f"<invalid key at line {node.start_mark.line + 1}>"
        return self.constructor.construct_object(node, deep=True)


def parse_scalar(text: str) -> Any:
    """Parse an override value as YAML (``3e-5``, ``true``, ``null``, ``[a, b]``); raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=RecipeYamlLoader)  # RecipeYamlLoader is a SafeLoader
