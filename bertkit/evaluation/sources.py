"""What ``bertkit evaluate`` evaluates: the task, its settings and the data, as a recipe the data layer loads.

Evaluation data goes through the same loaders and column mapping as training data: the command's flags (or a
``--recipe``, or the ``recipe.yaml`` that ``bertkit finetune`` saved in the model folder) become a
:class:`bertkit.recipes.schema.Recipe` whose data section names the split(s) to read.

Task settings, first found wins: ``--recipe``'s task section; the model folder's saved recipe (same task type),
so a fine-tuned model is evaluated with the windows it was trained with; the ``bertkit`` entry of the model's
config; the schema defaults, fitted to the model's longest input. ``--max-length`` overrides any of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bertkit.errors import BertkitError, DataError, InputError, RecipeError

TASK_TYPES = ("text-classification", "token-classification", "question-answering", "masked-lm")
HEAD_SUFFIXES = {
    "ForSequenceClassification": "text-classification",
    "ForTokenClassification": "token-classification",
    "ForQuestionAnswering": "question-answering",
    "ForMaskedLM": "masked-lm",
    "ForPreTraining": "masked-lm",  # BERT pre-training checkpoints: their MLM head is evaluated
}
ROLE_NAMES = ("validation", "test")
SAVED_RECIPE = "recipe.yaml"


@dataclass
class EvaluateRequest:
    """Everything ``bertkit evaluate MODEL ...`` was asked (one field per command-line option)."""

    model: str
    data: str | None = None
    task: str | None = None
    recipe: str | None = None
    split: str | None = None
    data_config: str | None = None
    data_format: str = "auto"
    columns: dict[str, str] = field(default_factory=dict)
    label_map: dict[str, str] = field(default_factory=dict)
    max_samples: int | None = None
    max_length: int | None = None
    batch_size: int | None = None
    device: str = "auto"
    precision: str = "auto"
    bootstrap: int = 1000
    confidence: float = 0.95
    seed: int = 0
    worst_k: int = 10
    trust_remote_code: bool = False


@dataclass
class EvaluationPlan:
    """The recipe to load the data with, and which of its split roles to evaluate under which report names."""

    recipe: Any  # bertkit.recipes.schema.Recipe
    splits: dict[str, str]  # role (validation | test) -> name in the report
    from_flags: bool  # the data section was built from --data (error messages name flags, not recipe keys)
    batch_size: int = 32
    notes: list[str] = field(default_factory=list)


def normalize_task(name: str) -> str:
    from bertkit.recipes.loader import TASK_ALIASES

    task = TASK_ALIASES.get(name.strip().lower(), name.strip().lower())
    if task == "pretraining":
        task = "masked-lm"
    if task not in TASK_TYPES:
        raise InputError(
            f"unknown --task '{name}'",
            hint=f"Use one of: {', '.join(TASK_TYPES)} (or ner, qa, classification, mlm).",
        )
    return task


def task_of_model(config: Any) -> str | None:
    """The task a saved model was trained for: bertkit's own config entry, else the architecture's head."""
    saved = getattr(config, "bertkit", None)
    if isinstance(saved, dict) and saved.get("task") in TASK_TYPES:
        return saved["task"]
    for architecture in getattr(config, "architectures", None) or []:
        for suffix, task in HEAD_SUFFIXES.items():
            if str(architecture).endswith(suffix):
                return task
    return None


def resolve_task(request: EvaluateRequest, config: Any, recipe: Any) -> str:
    if request.task:
        return normalize_task(request.task)
    if recipe is not None:
        return normalize_task(recipe.task.type)
    found = task_of_model(config)
    if found is None:
        architectures = ", ".join(getattr(config, "architectures", None) or []) or "none saved"
        raise InputError(
            f"cannot tell which task model '{request.model}' does (architectures: {architectures})",
            hint=f"Pass --task ({', '.join(TASK_TYPES)}).",
        )
    return found


def load_model_config(model: str, trust_remote_code: bool = False) -> tuple[Any, Any]:
    """(ModelSource, transformers config) of ``model``, with bertkit's clear load errors."""
    from transformers import AutoConfig

    from bertkit.modeling.hub import explain_load_failure, resolve_model_source

    source = resolve_model_source(model)
    try:
        config = AutoConfig.from_pretrained(source.location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as err:
        raise explain_load_failure(source, err) from None
    return source, config


def saved_recipe(source: Any) -> Any:
    """The recipe ``bertkit finetune`` saved in a local model folder, or None (absent or no longer valid)."""
    if not source.is_local:
        return None
    path = Path(source.location) / SAVED_RECIPE
    if not path.is_file():
        return None
    from bertkit.recipes.loader import load_recipe

    try:
        return load_recipe(path)
    except RecipeError:
        return None


# ------------------------------------------------------------------------------------------------ task settings
def config_task_settings(task: str, config: Any) -> dict[str, Any]:
    """Settings a bertkit-trained model saved in its config (NER windows, QA windows and answer rules)."""
    saved = getattr(config, "bertkit", None)
    if not isinstance(saved, dict):
        return {}
    keys = {
        "token-classification": ("max_length", "stride"),
        "question-answering": (
            "max_length",
            "doc_stride",
            "max_answer_length",
            "version_2_with_negative",
            "null_score_threshold",
        ),
    }.get(task, ())
    settings = {key: saved[key] for key in keys if saved.get(key) is not None}
    if task == "token-classification" and str(saved.get("tag_scheme", "")).upper() == "BIOES":
        settings["tag_scheme"] = "bioes"
    return settings


def schema_default(task: str, key: str) -> Any:
    from bertkit.recipes.schema import (
        MaskedLMTask,
        QuestionAnsweringTask,
        TextClassificationTask,
        TokenClassificationTask,
    )

    sections = {
        "text-classification": TextClassificationTask,
        "token-classification": TokenClassificationTask,
        "question-answering": QuestionAnsweringTask,
        "masked-lm": MaskedLMTask,
    }
    found = sections[task].model_fields.get(key)
    return None if found is None else found.default


def fit_windows(settings: dict[str, Any], task: str, length: int) -> dict[str, Any]:
    """``settings`` with ``max_length`` = ``length`` and the window settings it leaves room for (NER stride at most
    a quarter of a window; QA questions at most half of it, doc stride at most half the room for the context)."""
    settings = {**settings, "max_length": length}
    if task == "token-classification":
        stride = settings.get("stride", schema_default(task, "stride"))
        settings["stride"] = min(stride, length // 4) if stride > length // 2 else stride
    elif task == "question-answering":
        question = min(settings.get("max_question_length", schema_default(task, "max_question_length")), length // 2)
        room = length - question - 3
        stride = settings.get("doc_stride", schema_default(task, "doc_stride"))
        settings.update(max_question_length=question, doc_stride=stride if stride < room else max(room // 2, 0))
    return settings


def task_settings(task: str, recipe: Any, config: Any, limit: int) -> tuple[dict[str, Any], bool]:
    """The task section before --max-length: (settings, whether they are defaults that may be fitted)."""
    if recipe is not None and recipe.task.type == "pretraining" and task == "masked-lm":
        keep = {"max_length", "mlm_probability", "whole_word_masking"}
        return {"type": task, **recipe.task.model_dump(include=keep)}, False
    if recipe is not None and recipe.task.type == task:  # --recipe, or the model folder's saved recipe
        return recipe.task.model_dump(exclude_none=True), False
    settings = {"type": task, **config_task_settings(task, config)}  # what a bertkit model saved, else defaults
    settings["max_length"] = min(settings.get("max_length", schema_default(task, "max_length")), limit)
    return settings, True


def task_section(task: str, request: EvaluateRequest, recipe: Any, config: Any, limit: int) -> dict[str, Any]:
    settings, defaults = task_settings(task, recipe, config, limit)
    if defaults or request.max_length is not None:  # windows shrink to fit a shorter --max-length
        settings = fit_windows(settings, task, request.max_length or settings["max_length"])
    if settings.get("max_length", 0) > limit:
        raise InputError(
            f"max_length {settings['max_length']} is longer than model '{request.model}' takes ({limit} tokens)",
            hint=f"Use --max-length {limit} or less.",
        )
    if task == "text-classification":
        problem = getattr(config, "problem_type", None)
        if settings.get("problem_type", "single_label") != "single_label":
            problem = settings["problem_type"]
        if problem in ("multi_label_classification", "regression", "multi_label"):
            raise InputError(
                f"model '{request.model}' does {problem.replace('_', '-')}; bertkit evaluate scores single-label "
                "classification only",
                hint="Evaluate single-label classifiers, NER, QA or masked-LM models.",
            )
    return {key: value for key, value in settings.items() if value is not None}


# ------------------------------------------------------------------------------------------------------- data
def split_name_of(stem: str) -> str:
    from bertkit.data.sources import VALIDATION_NAMES

    first = stem.lower().split(".")[0]
    for separator in "-_":
        first = first.split(separator)[0]
    return "validation" if first in VALIDATION_NAMES else first


def data_from_flag(request: EvaluateRequest, base: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The data section for ``--data`` (a file, a folder, builtin:NAME or a hub id) and the split's report name."""
    from bertkit.data.sources import BUILTIN_PREFIX, looks_local, resolve_builtin

    value = str(request.data)
    data = {key: base[key] for key in ("columns", "format", "conll") if key in base}
    if request.columns:
        data["columns"] = dict(request.columns)
    if request.data_format != "auto":
        data["format"] = request.data_format
    path = Path(value).expanduser()
    if value.startswith(BUILTIN_PREFIX) or path.is_dir():
        folder = resolve_builtin(value[len(BUILTIN_PREFIX) :].strip()) if value.startswith(BUILTIN_PREFIX) else path
        split = request.split or folder_split(folder)
        return {**data, "dataset": value, "test_split": split}, split_name_of(split)
    if path.is_file():
        return {**data, "dataset": value, "test_file": value}, request.split or split_name_of(path.name)
    if looks_local(value):
        raise DataError(f"--data {value}: no such file or folder", hint=f"Paths are relative to {Path.cwd()}.")
    split = request.split or "validation"
    hub = {"dataset": value, "config": request.data_config, "test_split": split}
    return {**data, **{k: v for k, v in hub.items() if v is not None}}, split_name_of(split)


def folder_split(folder: Path) -> str:
    """The split of a data folder to evaluate when --split is not given: its validation file, else its test file."""
    from bertkit.data.sources import VALIDATION_NAMES, find_split_file

    for name in (*VALIDATION_NAMES, "test"):
        if find_split_file(folder, (name,), "test") is not None:
            return name
    files = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_file())) or "no files"
    raise DataError(
        f"{folder}: no validation or test file (looked for validation.*, dev.*, valid.*, val.*, test.*; found {files})",
        hint="Name the split with --split (the file name without its extension), or pass the file itself.",
    )


def recipe_splits(request: EvaluateRequest, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Roles of a recipe's data to evaluate: --split picks one (a role or a split name), else validation and test."""
    if request.split in ROLE_NAMES:
        return data, {request.split: request.split}
    if request.split:
        data = {**data, "test_split": request.split, "test_file": None}
        return data, {"test": split_name_of(request.split)}
    roles = {"validation": "validation"}
    if data.get("test_split") or data.get("test_file"):
        roles["test"] = "test"
    return data, roles


def plan_evaluation(request: EvaluateRequest, task: str, given: Any, source: Any, config: Any, limit: int):
    """Turn the request into a validated recipe and the split roles to evaluate. ``given`` is the --recipe (or
    None), ``task`` the resolved task type and ``limit`` the longest input the model takes."""
    folder = saved_recipe(source)
    base = given if given is not None else folder
    notes = []
    if given is None and folder is not None and folder.task.type == task:
        notes.append(f"task settings from the model folder's {SAVED_RECIPE}")
    base_data = base.data.model_dump(exclude_none=True) if base is not None else {}
    if request.data:
        data, name = data_from_flag(request, base_data if given is not None else {})
        roles, from_flags = {"test": name}, True
    elif base is not None:
        data, roles = recipe_splits(request, base_data)
        data = {**data, **({"columns": dict(request.columns)} if request.columns else {})}
        from_flags = False
        if given is None:
            notes.append(f"data from the model folder's {SAVED_RECIPE} ({', '.join(roles)})")
    else:
        raise InputError(
            "no evaluation data: pass --data (a file, a folder, builtin:NAME or a hub dataset id) or --recipe",
            hint="e.g. bertkit evaluate MODEL --data dev.tsv --output report/",
        )
    if request.max_samples:
        data["max_eval_samples"] = request.max_samples
    seed = base.training.seed if base is not None else 42
    recipe = build_recipe(request, data, task_section(task, request, base, config, limit), seed)
    labels = getattr(recipe.task, "labels", None)
    if labels and task == "text-classification":
        where = "--recipe" if given is not None else f"the model folder's {SAVED_RECIPE}"
        notes.append(f"data labels read with task.labels of {where}: {labels} (integer labels are positions)")
    batch_size = request.batch_size or (base.training.eval_batch_size if base is not None else None)
    return EvaluationPlan(recipe, roles, from_flags, batch_size or 32, notes)


def build_recipe(request: EvaluateRequest, data: dict[str, Any], task: dict[str, Any], seed: int) -> Any:
    from pydantic import ValidationError

    from bertkit.recipes.schema import Recipe

    tree = {
        "model": {"name": request.model},
        "data": {key: value for key, value in data.items() if value is not None},
        "task": task,
        "training": {"seed": seed},
        "output": {"dir": "."},
    }
    try:
        return Recipe.model_validate(tree)
    except ValidationError as err:
        problems = [flag_words(str(problem.get("msg", ""))).removeprefix("Value error, ") for problem in err.errors()]
        raise InputError(
            "the evaluation settings are not valid: " + "; ".join(problems),
            hint="Check --columns (FIELD=COLUMN), --max-length and the recipe's task section.",
        ) from None


FLAG_WORDS = {
    "data.columns.": "--columns ",
    "data.columns": "--columns",
    "data.test_split": "--split",
    "data.test_file": "--data",
    "data.validation_split": "--split",
    "task.max_length": "--max-length",
    "--set data.dataset=": "--data ",
    "Point the recipe at local files instead": "Use local files instead",
}
# Data given with --data is read as the recipe role "test"; messages about it should not call it a test split.
ROLE_WORDS = {"the test split of ": "", "the test split": "the data", "test split, ": "", "the test split is": "it is"}


def flag_words(message: str, roles: bool = False) -> str:
    for key, flag in FLAG_WORDS.items():
        message = message.replace(key, flag)
    if roles:
        for key, words in ROLE_WORDS.items():
            message = message.replace(key, words)
    return message


@contextlib.contextmanager
def flag_errors(plan: EvaluationPlan) -> Iterator[None]:
    """Errors about data given with flags name the flags (--columns, --split), not recipe keys or split roles."""
    try:
        yield
    except BertkitError as err:
        if not plan.from_flags:
            raise
        hint = flag_words(err.hint, roles=True) if err.hint else None
        raise type(err)(flag_words(err.message, roles=True), hint=hint) from None


def load_eval_splits(plan: EvaluationPlan) -> Any:
    """The splits to evaluate (``DataSplits``), read by the recipe data loaders."""
    from bertkit.data import load_splits

    with flag_errors(plan):
        return load_splits(plan.recipe, splits=tuple(plan.splits))
