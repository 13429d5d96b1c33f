"""The recipes shipped with bertkit: found inside the installed package, or in the repository's recipes/ folder.

A wheel carries the repository's ``recipes/`` folder as ``bertkit/_recipes`` (pyproject force-include). An
editable install has no such folder, so the ``recipes/`` folder next to the package is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bertkit.errors import RecipeError

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../bertkit


@dataclass(frozen=True)
class ShippedRecipe:
    """One shipped recipe. ``name`` is its path below the recipes folder without ``.yaml`` (classification/sst2)."""

    name: str
    task: str
    description: str
    path: Path


def recipes_root(package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder holding the shipped recipes: ``bertkit/_recipes`` when installed, else the repo's ``recipes/``."""
    for candidate in (package_dir / "_recipes", package_dir.parent / "recipes"):
        if candidate.is_dir() and any(candidate.rglob("*.yaml")):
            return candidate
    raise RecipeError(
        f"no shipped recipes found (looked in {package_dir / '_recipes'} and {package_dir.parent / 'recipes'})",
        hint="Reinstall bertkit, or write a recipe with `bertkit recipe init --task TYPE`.",
    )


def list_recipes(root: Path | None = None) -> list[ShippedRecipe]:
    """Every shipped recipe, sorted by name. Task and description are read from the YAML (not validated)."""
    root = root or recipes_root()
    recipes = []
    for path in sorted(root.rglob("*.yaml")):
        data = read_summary(path)
        task = data.get("task") if isinstance(data.get("task"), dict) else {}
        recipes.append(
            ShippedRecipe(
                name=path.relative_to(root).with_suffix("").as_posix(),
                task=str(task.get("type", "?")),
                description=" ".join(str(data.get("description") or "").split()),
                path=path,
            )
        )
    return recipes


def read_summary(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def find_recipe(name: str, root: Path | None = None) -> ShippedRecipe:
    """A shipped recipe by name: ``classification/sst2``, ``sst2`` (when unique) or with ``.yaml``."""
    recipes = list_recipes(root)
    wanted = name.strip().removesuffix(".yaml").strip("/")
    exact = [r for r in recipes if r.name == wanted]
    if exact:
        return exact[0]
    by_stem = [r for r in recipes if r.name.rsplit("/", 1)[-1] == wanted]
    if len(by_stem) == 1:
        return by_stem[0]
    names = [r.name for r in recipes]
    if by_stem:
        raise RecipeError(
            f"'{name}' matches several shipped recipes: {', '.join(r.name for r in by_stem)}",
            hint="Use the full name.",
        )
    import difflib

    close = difflib.get_close_matches(wanted, names + [n.rsplit("/", 1)[-1] for n in names], n=1, cutoff=0.5)
    suggestion = f" Did you mean '{close[0]}'?" if close else ""
    raise RecipeError(
        f"no shipped recipe named '{name}'.{suggestion}",
        hint=f"Shipped recipes: {', '.join(names)} (see `bertkit recipe list`).",
    )


def resolve_recipe_path(given: str | Path) -> Path:
    """A recipe file: ``given`` when it exists, else the shipped recipe of that name (``quickstart/sentiment``).

    A path that exists always wins, so a local file is never shadowed by a shipped recipe.
    """
    path = Path(given)
    if path.exists():
        return path
    if path.suffix.lower() not in (".yaml", ".yml") and not path.is_absolute():
        try:
            return find_recipe(str(given)).path
        except RecipeError as err:
            raise RecipeError(
                f"recipe file not found: {path}, and {err.message}",
                hint=err.hint or "Check the path, or see `bertkit recipe list`.",
            ) from None
    raise RecipeError(
        f"recipe file not found: {path}",
        hint="Check the path; `bertkit recipe list` shows the shipped recipes (run one by name, e.g. "
        "`bertkit finetune quickstart/sentiment`), `bertkit recipe init` writes one.",
    )
