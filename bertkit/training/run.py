"""One fine-tuning run, step by step: checks, data, model, loop, final evaluation, publishing the output folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bertkit.training.api import (
    FinetuneResult,
    check_metric,
    eval_loader,
    length_chunks,
    load_splits_for,
    run_finished,
    run_started,
    train_loader,
)
from bertkit.training.events import EventBus
from bertkit.training.loop import LoopParts, TrainingLoop
from bertkit.training.optim import TrainingPlan, build_optimizer, build_scheduler, make_plan
from bertkit.training.outputs import (
    RunPaths,
    clear_work_dir,
    preflight,
    publish,
    read_identity,
    run_paths,
    start_work_dir,
)
from bertkit.training.setup import PreparedData, build_model, prepare_data
from bertkit.training.state import RunState, check_resumable, run_identity


def pad_multiple(device: Any) -> int:
    # Tensor cores want multiples of 8; on CPU rounding up only adds padding work (measured in bench/finetune.py).
    return 8 if device.type == "cuda" else 1


def parameter_checksums(accelerator: Any, model: Any) -> list[float]:
    """One number per process summarising every parameter; processes in sync give identical numbers."""
    import torch

    total = torch.zeros((), dtype=torch.float64, device=accelerator.device)
    for index, param in enumerate(accelerator.unwrap_model(model).parameters()):
        values = param.detach().double()
        total += values.sum() * (index % 7 + 1) + values.abs().sum()
    return [float(x) for x in accelerator.gather(total.reshape(1)).tolist()]


class Run:
    def __init__(self, recipe: Any, accelerator: Any, precision: str, bus: EventBus, command: list[str] | None):
        self.recipe = recipe
        self.accelerator = accelerator
        self.precision = precision
        self.bus = bus
        self.command = command

    def execute(self, *, splits: Any, resume: bool) -> FinetuneResult:
        recipe, accelerator = self.recipe, self.accelerator
        started = time.perf_counter()
        paths = run_paths(recipe.output.dir)
        preflight(paths, overwrite=recipe.output.overwrite, resume=resume)
        if recipe.output.tensorboard:
            from bertkit.training.reporters import require_tensorboard

            require_tensorboard()
        if splits is None:
            with accelerator.main_process_first():
                splits = load_splits_for(recipe)
        if not resume and accelerator.is_main_process:
            clear_work_dir(paths)  # preflight found no checkpoint: only leftovers of a run killed early
        accelerator.wait_for_everyone()
        prepared = prepare_data(
            recipe, splits, main_process_first=accelerator.main_process_first, tokenizer_dir=paths.work / "tokenizer"
        )
        check_metric(recipe, prepared.task)
        plan = make_plan(recipe.training, len(prepared.train.features), accelerator.num_processes)
        identity = run_identity(recipe, prepared.fingerprints, accelerator.num_processes)
        if resume:
            check_resumable(read_identity(paths), identity, str(paths.work))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            start_work_dir(paths, identity, resume=resume)
        accelerator.wait_for_everyone()
        parts, state, notes = self.build(prepared, plan, paths, resume)
        self.attach_file_writers(paths, state)
        for note in prepared.notes + notes:
            self.bus.note(note)
        self.bus.emit(run_started(recipe, plan, paths, state, accelerator, self.precision))
        loop = TrainingLoop(parts, state)
        loop.run()
        metrics = self.final_metrics(loop)
        from bertkit.modeling.speedups import remove_speedups

        # Before the checksums, the saved folder and its report: compact embedding rows written back, and
        # transformers' own forward passes for anyone who holds the model afterwards.
        remove_speedups(accelerator.unwrap_model(parts.model))
        checksums = parameter_checksums(accelerator, parts.model)
        if len(set(checksums)) > 1:
            self.bus.note(f"processes ended with different parameters: {checksums}", level="warning")
        result = FinetuneResult(
            paths.final, metrics, state.global_step, state.best_step, state.stopped_early, checksums
        )
        if accelerator.is_main_process:
            self.publish(paths, prepared, parts, loop, result)
        accelerator.wait_for_everyone()
        self.bus.emit(run_finished(result, started))
        return result

    def build(
        self, prepared: PreparedData, plan: TrainingPlan, paths: RunPaths, resume: bool
    ) -> tuple[LoopParts, RunState, list[str]]:
        from accelerate.utils import set_seed

        from bertkit.training.checkpoints import latest_checkpoint, load_checkpoint
        from bertkit.training.cpu import allocator_notes, keep_freed_memory

        recipe, accelerator = self.recipe, self.accelerator
        on_cpu = accelerator.device.type == "cpu"
        if on_cpu:
            keep_freed_memory()
        set_seed(recipe.training.seed)
        model, notes = build_model(recipe, prepared)
        if on_cpu:
            notes += allocator_notes()
        if recipe.training.speedups:
            notes += self.apply_speedups(model, prepared)
        prepared.task.pad_to_multiple_of = pad_multiple(accelerator.device)
        optimizer = build_optimizer(model, recipe.training)
        scheduler = build_scheduler(optimizer, recipe.training, plan)
        chunks = length_chunks(model, prepared, recipe.training)
        if chunks > 1:
            notes.append(f"each batch joins {chunks} chunks of similar lengths from different places")
        loader, sampler = train_loader(prepared.train, prepared, recipe.training, chunks)
        eval_splits = {name: split for name, split in prepared.encoded.items() if name != "train"}
        evals = [eval_loader(split, prepared, recipe.training) for split in eval_splits.values()]
        model, optimizer, loader, *evals = accelerator.prepare(model, optimizer, loader, *evals)
        accelerator.register_for_checkpointing(scheduler)
        state = RunState()
        if resume:
            checkpoint = latest_checkpoint(paths.checkpoints)
            state = load_checkpoint(accelerator, checkpoint)
            notes.append(f"resumed from {checkpoint} (step {state.global_step} of {plan.total_steps})")
        parts = LoopParts(
            accelerator=accelerator,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            train_loader=loader,
            sampler=sampler,
            eval_loaders=dict(zip(eval_splits, evals, strict=True)),
            eval_splits=eval_splits,
            task=prepared.task,
            plan=plan,
            recipe=recipe,
            paths=paths,
            bus=self.bus,
        )
        return parts, state, notes

    def apply_speedups(self, model: Any, prepared: PreparedData) -> list[str]:
        from bertkit.modeling.speedups import apply_speedups, training_token_ids

        token_ids = None
        if self.accelerator.num_processes == 1 and self.recipe.training.weight_decay == 0.0:
            token_ids = training_token_ids(prepared.train.features) | {int(prepared.tokenizer.pad_token_id)}
        return apply_speedups(
            model,
            device_type=self.accelerator.device.type,
            head_reads=prepared.task.head_reads,
            token_ids=token_ids,
        )

    def attach_file_writers(self, paths: RunPaths, state: RunState) -> None:
        if not self.accelerator.is_main_process:
            return
        from bertkit.training.reporters import JsonlLogWriter, TensorBoardWriter

        self.bus.add([JsonlLogWriter(paths.log, resume_step=state.global_step)])
        if self.recipe.output.tensorboard:
            self.bus.add([TensorBoardWriter(paths.tensorboard, purge_step=state.global_step + 1)])

    def final_metrics(self, loop: TrainingLoop) -> dict[str, dict[str, float]]:
        """Metrics of the model that is saved: the best checkpoint's weights (re-evaluated) or the last ones."""
        from bertkit.training.checkpoints import load_best

        state, parts = loop.state, loop.p
        self.accelerator.wait_for_everyone()
        final: dict[str, dict[str, float]] = {}
        if "validation" in parts.eval_loaders:
            use_best = (
                self.recipe.evaluation.load_best_at_end
                and state.best_step is not None
                and state.best_step != state.global_step
            )
            if use_best:
                load_best(self.accelerator.unwrap_model(parts.model), parts.paths.best)
                self.bus.note(f"loaded the best model (step {state.best_step}, {loop.metric}={state.best_metric:.4f})")
            if use_best or state.last_eval_step != state.global_step or not state.eval_history:
                final["validation"] = loop.evaluate("validation")[0]
            else:
                final["validation"] = state.eval_history[-1]["metrics"]
        if "test" in parts.eval_loaders:
            final["test"] = loop.evaluate("test")[0]
        return final

    def publish(self, paths: RunPaths, prepared: PreparedData, parts: LoopParts, loop: TrainingLoop, result) -> None:
        from bertkit.io.outputs import atomic_write_json
        from bertkit.training.outputs import write_bundle

        state = loop.state
        model = self.accelerator.unwrap_model(parts.model)  # stock forward passes again: see execute()
        data = {
            "fingerprints": prepared.fingerprints,
            "labels": prepared.task.label_names,
            "splits": {name: vars(split.stats) for name, split in prepared.encoded.items()},
            "label_distribution": {
                name: prepared.task.label_distribution(split) for name, split in prepared.encoded.items()
            },
        }
        metrics = {
            "task": prepared.task.task_type,
            "metric": loop.metric,
            "greater_is_better": loop.greater,
            "best_step": state.best_step,
            "best_value": state.best_metric,
            "global_step": state.global_step,
            "stopped_early": state.stopped_early,
            "splits": result.metrics,
            "eval_history": state.eval_history,
        }

        def fill(staging) -> None:
            model.save_pretrained(staging)
            prepared.tokenizer.save_pretrained(staging)
            write_bundle(staging, recipe=self.recipe, command=self.command, data=data)
            atomic_write_json(staging / "metrics.json", metrics)
            self.write_report(staging, model, prepared, paths)

        summary = {
            "bertkit_finetune": True,
            "task": prepared.task.task_type,
            "global_step": state.global_step,
            "num_processes": self.accelerator.num_processes,
            "parameter_checksums": result.parameter_checksums,
            "precision": self.precision,
        }
        publish(paths, fill, summary)

    def write_report(self, staging: Path, model: Any, prepared: PreparedData, paths: RunPaths) -> None:
        """report.json/md/html + predictions.jsonl of the saved model, scored as `bertkit evaluate` would score it.

        Written into a scratch folder first: a report that fails costs a warning, never the trained model.
        """
        import shutil

        from bertkit.evaluation.runner import finetune_report

        scratch = staging / ".report"
        try:
            finetune_report(
                scratch,
                model=model,
                tokenizer=prepared.tokenizer,
                task=prepared.task,
                encoded=prepared.encoded,
                recipe=self.recipe,
                precision=self.precision,
                training_log=paths.log,
            )
        except Exception as err:  # the model and metrics are saved regardless; say what went wrong
            self.bus.note(f"the evaluation report could not be written ({type(err).__name__}: {err})", "warning")
        else:
            for item in scratch.iterdir() if scratch.exists() else []:
                item.rename(staging / item.name)
        shutil.rmtree(scratch, ignore_errors=True)
