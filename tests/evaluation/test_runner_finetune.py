"""`bertkit evaluate` on what `bertkit finetune` produces: the same numbers as the run's own final evaluation, and the
report the engine's hook (``finetune_report``) writes for an in-memory model equals the one `bertkit evaluate`
writes for the saved folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bertkit.evaluation import load_report
from bertkit.evaluation.pipeline import run_evaluation
from bertkit.evaluation.sources import EvaluateRequest
from tests.cli.helpers import run_cli
from tests.evaluation.test_runner import write_conll, write_csv
from tests.training.conftest import sentiment_rows


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def recipe_tree(folder: Path, model: Path, task: dict, train: Path, dev: Path) -> dict:
    return {
        "model": {"name": str(model)},
        "data": {"train_file": str(train), "validation_file": str(dev)},
        "task": task,
        "training": {"epochs": 2, "batch_size": 4, "learning_rate": 0.003, "precision": "fp32", "seed": 7},
        "evaluation": {"bootstrap_samples": 200},
        "output": {"dir": str(folder / "run")},
    }


def finetuned(folder: Path, tree: dict) -> Path:
    (folder / "recipe.yaml").write_text(yaml.safe_dump(tree), encoding="utf-8")
    result = run_cli("finetune", folder / "recipe.yaml", "--log-format", "plain")
    assert result.exit_code == 0, result.stderr
    return folder / "run"


def test_evaluating_a_finetuned_folder_gives_the_runs_final_metrics(tmp_path, tiny_encoder):
    train = write_csv(tmp_path / "train.csv", sentiment_rows(4))
    dev = write_csv(tmp_path / "dev.csv", sentiment_rows())
    task = {"type": "text-classification", "max_length": 16}
    run = finetuned(tmp_path, recipe_tree(tmp_path, tiny_encoder, task, train, dev))
    final = json.loads((run / "metrics.json").read_text())["splits"]["validation"]
    outcome = run_evaluation(EvaluateRequest(model=str(run), precision="fp32"), output=tmp_path / "report")
    split = outcome.report.splits["validation"]  # no --data: the run's own validation split, from its recipe.yaml
    assert split.n_examples == 10
    assert split.metrics["accuracy"] == pytest.approx(final["accuracy"])
    assert split.metrics["macro_f1"] == pytest.approx(final["macro_f1"])
    log = outcome.report.training_log
    assert [r["step"] for r in log if "eval" in r] == [10, 20]  # one evaluation per epoch, from train_log.jsonl
    assert all("loss" in r for r in log if "eval" not in r)
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'id="training"' in html and 'aria-label="Loss"' in html


def test_evaluating_a_finetuned_ner_folder_gives_the_runs_final_metrics(tmp_path, tiny_encoder):
    rows = [
        ("george smith went to paris", "B-PER I-PER O O B-LOC"),
        ("mary lives in london", "B-PER O O B-LOC"),
        ("john works at google", "B-PER O O B-ORG"),
        ("the king visited berlin and new york", "O O O B-LOC O B-LOC I-LOC"),
    ]
    train = write_conll(tmp_path / "train.txt", rows * 4)
    dev = write_conll(tmp_path / "dev.txt")
    task = {"type": "token-classification", "max_length": 16, "stride": 4}
    tree = recipe_tree(tmp_path, tiny_encoder, task, train, dev)
    tree["training"].update(epochs=10, learning_rate=0.01)
    run = finetuned(tmp_path, tree)
    final = json.loads((run / "metrics.json").read_text())["splits"]["validation"]
    assert final["f1"] > 0.1  # it found entities: the comparison means something
    split = run_evaluation(EvaluateRequest(model=str(run), precision="fp32")).report.splits["validation"]
    assert split.truncation.max_length == 16 and split.truncation.stride == 4  # the run's windows, from its recipe
    for name in ("precision", "recall", "f1"):
        assert split.metrics[name] == pytest.approx(final[name]), name
    assert split.metrics["token_accuracy"] == pytest.approx(final["accuracy"])


def test_the_finetune_hook_report_equals_bertkit_evaluate_on_the_saved_folder(tmp_path, tiny_encoder):
    """What the engine calls on its in-memory model at the end of a run, against the saved folder."""
    from bertkit.evaluation.runner import finetune_report
    from bertkit.recipes.loader import recipe_to_yaml
    from bertkit.recipes.schema import Recipe
    from bertkit.training.setup import build_model, prepare_data

    train = write_csv(tmp_path / "train.csv", sentiment_rows(2))
    dev = write_csv(tmp_path / "dev.csv", sentiment_rows())
    tree = recipe_tree(tmp_path, tiny_encoder, {"type": "text-classification", "max_length": 16}, train, dev)
    recipe = Recipe.model_validate(tree)
    from bertkit.data import load_splits

    prepared = prepare_data(recipe, load_splits(recipe))
    model, _ = build_model(recipe, prepared)  # untrained head: predictions still differ between examples
    folder = tmp_path / "saved"
    model.save_pretrained(folder)
    prepared.tokenizer.save_pretrained(folder)
    (folder / "recipe.yaml").write_text(recipe_to_yaml(recipe), encoding="utf-8")
    hooked = finetune_report(
        folder,
        model=model,
        tokenizer=prepared.tokenizer,
        task=prepared.task,
        encoded=prepared.encoded,
        recipe=recipe,
        precision="fp32",
    )
    assert hooked is not None and set(hooked.splits) == {"validation"}
    written = load_report(folder)
    evaluated = run_evaluation(
        EvaluateRequest(model=str(folder), precision="fp32", bootstrap=200), output=tmp_path / "evaluated"
    ).report
    assert written.to_dict()["splits"] == evaluated.to_dict()["splits"]
    assert (folder / "predictions.jsonl").read_text() == (tmp_path / "evaluated" / "predictions.jsonl").read_text()


def test_a_report_problem_is_passed_on_and_never_raised_by_the_hook(tmp_path, tiny_encoder):
    """Part-of-speech tags (no entity prefixes) are scored per word; a report that cannot be written (its folder is
    a file) is reported to the engine, never raised: the run's model is not lost."""
    from bertkit.data import load_splits
    from bertkit.evaluation.runner import finetune_report
    from bertkit.recipes.schema import Recipe
    from bertkit.training.setup import build_model, prepare_data

    rows = [("mary lives in london", "NN VB IN NN"), ("john works at google", "NN VB IN NN")]
    train, dev = write_conll(tmp_path / "train.txt", rows * 2), write_conll(tmp_path / "dev.txt", rows)
    task = {"type": "token-classification", "max_length": 16, "stride": 4}
    recipe = Recipe.model_validate(recipe_tree(tmp_path, tiny_encoder, task, train, dev))
    prepared = prepare_data(recipe, load_splits(recipe))
    model, _ = build_model(recipe, prepared)
    arguments = {"model": model, "tokenizer": prepared.tokenizer, "task": prepared.task, "encoded": prepared.encoded}
    report = finetune_report(tmp_path / "out", **arguments, recipe=recipe, precision="fp32")
    split = report.splits["validation"]
    assert split.n_examples == 2 and sum(split.per_class[tag]["support"] for tag in ("NN", "VB", "IN")) == 8
    assert split.metrics["accuracy"] == pytest.approx(
        prepared.task.compute_metrics(run_whole(model, prepared), prepared.encoded["validation"])["accuracy"]
    )
    (tmp_path / "a-file").write_text("not a folder")
    problems: list[str] = []
    failed = finetune_report(
        tmp_path / "a-file", **arguments, recipe=recipe, precision="fp32", on_problem=problems.append
    )
    assert failed is None and len(problems) == 1 and "the evaluation report was not written" in problems[0]


def run_whole(model, prepared):
    from bertkit.evaluation.feeds import make_feed
    from bertkit.evaluation.runner import EvalSettings, run_chunk

    split = prepared.encoded["validation"]
    return run_chunk(model, prepared.task, make_feed(prepared.task), split.features, EvalSettings(), model.device)
