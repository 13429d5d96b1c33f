"""Every shipped recipe validates, is listed, and is documented in recipes/README.md."""

from pathlib import Path

import pytest

from bertkit.recipes.library import list_recipes, recipes_root
from bertkit.recipes.loader import load_recipe

REPO_RECIPES = Path(__file__).resolve().parents[2] / "recipes"
FILES = sorted(REPO_RECIPES.rglob("*.yaml"))


def test_there_are_shipped_recipes():
    names = {p.relative_to(REPO_RECIPES).with_suffix("").as_posix() for p in FILES}
    assert {
        "quickstart/sentiment",
        "classification/sst2",
        "classification/rte-pairs",
        "ner/conll2003",
        "qa/squad-v1",
        "mlm/domain-adaptive",
        "pretraining/tiny-bert-from-scratch",
        "multi-gpu/sst2-ddp",
    } <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(REPO_RECIPES).as_posix())
def test_shipped_recipe_validates(path):
    recipe = load_recipe(path)
    assert recipe.description and recipe.name
    assert recipe.output.dir.startswith("runs/")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(REPO_RECIPES).as_posix())
def test_shipped_recipe_is_in_the_readme(path):
    readme = (REPO_RECIPES / "README.md").read_text()
    name = path.relative_to(REPO_RECIPES).with_suffix("").as_posix()
    assert f"`{name}`" in readme
    assert f"recipes/{name}.yaml" in readme


def test_local_data_switch_is_one_set():
    recipe = load_recipe(REPO_RECIPES / "classification/sst2.yaml", ["data.dataset=../shared/data/sst2"])
    assert recipe.data.dataset == "../shared/data/sst2"


def test_editable_install_lists_the_repo_folder():
    assert recipes_root() == REPO_RECIPES
    assert [r.name for r in list_recipes()] == sorted(
        p.relative_to(REPO_RECIPES).with_suffix("").as_posix() for p in FILES
    )
