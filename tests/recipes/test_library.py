import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bertkit.errors import RecipeError
from bertkit.recipes.library import find_recipe, list_recipes, recipes_root, resolve_recipe_path

REPO = Path(__file__).resolve().parents[2]


def test_find_by_full_name_short_name_and_suffix():
    assert find_recipe("classification/sst2").path == REPO / "recipes/classification/sst2.yaml"
    assert find_recipe("sst2").name == "classification/sst2"
    assert find_recipe("ner/conll2003.yaml").task == "token-classification"


def test_unknown_name_suggests_a_close_one():
    with pytest.raises(RecipeError) as info:
        find_recipe("sst3")
    assert "Did you mean 'sst2'?" in info.value.message
    assert "classification/sst2" in info.value.hint


def test_a_recipe_argument_is_a_file_or_a_shipped_name(tmp_path, monkeypatch):
    assert resolve_recipe_path("quickstart/sentiment") == REPO / "recipes/quickstart/sentiment.yaml"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quickstart").mkdir()
    (tmp_path / "quickstart" / "sentiment").write_text("name: mine\n")  # an existing path is never shadowed
    assert resolve_recipe_path("quickstart/sentiment") == Path("quickstart/sentiment")
    with pytest.raises(RecipeError, match="recipe file not found: sentimint, and no shipped recipe named"):
        resolve_recipe_path("sentimint")
    with pytest.raises(RecipeError, match=r"recipe file not found: sst2\.yaml\n"):
        resolve_recipe_path("sst2.yaml")  # a .yaml path is a file the user meant, not a name


def test_ambiguous_short_name(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.yaml").write_text("description: x\ntask: {type: masked-lm}\n")
    with pytest.raises(RecipeError, match="matches several shipped recipes: a/same, b/same"):
        find_recipe("same", root=tmp_path)
    assert [r.task for r in list_recipes(tmp_path)] == ["masked-lm", "masked-lm"]


def test_installed_package_folder_wins_over_the_repo_folder(tmp_path):
    package = tmp_path / "bertkit"
    (package / "_recipes" / "x").mkdir(parents=True)
    (package / "_recipes" / "x" / "r.yaml").write_text("task: {type: pretraining}\n")
    (tmp_path / "recipes").mkdir()
    assert recipes_root(package) == package / "_recipes"
    shutil.rmtree(package / "_recipes")
    with pytest.raises(RecipeError, match="no shipped recipes found"):
        recipes_root(package)


def test_wheel_layout_lists_and_shows_recipes(tmp_path):
    """Lay the package out as the wheel does (pyproject force-include) and run the CLI from there."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    force_include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force_include == {"recipes": "bertkit/_recipes"}
    site = tmp_path / "site"
    shutil.copytree(REPO / "bertkit", site / "bertkit", ignore=shutil.ignore_patterns("__pycache__", "_recipes"))
    for source, target in force_include.items():
        shutil.copytree(REPO / source, site / target)
    env = {**os.environ, "PYTHONPATH": str(site)}

    def run(*args):
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=tmp_path)

    where = run("-c", "import bertkit.recipes.library as lib; print(lib.recipes_root())")
    assert where.stdout.strip() == str(site / "bertkit" / "_recipes"), where.stderr
    listed = run("-m", "bertkit", "recipe", "list")
    assert listed.returncode == 0, listed.stderr
    assert "quickstart/sentiment" in listed.stdout and "token-classification" in listed.stdout
    shown = run("-m", "bertkit", "recipe", "show", "qa/squad-v1")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (REPO / "recipes/qa/squad-v1.yaml").read_text()
