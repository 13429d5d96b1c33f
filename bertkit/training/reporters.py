"""Callbacks that write training events to files: the JSONL training log and TensorBoard (main process only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bertkit.errors import TrainingError
from bertkit.training.events import EvaluationDone, Event, StepLogged


class JsonlLogWriter:
    """Append every event as one JSON line, flushed at once (a killed run keeps its log up to the kill).

    On resume, lines logged after the checkpoint are dropped: the resumed run logs those steps again.
    """

    def __init__(self, path: Path, *, resume_step: int = 0) -> None:
        self.path = path
        if resume_step and path.exists():
            self.truncate_after(resume_step)
        self.handle = path.open("a", encoding="utf-8")

    def truncate_after(self, step: int) -> None:
        from bertkit.io.outputs import atomic_write_text

        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut by the kill
            if isinstance(record.get("step"), int) and record["step"] > step:
                break
            kept.append(line)
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))

    def __call__(self, event: Event) -> None:
        self.handle.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def require_tensorboard() -> None:
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise TrainingError(
            "output.tensorboard is true but the tensorboard package is not installed",
            hint="Install it with `pip install tensorboard` (or `pip install bertkit[tensorboard]`), or set "
            "output.tensorboard: false.",
        )


class TensorBoardWriter:
    """Scalars for TensorBoard: train/loss, train/learning_rate, train/grad_norm, throughput, eval/<metric>."""

    def __init__(self, folder: Path, *, purge_step: int | None = None) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.writer: Any = SummaryWriter(log_dir=str(folder), purge_step=purge_step)

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepLogged):
            self.writer.add_scalar("train/loss", event.loss, event.step)
            self.writer.add_scalar("train/learning_rate", event.learning_rate, event.step)
            self.writer.add_scalar("train/samples_per_second", event.samples_per_second, event.step)
            if event.grad_norm is not None:
                self.writer.add_scalar("train/grad_norm", event.grad_norm, event.step)
        elif isinstance(event, EvaluationDone):
            for name, value in event.metrics.items():
                self.writer.add_scalar(f"{event.split}/{name}", value, event.step)
            self.writer.flush()

    def close(self) -> None:
        self.writer.close()
