import pytest
import yaml

from bertkit.errors import RecipeError
from bertkit.recipes.loader import load_recipe, load_recipe_text
from bertkit.recipes.schema import TASK_TYPES, Recipe
from bertkit.recipes.template import recipe_template


def schema_descriptions(model, seen=None):
    """Every field docstring reachable from ``model`` (sections and all task classes)."""
    from bertkit.recipes.loader import union_members

    seen = seen if seen is not None else set()
    docs = []
    for field in model.model_fields.values():
        docs.append(field.description)
        for member in union_members(field.annotation):
            if isinstance(member, type) and hasattr(member, "model_fields") and member not in seen:
                seen.add(member)
                docs += schema_descriptions(member, seen)
    return docs


def test_every_schema_field_is_documented():
    assert all(schema_descriptions(Recipe))


@pytest.mark.parametrize("task", TASK_TYPES)
def test_template_validates_as_written(task, tmp_path):
    text = recipe_template(task)
    path = tmp_path / "r.yaml"
    path.write_text(text)
    recipe = load_recipe(path)
    assert recipe.task.type == task
    assert recipe.model.name == "minilm"


@pytest.mark.parametrize("task", TASK_TYPES)
def test_template_lists_every_key_with_its_docstring(task):
    text = recipe_template(task, model="my/model")
    data = yaml.safe_load(text)
    recipe = load_recipe_text(text)
    assert data["model"]["name"] == "my/model"
    # every key of the resolved recipe is written out (complete), in schema order
    assert set(data) == set(recipe.model_dump())
    for section in ("model", "data", "task", "training", "evaluation", "output"):
        assert set(data[section]) == set(recipe.model_dump()[section]), section
    flat = " ".join(text.split())
    for description in (
        "Peak learning rate of AdamW.",
        "Share of train held out for validation when no validation split exists (whole documents",
        "Replace an existing finished output folder",
    ):
        assert description in flat


def test_task_specific_keys_and_comments():
    text = recipe_template("question-answering")
    assert "doc_stride: 128" in text
    assert "# Tokens shared by consecutive context windows." in text
    assert "tag_scheme" not in text
    pretraining = load_recipe_text(recipe_template("pretraining"))
    assert pretraining.model.from_scratch and pretraining.model.architecture.hidden_size == 256


def test_unknown_task():
    with pytest.raises(RecipeError, match="unknown task 'qa'; did you mean 'question-answering'"):
        recipe_template("qa")
