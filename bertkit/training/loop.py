"""The training loop, in the shape of Accelerate's nlp_example: accumulate, backward, clip, step, evaluate with
``gather_for_metrics``; plus logging, best-model selection, early stopping and checkpoints at set steps.

Every process runs the same decisions (metrics are computed from gathered results on all of them), so they stay
in step without extra communication. Only the main process emits events and writes files.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bertkit.errors import TrainingError
from bertkit.tasks.base import EncodedSplit, Task
from bertkit.training.checkpoints import save_best, save_checkpoint
from bertkit.training.events import EarlyStopped, EvaluationDone, EventBus, StepLogged
from bertkit.training.optim import TrainingPlan, clip_gradients, trained_parameters
from bertkit.training.outputs import RunPaths
from bertkit.training.state import RunState


@dataclass
class LoopParts:
    """What the loop drives; built (and passed through ``accelerator.prepare``) by ``bertkit.training.api``."""

    accelerator: Any
    model: Any
    optimizer: Any
    scheduler: Any
    train_loader: Any
    sampler: Any  # LengthGroupedSampler: its epoch is set before each pass
    eval_loaders: dict[str, Any]
    eval_splits: dict[str, EncodedSplit]
    task: Task
    plan: TrainingPlan
    recipe: Any
    paths: RunPaths
    bus: EventBus


class TrainingLoop:
    def __init__(self, parts: LoopParts, state: RunState) -> None:
        import torch

        self.p = parts
        self.state = state
        self.training = parts.recipe.training
        self.evaluation = parts.recipe.evaluation
        self.metric = self.evaluation.metric or parts.task.default_metric
        greater = self.evaluation.greater_is_better
        self.greater = parts.task.greater_is_better(self.metric) if greater is None else greater
        self.batches_per_epoch = len(parts.train_loader)
        self.loss_sum = torch.zeros((), device=parts.accelerator.device)
        self.loss_batches = 0
        self.samples = 0
        self.grad_norm: float | None = None
        self.parameters = trained_parameters(parts.accelerator, parts.model)
        self.session_steps = 0
        self.train_seconds = 0.0
        self.clock = time.perf_counter()
        self.last_log_seconds = 0.0

    # ----------------------------------------------------------------------------------------------- loop
    def done(self) -> bool:
        return self.state.global_step >= self.p.plan.total_steps or self.state.stopped_early

    def run(self) -> RunState:
        while not self.done() and self.state.epoch < self.p.plan.epochs:
            self.train_epoch()
        return self.state

    def train_epoch(self) -> None:
        accelerator, state = self.p.accelerator, self.state
        self.p.sampler.set_epoch(state.epoch)
        self.p.task.set_epoch(state.epoch)
        loader = self.p.train_loader
        loader.set_epoch(state.epoch)
        if state.batches_in_epoch:
            # Skips by batch indices only: no data is loaded or collated for the batches already trained on.
            loader = accelerator.skip_first_batches(loader, state.batches_in_epoch)
        self.p.model.train()
        self.clock = time.perf_counter()
        for batch in loader:
            self.train_batch(batch)
            if accelerator.sync_gradients:
                self.after_optimizer_step()
                if self.done():
                    break

    def train_batch(self, batch: dict[str, Any]) -> None:
        accelerator, model = self.p.accelerator, self.p.model
        with accelerator.accumulate(model):
            loss = self.p.task.training_loss(model, batch)
            accelerator.backward(loss)
            if accelerator.sync_gradients and self.training.max_grad_norm:
                fold_into = self.p.optimizer if self.training.speedups else None
                self.grad_norm = clip_gradients(accelerator, self.parameters, self.training.max_grad_norm, fold_into)
            self.p.optimizer.step()
            self.p.optimizer.zero_grad(set_to_none=True)
        self.loss_sum += loss.detach().float()
        self.loss_batches += 1
        self.samples += int(batch["input_ids"].shape[0])
        self.state.batches_in_epoch += 1

    def after_optimizer_step(self) -> None:
        state = self.state
        if not self.p.accelerator.optimizer_step_was_skipped:
            self.p.scheduler.step()
        state.global_step += 1
        self.session_steps += 1
        epoch_end = state.batches_in_epoch >= self.batches_per_epoch
        if epoch_end:
            state.epoch += 1
            state.batches_in_epoch = 0
        last = state.global_step >= self.p.plan.total_steps
        if state.global_step % self.training.logging_steps == 0 or last:
            self.log()
        evaluated = False
        if self.eval_due(epoch_end, last):
            self.pause_clock()
            self.evaluate_and_select()
            evaluated = True
        if self.checkpoint_due(epoch_end, evaluated) and not last and not state.stopped_early:
            self.pause_clock()
            path = save_checkpoint(self.p.accelerator, self.p.paths.checkpoints, state, self.training.keep_checkpoints)
            from bertkit.training.events import CheckpointSaved

            self.p.bus.emit(CheckpointSaved(step=state.global_step, path=str(path)))
        self.resume_clock()

    def eval_due(self, epoch_end: bool, last: bool) -> bool:
        strategy = self.evaluation.strategy
        if strategy == "no" or "validation" not in self.p.eval_loaders:
            return False
        if last:
            return True
        if strategy == "epoch":
            return epoch_end
        return self.state.global_step % int(self.evaluation.steps) == 0

    def checkpoint_due(self, epoch_end: bool, evaluated: bool) -> bool:
        if self.training.checkpoint_steps:
            return self.state.global_step % self.training.checkpoint_steps == 0
        if self.evaluation.strategy != "no" and "validation" in self.p.eval_loaders:
            return evaluated
        return epoch_end

    # -------------------------------------------------------------------------------------------- logging
    def pause_clock(self) -> None:
        if self.clock is not None:
            self.train_seconds += time.perf_counter() - self.clock
            self.clock = None

    def resume_clock(self) -> None:
        if self.clock is None:
            self.clock = time.perf_counter()

    def log(self) -> None:
        import torch

        accelerator, state = self.p.accelerator, self.state
        self.pause_clock()
        counts = torch.tensor([float(self.loss_batches), float(self.samples)], device=accelerator.device)
        totals = accelerator.reduce(torch.cat([self.loss_sum.reshape(1), counts]), reduction="sum")
        loss_sum, batches, samples = (float(x) for x in totals.tolist())
        seconds = max(self.train_seconds - self.last_log_seconds, 1e-9)
        per_step = self.train_seconds / max(self.session_steps, 1)
        state.samples_seen += int(samples)
        self.p.bus.emit(
            StepLogged(
                step=state.global_step,
                total_steps=self.p.plan.total_steps,
                epoch=round(state.epoch + state.batches_in_epoch / max(self.batches_per_epoch, 1), 4),
                loss=loss_sum / max(batches, 1.0),
                learning_rate=float(self.p.scheduler.get_last_lr()[0]),
                grad_norm=None if self.grad_norm is None else float(self.grad_norm),
                samples_per_second=samples / seconds,
                elapsed_s=self.train_seconds,
                eta_s=per_step * (self.p.plan.total_steps - state.global_step),
            )
        )
        self.last_log_seconds = self.train_seconds
        self.loss_sum.zero_()
        self.loss_batches = self.samples = 0

    # ----------------------------------------------------------------------------------------- evaluation
    def evaluate(self, split: str) -> tuple[dict[str, float], dict[str, Any]]:
        """Metrics of ``split`` and the gathered per-feature results (predictions, labels, feature_index)."""
        import torch

        accelerator, model, task = self.p.accelerator, self.p.model, self.p.task
        parts: dict[str, list[Any]] = defaultdict(list)
        model.eval()
        with torch.no_grad():
            for batch in self.p.eval_loaders[split]:
                outputs = model(**task.forward_inputs(batch))
                reduced = task.eval_reduce(outputs, batch)
                if getattr(outputs, "loss", None) is not None:
                    reduced["loss"] = outputs.loss.detach().float().reshape(1).expand(batch["input_ids"].shape[0])
                for key, value in accelerator.gather_for_metrics(reduced).items():
                    parts[key].append(value.cpu())
        model.train()
        results = {key: torch.cat(values).numpy() for key, values in parts.items()}
        metrics = task.compute_metrics(results, self.p.eval_splits[split])
        if "loss" in results:
            metrics["loss"] = float(results["loss"].mean())
        return metrics, results

    def evaluate_and_select(self) -> dict[str, float]:
        state, started = self.state, time.perf_counter()
        metrics, _ = self.evaluate("validation")
        if self.metric not in metrics:
            raise TrainingError(
                f"evaluation.metric '{self.metric}' is not among the metrics of this task ({', '.join(metrics)})",
                hint="Set evaluation.metric to one of those names.",
            )
        value = metrics[self.metric]
        best = state.best_metric
        improved = best is None or (value > best if self.greater else value < best)
        if improved:
            state.best_metric, state.best_step, state.evals_without_improvement = value, state.global_step, 0
            if self.evaluation.load_best_at_end and self.p.accelerator.is_main_process:
                info = {"step": state.global_step, "metric": self.metric, "value": value}
                save_best(self.p.accelerator.unwrap_model(self.p.model), self.p.paths.best, info)
        else:
            state.evals_without_improvement += 1
        epoch = round(state.epoch + state.batches_in_epoch / max(self.batches_per_epoch, 1), 4)
        state.last_eval_step = state.global_step
        state.eval_history.append({"step": state.global_step, "epoch": epoch, "metrics": metrics})
        self.p.bus.emit(
            EvaluationDone(
                step=state.global_step,
                epoch=epoch,
                split="validation",
                metrics=metrics,
                metric=self.metric,
                is_best=improved,
                best_value=state.best_metric,
                elapsed_s=time.perf_counter() - started,
            )
        )
        patience = self.evaluation.early_stopping_patience
        if patience and state.evals_without_improvement >= patience:
            state.stopped_early = True
            self.p.bus.emit(EarlyStopped(step=state.global_step, metric=self.metric, patience=patience))
        return metrics
