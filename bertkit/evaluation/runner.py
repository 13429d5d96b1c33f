"""Evaluation runs: one code path for ``bertkit evaluate`` and for the report at the end of ``bertkit finetune``.

:func:`evaluate_model` takes a model in memory, its tokenizer, a :class:`bertkit.tasks.base.Task` (labels resolved)
and encoded splits, and returns an :class:`EvalReport`. Memory stays flat on large evaluation sets: examples are
taken a chunk at a time; within a chunk the features are batched by length, run under ``inference_mode`` and the
chosen autocast, and shrunk right away by the task's ``eval_reduce`` (argmax ids, n-best spans, loss sums); the
chunk's examples are then scored by evaluators that keep only counts, and written to ``predictions.jsonl`` as
they are done. No logits, and no per-example state beyond the current chunk, are kept.

:func:`run_evaluation` is the command: model folder or hub id + data flags/recipe -> report (see ``sources``).
:func:`finetune_report` is what the training engine calls on the model it has just trained.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bertkit.evaluation.feeds import Feed, make_feed
from bertkit.evaluation.report import EvalReport
from bertkit.evaluation.results import BootstrapSettings, SplitResult
from bertkit.tasks.base import ENGINE_COLUMNS, FEATURE_INDEX, LENGTH, EncodedSplit, Task

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PREDICTIONS_FILE = "predictions.jsonl"
TRAINING_LOG_FILE = "train_log.jsonl"  # bertkit.training.outputs: RunPaths.log / the published copy
EXAMPLE_INDEX = "example_index"  # bertkit.tasks.token_classification.EXAMPLE_INDEX (windowed tasks)


@dataclass
class EvalSettings:
    """How an evaluation runs. ``chunk_examples`` bounds memory: examples scored (and windows batched) together."""

    batch_size: int = 32
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast), already resolved for the device
    bootstrap: BootstrapSettings | None = field(default_factory=BootstrapSettings)
    worst_k: int = 10
    chunk_examples: int = 8192


# ------------------------------------------------------------------------------------------------- chunks
def relative_column(dataset: Any, name: str, values: Any) -> Any:
    return dataset.remove_columns(name).add_column(name, [int(v) for v in values])


def chunk_views(split: EncodedSplit, size: int) -> Iterator[tuple[int, EncodedSplit]]:
    """``(first example, chunk)`` views of a split whose indices (feature_index, example_index) start at 0, so the
    task's own post-processing runs on a chunk as on a whole split. Windows of one example stay in one chunk."""
    import numpy as np

    features, examples = split.features, split.examples
    windowed = EXAMPLE_INDEX in features.column_names
    if not windowed and (examples is None or len(examples) != len(features)):
        examples = None  # features are not examples (packed MLM blocks): chunk the features alone
    total = len(examples) if examples is not None else len(features)
    owners = np.asarray(features[EXAMPLE_INDEX], dtype=np.int64) if windowed else None
    if owners is not None and owners.size and (np.diff(owners) < 0).any():
        raise ValueError("features of a windowed split must be grouped by example, in example order")
    for begin in range(0, total, size):
        end = min(begin + size, total)
        first, last = (int(x) for x in np.searchsorted(owners, [begin, end])) if windowed else (begin, end)
        part = features.select(range(first, last))
        if windowed:
            part = relative_column(part, EXAMPLE_INDEX, owners[first:last] - begin)
        part = relative_column(part, FEATURE_INDEX, range(last - first))
        chunk_examples = examples.select(range(begin, end)) if examples is not None else None
        yield begin, EncodedSplit(split.name, chunk_examples, part, split.stats)


# -------------------------------------------------------------------------------------------------- batches
def model_device(model: Any) -> Any:
    return next(model.parameters()).device


def accepted_inputs(model: Any) -> tuple[str, ...]:
    import inspect

    parameters = inspect.signature(model.forward).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return MODEL_INPUTS
    return tuple(name for name in MODEL_INPUTS if name in parameters)


