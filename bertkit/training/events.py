"""What a training run tells the outside world. The library emits events; reporters (Rich, JSON, TensorBoard,
the JSONL log file) turn them into output. Only the main process emits, so only it renders and writes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class Event:
    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "time": round(time.time(), 3), **dataclasses.asdict(self)}


@dataclass
class Note(Event):
    """Something the user should know (label list found, share of truncated texts, head initialised ...)."""

    kind: ClassVar[str] = "note"
    message: str
    level: str = "info"  # info | warning


@dataclass
class RunStarted(Event):
    kind: ClassVar[str] = "start"
    total_steps: int
    steps_per_epoch: int
    epochs: int
    train_examples: int
    effective_batch_size: int
    num_processes: int
    device: str
    precision: str
    resumed_from_step: int
    output_dir: str
    work_dir: str
    name: str | None = None


@dataclass
class StepLogged(Event):
    kind: ClassVar[str] = "step"
    step: int
    total_steps: int
    epoch: float
    loss: float
    learning_rate: float
    grad_norm: float | None
    samples_per_second: float
    elapsed_s: float
    eta_s: float


@dataclass
class EvaluationDone(Event):
    kind: ClassVar[str] = "eval"
    step: int
    epoch: float
    split: str
    metrics: dict[str, float]
    metric: str
    is_best: bool
    best_value: float | None
    elapsed_s: float


@dataclass
class CheckpointSaved(Event):
    kind: ClassVar[str] = "checkpoint"
    step: int
    path: str


@dataclass
class EarlyStopped(Event):
    kind: ClassVar[str] = "early_stop"
    step: int
    metric: str
    patience: int


@dataclass
class RunFinished(Event):
    kind: ClassVar[str] = "finish"
    step: int
    output_dir: str
    metrics: dict[str, dict[str, float]]
    best_step: int | None
    elapsed_s: float
    stopped_early: bool = False
    report: str | None = None  # the evaluation report (report.html) when one was written


Callback = Callable[[Event], None]


@dataclass
class EventBus:
    """Fan events out to callbacks, on the main process only."""

    callbacks: list[Callback] = field(default_factory=list)
    enabled: bool = True

    def add(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks.extend(callbacks)

    def emit(self, event: Event) -> None:
        if not self.enabled:
            return
        for callback in self.callbacks:
            callback(event)

    def note(self, message: str, level: str = "info") -> None:
        self.emit(Note(message=message, level=level))

    def close(self) -> None:
        for callback in self.callbacks:
            closer = getattr(callback, "close", None)
            if closer is not None:
                closer()
