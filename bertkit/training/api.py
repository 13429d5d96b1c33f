"""``finetune(recipe)``: the whole run, from data to a finished output folder; ``inspect_data(recipe)``: the dry run.

Library code: nothing is printed. Progress flows out as events to the callbacks the caller attaches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bertkit.errors import RecipeError
from bertkit.tasks.base import ENGINE_COLUMNS, FEATURE_INDEX, LENGTH, EncodedSplit, SplitStats
from bertkit.training.events import Event, EventBus, RunFinished, RunStarted
from bertkit.training.optim import TrainingPlan, make_plan
from bertkit.training.outputs import RunPaths
from bertkit.training.setup import PreparedData
from bertkit.training.state import RunState


@dataclass
class FinetuneResult:
    output_dir: Path
    metrics: dict[str, dict[str, float]]  # split -> metrics of the saved model
    global_step: int
    best_step: int | None
    stopped_early: bool
    parameter_checksums: list[float] = field(default_factory=list)  # one per process; equal when in sync


@dataclass
class DataReport:
    """What ``--dry-run`` shows: the data as the task sees it and the step plan, before any training."""

    model: str
    task_type: str
    labels: list[str] | None
    splits: dict[str, SplitStats]
    label_distribution: dict[str, dict[str, int]]
    plan: TrainingPlan
    precision: str
    device: str
    notes: list[str]


def load_splits_for(recipe: Any) -> Any:
    from bertkit.data import load_splits

    return load_splits(recipe)


def runtime(training: Any) -> tuple[Any, str]:
    """(device, precision) for this process, with bertkit's auto rules."""
    from bertkit.modeling.device import resolve_precision, select_device

    device = select_device("auto")
    return device, resolve_precision(training.precision, device)


def check_metric(recipe: Any, task: Any) -> None:
    metric = recipe.evaluation.metric
    names = task.metric_names()
    known = None if names is None else [*names, "loss"]
    if metric and known is not None and metric not in known:
        raise RecipeError(
            f"evaluation.metric '{metric}' is not a metric of {task.task_type} ({', '.join(known)})",
            hint="Pick one of those names, or leave evaluation.metric out for the task's default.",
        )


def inspect_data(recipe: Any, *, splits: Any = None, num_processes: int = 1) -> DataReport:
    """Load and check the data, encode it, and report lengths, truncation, labels and the step plan."""
    from bertkit.training.setup import prepare_data

    splits = load_splits_for(recipe) if splits is None else splits
    prepared = prepare_data(recipe, splits)
    check_metric(recipe, prepared.task)
    device, precision = runtime(recipe.training)
    return DataReport(
        model=recipe.model.name,
        task_type=recipe.task.type,
        labels=prepared.task.label_names,
        splits={name: split.stats for name, split in prepared.encoded.items()},
        label_distribution={
            name: dist
            for name, split in prepared.encoded.items()
            if (dist := prepared.task.label_distribution(split)) is not None
        },
        plan=make_plan(recipe.training, len(prepared.train.features), num_processes),
        precision=precision,
        device=str(device),
        notes=prepared.notes,
    )


def make_accelerator(training: Any) -> tuple[Any, str]:
    from accelerate import Accelerator

    device, precision = runtime(training)
    accelerator = Accelerator(
        cpu=device.type == "cpu",
        mixed_precision={"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision],
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        step_scheduler_with_optimizer=False,
    )
    return accelerator, precision


def length_chunks(model: Any, prepared: PreparedData, training: Any) -> int:
    """Chunks of similar lengths per batch (bertkit.training.sampling): the recipe's, else the task's choice for
    models whose layers skip the padding, else 1 (whole batches of similar lengths: least padding)."""
    from bertkit.modeling.packing import has_packed_encoder

    if not training.group_by_length:
        return 1
    if training.length_chunks is not None:
        return training.length_chunks
    return prepared.task.length_chunks if has_packed_encoder(model) else 1


def train_loader(split: EncodedSplit, prepared: PreparedData, training: Any, chunks: int = 1) -> tuple[Any, Any]:
    import torch
    from torch.utils.data import BatchSampler, DataLoader

    from bertkit.training.sampling import LengthGroupedSampler

    features = split.features
    sampler = LengthGroupedSampler(
        features[LENGTH], training.batch_size, training.seed, group_by_length=training.group_by_length, chunks=chunks
    )
    loader = DataLoader(
        features.remove_columns([c for c in ENGINE_COLUMNS if c in features.column_names]),
        batch_sampler=BatchSampler(sampler, training.batch_size, drop_last=False),
        collate_fn=prepared.task.collate,
        num_workers=training.dataloader_workers,
        # Own generator: creating the iterator must not draw from the global RNG, or a resumed run's dropout
        # masks would drift from the uninterrupted run's.
        generator=torch.Generator().manual_seed(training.seed),
    )
    return loader, sampler


def eval_loader(split: EncodedSplit, prepared: PreparedData, training: Any) -> Any:
    import torch
    from torch.utils.data import DataLoader

    from bertkit.training.sampling import longest_first

    features = split.features
    ordered = features.select(longest_first(features[LENGTH]))
    keep = [c for c in ordered.column_names if c not in ENGINE_COLUMNS or c == FEATURE_INDEX]
    return DataLoader(
        ordered.select_columns(keep),
        batch_size=training.eval_batch_size,
        shuffle=False,
        collate_fn=prepared.task.collate,
        num_workers=training.dataloader_workers,
        generator=torch.Generator().manual_seed(training.seed),
    )


def finetune(
    recipe: Any,
    *,
    splits: Any = None,
    resume: bool = False,
    callbacks: Iterable[Callable[[Event], None]] = (),
    command: list[str] | None = None,
) -> FinetuneResult:
    """Train ``recipe`` and write its output folder. Works alone or under ``accelerate launch`` (N processes)."""
    accelerator, precision = make_accelerator(recipe.training)
    bus = EventBus(enabled=accelerator.is_main_process)
    bus.add(callbacks)
    try:
        from bertkit.training.run import Run

        return Run(recipe, accelerator, precision, bus, command=command).execute(splits=splits, resume=resume)
    finally:
        bus.close()
        accelerator.end_training()
        release_accelerator_state()


def release_accelerator_state() -> None:
    """Forget this run's precision and accumulation settings (Accelerate keeps them process-wide), so the next
    ``finetune`` call in this process may use other ones. The distributed setup itself is kept."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()


def run_started(recipe: Any, plan: TrainingPlan, paths: RunPaths, state: RunState, accelerator: Any, precision: str):
    return RunStarted(
        total_steps=plan.total_steps,
        steps_per_epoch=plan.steps_per_epoch,
        epochs=plan.epochs,
        train_examples=plan.train_examples,
        effective_batch_size=plan.effective_batch_size,
        num_processes=accelerator.num_processes,
        device=str(accelerator.device),
        precision=precision,
        resumed_from_step=state.global_step,
        output_dir=str(paths.final),
        work_dir=str(paths.work),
        name=recipe.name,
    )


def run_finished(result: FinetuneResult, started: float) -> RunFinished:
    return RunFinished(
        step=result.global_step,
        output_dir=str(result.output_dir),
        metrics=result.metrics,
        best_step=result.best_step,
        elapsed_s=time.perf_counter() - started,
        stopped_early=result.stopped_early,
        report=str(report) if (report := Path(result.output_dir) / "report.html").is_file() else None,
    )
