from pathlib import Path

import pytest

from bertkit.recipes.schema import TASK_TYPES
from tests.cli.helpers import assert_clean_error, run_cli
from tests.recipes.conftest import VALID

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_validate_ok(tmp_path):
    path = write(tmp_path, "ok.yaml", VALID)
    result = run_cli("recipe", "validate", path)
    assert result.exit_code == 0, result.stderr
    assert f"OK  {path}  (text-classification, model minilm)" in result.stdout


def test_validate_reports_every_problem_of_every_file(tmp_path):
    good = write(tmp_path, "good.yaml", VALID)
    bad1 = write(tmp_path, "bad1.yaml", VALID.replace("epochs: 2", "epoch: 2").replace("labels:", "lables:"))
    bad2 = write(tmp_path, "bad2.yaml", "model: [\n")
    result = run_cli("recipe", "validate", bad1, good, bad2)
    assert_clean_error(
        result,
        f"{bad1}:10:3: training.epoch: unknown key 'epoch'; did you mean 'epochs'?",
        f"{bad1}:8:3: task.lables: unknown key 'lables'; did you mean 'labels'?",
        f"{bad2}:2:1: YAML syntax error",
        "2 of 3 recipe(s) invalid.",
    )
    assert f"OK  {good}" in result.stdout


def test_validate_with_set_and_resolved(tmp_path):
    path = write(tmp_path, "r.yaml", VALID)
    result = run_cli("recipe", "validate", path, "--set", "training.learning_rate=3e-5", "--resolved")
    assert result.exit_code == 0, result.stderr
    assert "learning_rate: 3.0e-05" in result.stdout
    assert "batch_size: 32" in result.stdout  # defaults filled in
    bad = run_cli("recipe", "validate", path, "--set", "training.learning_rat=3e-5")
    assert_clean_error(bad, "--set training.learning_rat: unknown key 'learning_rat'; did you mean 'learning_rate'?")


def test_validate_a_shipped_recipe_by_name():
    result = run_cli("recipe", "validate", "quickstart/sentiment")
    assert result.exit_code == 0, result.stderr
    assert "OK  quickstart/sentiment" in result.stdout


def test_validate_missing_file(tmp_path):
    assert_clean_error(run_cli("recipe", "validate", tmp_path / "nope.yaml"), "recipe file not found")


@pytest.mark.parametrize("task", TASK_TYPES)
def test_init_writes_a_recipe_that_validates(task, tmp_path):
    path = tmp_path / f"{task}.yaml"
    result = run_cli("recipe", "init", "--task", task, "--output", path, "--model", "bert-base-uncased")
    assert result.exit_code == 0, result.stderr
    assert "bertkit recipe validate" in result.stderr
    checked = run_cli("recipe", "validate", path)
    assert checked.exit_code == 0, checked.stderr
    assert f"({task}, model bert-base-uncased)" in checked.stdout


def test_init_prints_without_output_and_refuses_to_overwrite(tmp_path):
    printed = run_cli("recipe", "init", "--task", "masked-lm")
    assert printed.exit_code == 0
    assert "type: masked-lm" in printed.stdout and "# Share of tokens selected for prediction." in printed.stdout
    path = write(tmp_path, "exists.yaml", "keep me")
    assert_clean_error(run_cli("recipe", "init", "--task", "masked-lm", "-o", path), "already exists", "--force")
    assert path.read_text() == "keep me"
    assert run_cli("recipe", "init", "--task", "masked-lm", "-o", path, "--force").exit_code == 0
    assert "type: masked-lm" in path.read_text()


def test_init_unknown_task():
    assert_clean_error(
        run_cli("recipe", "init", "--task", "ner"), "unknown task 'ner'; did you mean 'token-classification'?"
    )


def test_list_and_show():
    listed = run_cli("recipe", "list")
    assert listed.exit_code == 0
    for name in ("quickstart/sentiment", "classification/sst2", "ner/conll2003", "multi-gpu/sst2-ddp"):
        assert name in listed.stdout
    shown = run_cli("recipe", "show", "classification/sst2")
    assert shown.exit_code == 0
    assert shown.stdout == (REPO / "recipes/classification/sst2.yaml").read_text()
    assert_clean_error(run_cli("recipe", "show", "sst3"), "no shipped recipe named 'sst3'. Did you mean 'sst2'?")


@pytest.mark.parametrize("command", ["validate", "init", "list", "show"])
def test_help_has_an_example(command):
    result = run_cli("recipe", command, "--help")
    assert result.exit_code == 0
    assert "Example: bertkit recipe" in result.stdout