def to_numpy(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def run_chunk(model: Any, task: Task, feed: Feed, features: Any, settings: EvalSettings, device: Any):
    """Reduced results of every feature of a chunk (numpy columns, in batch order with their feature_index)."""
    import numpy as np
    import torch

    from bertkit.inference.engine import length_sorted_batches
    from bertkit.modeling.device import autocast

    keep = [c for c in features.column_names if c not in ENGINE_COLUMNS or c == FEATURE_INDEX]
    rows = features.select_columns(keep).to_list()
    inputs = accepted_inputs(model)
    parts: dict[str, list[Any]] = defaultdict(list)
    for ids in length_sorted_batches(features[LENGTH], settings.batch_size):
        batch = task.collate([rows[i] for i in ids])
        batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        with torch.inference_mode(), autocast(device, settings.precision):
            outputs = model(**{k: batch[k] for k in inputs if k in batch})
            reduced = {**task.eval_reduce(outputs, batch), **feed.extra_reduce(outputs, batch)}
        for key, value in reduced.items():
            parts[key].append(to_numpy(value))
    return {key: np.concatenate(values) for key, values in parts.items()}


# ---------------------------------------------------------------------------------------------- predictions
class PredictionWriter:
    """Streams prediction records to a temporary file and moves it into place only when the run succeeds."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self.handle: Any = None
        self.tmp: str | None = None
        self.count = 0

    def __enter__(self) -> PredictionWriter:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            self.handle = os.fdopen(fd, "w", encoding="utf-8")
        return self

    def write(self, split: str, records: list[dict[str, Any]]) -> None:
        self.count += len(records)
        if self.handle is not None:
            self.handle.writelines(json.dumps({"split": split, **r}, ensure_ascii=False) + "\n" for r in records)

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if self.handle is None:
            return
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if kind is None and self.count:
            os.replace(self.tmp, self.path)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)


# ------------------------------------------------------------------------------------------------ evaluation
def evaluate_split(
    model: Any,
    tokenizer: Any,
    task: Task,
    split: EncodedSplit,
    *,
    settings: EvalSettings,
    device: Any,
    name: str,
    writer: PredictionWriter,
) -> SplitResult:
    """Score one encoded split, chunk by chunk (see the module doc)."""
    import dataclasses

    feed = make_feed(task, worst_k=settings.worst_k)
    for offset, chunk in chunk_views(split, settings.chunk_examples):
        results = run_chunk(model, task, feed, chunk.features, settings, device)
        writer.write(name, feed.add(results, chunk, offset))
    result = feed.evaluator.result(bootstrap=settings.bootstrap, truncation=feed.truncation(split, tokenizer))
    details = {**result.details, **feed.details(split), "precision": settings.precision}
    return dataclasses.replace(result, details=details)


def evaluate_model(
    model: Any,
    tokenizer: Any,
    task: Task,
    splits: Mapping[str, EncodedSplit],
    *,
    settings: EvalSettings | None = None,
    device: Any = None,
    model_info: dict[str, Any] | None = None,
    data_info: dict[str, Any] | None = None,
    training_log: list[dict[str, Any]] | None = None,
    predictions: str | os.PathLike[str] | None = None,
) -> EvalReport:
    """Evaluate ``model`` on every split of ``splits`` ({report split name: encoded split}) and return the report.

    ``task`` must be set up (labels resolved: the model's ``id2label`` order) and ``splits`` encoded by it, as
    ``task.prepare`` does. ``predictions`` is a path for ``predictions.jsonl`` (one record per example, written
    atomically), or None. The model's train/eval mode is restored afterwards. Nothing is printed.
    """
    settings = settings or EvalSettings()
    device = device if device is not None else model_device(model)
    was_training = model.training
    model.eval()
    try:
        with PredictionWriter(predictions) as writer:
            results = {
                name: evaluate_split(
                    model, tokenizer, task, split, settings=settings, device=device, name=name, writer=writer
                )
                for name, split in splits.items()
            }
    finally:
        model.train(was_training)
    return EvalReport(
        task=task.task_type,
        splits=results,
        model=dict(model_info or {}),
        data=dict(data_info or {}),
        training_log=training_log,
    )


# ---------------------------------------------------------------------------------------------- training logs
def report_training_log(path: str | os.PathLike[str]) -> list[dict[str, Any]] | None:
    """The curves of a ``bertkit finetune`` JSONL log as report records: training steps (loss, learning rate) and
    evaluations (``{"eval": metrics}``); notes, checkpoints and run summaries are left out. None without a log."""
    from bertkit.evaluation.traininglog import load_training_log

    path = Path(path)
    if not path.is_file():
        return None
    records = []
    for record in load_training_log(path):
        kind = record.get("event")
        if kind == "step":
            keep = ("step", "epoch", "loss", "learning_rate", "grad_norm")
            records.append({key: record[key] for key in keep if record.get(key) is not None})
        elif kind == "eval" and isinstance(record.get("metrics"), dict):
            records.append({"step": record.get("step"), "epoch": record.get("epoch"), "eval": record["metrics"]})
        elif kind is None:
            records.append(record)  # a log in another tool's format: kept as it is
    return records or None


# ------------------------------------------------------------------------------------------------ finetune hook
def finetune_report(
    folder: str | os.PathLike[str],
    *,
    model: Any,
    tokenizer: Any,
    task: Task,
    encoded: Mapping[str, EncodedSplit],
    recipe: Any,
    precision: str,
    training_log: str | os.PathLike[str] | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> EvalReport | None:
    """The final evaluation report of a fine-tuning run, written into ``folder`` (report.json/md/html and
    predictions.jsonl): the validation and test splits, scored by :func:`evaluate_model` exactly as
    ``bertkit evaluate`` scores the saved folder. None when ``evaluation.report`` is off or nothing can be scored.

    With ``on_problem``, a problem found while scoring or writing the report (a ``BertkitError``, or a bug) is
    passed to it as a message and None is returned instead of raising: a finished run never fails on its report.
    """
    from bertkit.errors import BertkitError
    from bertkit.evaluation.report import write_report

    evaluation = recipe.evaluation
    splits = {name: split for name, split in encoded.items() if name in ("validation", "test")}
    single_label = getattr(task, "problem_type", "single_label") == "single_label"
    if not evaluation.report or not splits or not single_label:
        return None
    settings = EvalSettings(
        batch_size=recipe.training.eval_batch_size,
        precision=precision,
        bootstrap=final_bootstrap(evaluation.bootstrap_samples, evaluation.confidence_level, 0),
    )
    final = str(Path(recipe.output.dir).expanduser().resolve())
    try:
        report = evaluate_model(
            model,
            tokenizer,
            task,
            splits,
            settings=settings,
            model_info={**model_facts(recipe.output.dir, final, task, model), "base_model": recipe.model.name},
            data_info=recipe_data_facts(recipe, splits),
            training_log=report_training_log(training_log) if training_log is not None else None,
            predictions=Path(folder) / PREDICTIONS_FILE,
        )
        write_report(report, folder)
    except BertkitError as err:
        if on_problem is None:
            raise
        on_problem(f"the evaluation report was not written: {err.message}")
        return None
    except Exception as err:  # a bug while scoring or rendering must not fail a finished training run
        if on_problem is None:
            raise
        on_problem(f"the evaluation report was not written ({type(err).__name__}: {err}); please report this bug")
        return None
    return report


def recipe_data_facts(recipe: Any, splits: Mapping[str, EncodedSplit]) -> dict[str, Any]:
    data = recipe.data
    named = [data.dataset, data.validation_file, data.test_file]
    return {
        "source": ", ".join(str(s) for s in named if s),
        "splits": {name: {"examples": len(split.examples)} for name, split in splits.items()},
    }


def final_bootstrap(resamples: int, confidence: float, seed: int) -> BootstrapSettings | None:
    return BootstrapSettings(int(resamples), float(confidence), int(seed)) if resamples else None


def model_facts(name: str, path: str, task: Task, model: Any) -> dict[str, Any]:
    """What the report says about the model: where it is, its head, its labels (id order) and input length."""
    facts: dict[str, Any] = {"name": name, "path": path, "architecture": type(model).__name__}
    if task.label_names:
        facts["labels"] = list(task.label_names)
    facts["max_length"] = task.max_length
    return facts
