"""``bertkit evaluate`` as a library call: model + data -> checked labels -> encoded splits -> report files.

:func:`run_evaluation` loads the model (with the head checks of every inference command), loads the data with the
recipe loaders (see :mod:`bertkit.evaluation.sources`), checks the data's labels against the model's
``id2label`` (a label the model does not know is an error unless ``--label-map`` maps it; the model's label order
is kept), encodes the splits with the task, and scores them with :func:`bertkit.evaluation.runner.evaluate_model`.
Nothing is printed; ``status`` (optional) is told what is happening, for a spinner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bertkit.errors import InputError
from bertkit.evaluation.report import EvalReport
from bertkit.evaluation.sources import EvaluateRequest, EvaluationPlan

LOAD_TASKS = {
    "text-classification": "text-classification",
    "token-classification": "token-classification",
    "question-answering": "question-answering",
    "masked-lm": "fill-mask",
}
LABEL_FIELDS = {"text-classification": "label", "token-classification": "tags"}
HOW_TO_MAP = "map them with --label-map DATA=MODEL (once per label, or comma-separated)"


@dataclass
class EvaluationOutcome:
    report: EvalReport
    files: dict[str, Path] = field(default_factory=dict)  # format (json, md, html, predictions) -> path
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def model_labels(model: Any) -> list[str]:
    id2label = {int(k): str(v) for k, v in (model.config.id2label or {}).items()}
    return [id2label[i] for i in sorted(id2label)]


def align_to_model(splits: Any, roles: list[str], task: str, labels: list[str], mapping: dict[str, str]) -> list[str]:
    """Re-encode the data's labels as the model's label ids (in place); a label the model does not know is an error
    listing both label sets. Returns notes."""
    import datasets

    from bertkit.evaluation.labels import align_labels

    field_name = LABEL_FIELDS.get(task)
    if field_name is None:
        if mapping:
            raise InputError("--label-map is for text-classification and token-classification models")
        return []
    names = list(splits.label_names or [])
    ids = align_labels(labels, names, mapping, how_to_map=HOW_TO_MAP)
    remap = [ids[name] for name in names]
    feature = datasets.ClassLabel(names=labels)
    for role in roles:
        dataset = getattr(splits, role)
        column = dataset[field_name]
        if task == "token-classification":
            values: list[Any] = [[remap[tag] for tag in tags] for tags in column]
            feature_type: Any = datasets.List(feature)
        else:
            values, feature_type = [remap[label] for label in column], feature
        setattr(splits, role, dataset.remove_columns(field_name).add_column(field_name, values, feature=feature_type))
    mapped = {data: labels[ids[data]] for data in names if labels[ids[data]] != data}
    return [f"data labels mapped to model labels: {mapped}"] if mapped else []


def build_eval_task(plan: EvaluationPlan, splits: Any, labels: list[str], tokenizer: Any, device: Any) -> Any:
    """The task object, set up with the model's labels, as training sets it up with the data's."""
    from bertkit.tasks.registry import build_task

    spec = plan.recipe.task
    if getattr(spec, "labels", None) is not None:
        spec = spec.model_copy(update={"labels": None})  # the recipe's labels read the data; the model's are scored
    task = build_task(spec)
    task.set_seed(plan.recipe.training.seed)
    task.pad_token_id = int(tokenizer.pad_token_id or 0)
    task.pad_to_multiple_of = 8 if device.type == "cuda" else 1
    needs_train = task.task_type in LABEL_FIELDS  # their setup reads the columns (and labels) of a train split
    for role in plan.splits:
        dataset = getattr(splits, role)
        view = {"train": dataset if needs_train else None, "validation": None, "test": None}
        if not needs_train:
            view[role] = dataset
        task.setup(SimpleNamespace(**view, label_names=labels or None, sources=dict(splits.sources)))
    return task


def data_notes(notes: list[str]) -> list[str]:
    """The data layer's notes, less its class-list note: the model's labels are scored, whatever the data has."""
    return [note for note in notes if not (note.startswith(("labels: ", "tags: ")) and " classes from " in note)]


def data_facts(plan: EvaluationPlan, splits: Any, encoded: dict[str, Any]) -> dict[str, Any]:
    per_split = {}
    for role, name in plan.splits.items():
        per_split[name] = {
            "source": splits.sources.get(role),
            "fingerprint": splits.fingerprints.get(role),
            "examples": len(encoded[role].examples),
        }
    sources = list(dict.fromkeys(str(s["source"]) for s in per_split.values() if s["source"]))
    return {"source": ", ".join(sources), "splits": per_split, "notes": list(splits.notes)}


@dataclass
class PreparedEvaluation:
    """Everything an evaluation needs before the first forward pass."""

    source: Any  # bertkit.modeling.hub.ModelSource
    loaded: Any  # bertkit.modeling.loading.LoadedModel
    plan: EvaluationPlan
    splits: Any  # bertkit.data.DataSplits, labels re-encoded as the model's ids
    task: Any  # bertkit.tasks.base.Task, set up with the model's labels
    encoded: dict[str, Any]  # role -> EncodedSplit
    notes: list[str]

    @property
    def named_splits(self) -> dict[str, Any]:
        """{name in the report: encoded split}."""
        return {name: self.encoded[role] for role, name in self.plan.splits.items()}


def prepare_evaluation(request: EvaluateRequest, tell: Callable[[str], None]) -> PreparedEvaluation:
    """Load the model (head checks), plan and load the data, check its labels against the model, encode it."""
    from bertkit.evaluation.sources import (
        flag_errors,
        load_eval_splits,
        load_model_config,
        plan_evaluation,
        resolve_task,
    )
    from bertkit.modeling.loading import load_for_inference
    from bertkit.recipes.loader import load_recipe

    given = load_recipe(request.recipe) if request.recipe else None
    source, config = load_model_config(request.model, request.trust_remote_code)
    task_type = resolve_task(request, config, given)
    tell(f"Loading {request.model} ...")
    loaded = load_for_inference(
        request.model,
        LOAD_TASKS[task_type],
        device=request.device,
        precision=request.precision,
        trust_remote_code=request.trust_remote_code,
    )
    plan = plan_evaluation(request, task_type, given, source, config, loaded.max_length)
    tell("Loading the data ...")
    splits = load_eval_splits(plan)
    labels = model_labels(loaded.model) if task_type in LABEL_FIELDS else []
    with flag_errors(plan):
        label_notes = align_to_model(splits, list(plan.splits), task_type, labels, request.label_map)
        task = build_eval_task(plan, splits, labels, loaded.tokenizer, loaded.device)
        tell("Encoding ...")
        view = {"train": None, "validation": None, "test": None, **{r: getattr(splits, r) for r in plan.splits}}
        encoded = task.prepare(SimpleNamespace(**view), loaded.tokenizer)
    notes = [*plan.notes, *data_notes(splits.notes), *label_notes, *task.prepare_notes]
    return PreparedEvaluation(source, loaded, plan, splits, task, encoded, list(dict.fromkeys(notes)))


def run_evaluation(
    request: EvaluateRequest,
    *,
    output: str | Path | None = None,
    status: Callable[[str], None] | None = None,
) -> EvaluationOutcome:
    """Evaluate ``request.model`` as ``bertkit evaluate`` does; with ``output``, write the report files there."""
    from bertkit.evaluation.report import write_report
    from bertkit.evaluation.runner import (
        PREDICTIONS_FILE,
        TRAINING_LOG_FILE,
        EvalSettings,
        evaluate_model,
        final_bootstrap,
        model_facts,
    )
    from bertkit.modeling.loading import label_warnings

    tell = status or (lambda message: None)
    bootstrap = final_bootstrap(request.bootstrap, request.confidence, request.seed)  # checks the values early
    ready = prepare_evaluation(request, tell)
    loaded, source = ready.loaded, ready.source
    output = Path(output) if output is not None else None
    tell(f"Evaluating on {', '.join(f'{name} ({len(s.examples):,})' for name, s in ready.named_splits.items())} ...")
    report = evaluate_model(
        loaded.model,
        loaded.tokenizer,
        ready.task,
        ready.named_splits,
        settings=EvalSettings(ready.plan.batch_size, loaded.precision, bootstrap, request.worst_k),
        device=loaded.device,
        model_info=model_facts(request.model, source.location, ready.task, loaded.model),
        data_info=data_facts(ready.plan, ready.splits, ready.encoded),
        training_log=training_log_of(source, TRAINING_LOG_FILE),
        predictions=output / PREDICTIONS_FILE if output is not None else None,
    )
    files: dict[str, Path] = {}
    if output is not None:
        files = write_report(report, output)
        if ready.task.task_type not in ("masked-lm", "pretraining"):  # they write no per-example predictions
            files["predictions"] = output / PREDICTIONS_FILE
    # The "labels have no names" warning of the inference commands: here the label check says what to do.
    moot = label_warnings(loaded.task, loaded.model)
    return EvaluationOutcome(report, files, ready.notes, [w for w in loaded.warnings if w not in moot])


def training_log_of(source: Any, name: str) -> list[dict[str, Any]] | None:
    """The curves of the training log a ``bertkit finetune`` output folder holds (None elsewhere)."""
    from bertkit.evaluation.runner import report_training_log

    return report_training_log(Path(source.location) / name) if source.is_local else None
