"""Renderers the CLI attaches to a run's events: a Rich live view or plain lines on stderr, or JSON lines on stdout.

The engine never attaches these itself; library users pass their own callbacks (or none).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from bertkit.training.events import (
    CheckpointSaved,
    EarlyStopped,
    EvaluationDone,
    Event,
    Note,
    RunFinished,
    RunStarted,
    StepLogged,
)


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def metrics_text(metrics: dict[str, float], limit: int = 4) -> str:
    return " · ".join(f"{k} {v:.4f}" for k, v in list(metrics.items())[:limit])


def describe(event: Event) -> str | None:
    """A one-line human description of an event (plain log lines and the lines above the live view)."""
    if isinstance(event, Note):
        return ("Warning: " if event.level == "warning" else "") + event.message
    if isinstance(event, RunStarted):
        resumed = f", resumed at step {event.resumed_from_step}" if event.resumed_from_step else ""
        return (
            f"Training {event.total_steps} steps ({event.epochs} epoch(s), {event.train_examples} examples, "
            f"effective batch {event.effective_batch_size}) on {event.num_processes} process(es), {event.device}, "
            f"{event.precision}{resumed}"
        )
    if isinstance(event, StepLogged):
        return (
            f"step {event.step}/{event.total_steps} · epoch {event.epoch:.2f} · loss {event.loss:.4f} · "
            f"lr {event.learning_rate:.2e} · {event.samples_per_second:.1f} samples/s · ETA {clock(event.eta_s)}"
        )
    if isinstance(event, EvaluationDone):
        best = " (best)" if event.is_best else ""
        return f"eval step {event.step} · {event.split}: {metrics_text(event.metrics)}{best}"
    if isinstance(event, CheckpointSaved):
        return f"checkpoint saved at step {event.step}"
    if isinstance(event, EarlyStopped):
        return f"early stop at step {event.step}: no {event.metric} improvement in {event.patience} evaluations"
    if isinstance(event, RunFinished):
        done = f"Finished in {clock(event.elapsed_s)}: model saved to {event.output_dir}"
        return done + (f"\nEvaluation report: {event.report} (also report.md, report.json)" if event.report else "")
    return None


class PlainView:
    """One line per event on stderr: for logs that are not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def __call__(self, event: Event) -> None:
        line = describe(event)
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()


class JsonView:
    """Every event as one JSON object per line on stdout, for machines (``--log-format json``)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_dict(), ensure_ascii=False, default=str) + "\n")
        self.stream.flush()


class RichView:
    """A live panel on stderr: progress bar, step, epoch, loss, learning rate, throughput, ETA and last eval.

    Notes, evaluations and checkpoints are printed above it, so they stay in the scrollback.
    """

    def __init__(self, console: Any = None) -> None:
        from bertkit.cli.common import err_console

        self.console = console or err_console()
        self.live: Any = None
        self.start: RunStarted | None = None
        self.step: StepLogged | None = None
        self.last_eval: EvaluationDone | None = None
        self.started = time.perf_counter()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.start = event
            self.print(describe(event))
            self.open()
        elif isinstance(event, StepLogged):
            self.step = event
        elif isinstance(event, EvaluationDone):
            self.last_eval = event
            self.print(describe(event))
        elif isinstance(event, RunFinished):
            self.close()
            self.print(describe(event))
        else:
            self.print(describe(event))
        if self.live is not None:
            self.live.update(self.render())

    def print(self, line: str | None) -> None:
        if line:
            self.console.print(line, markup=False, highlight=False)

    def open(self) -> None:
        from rich.live import Live

        self.live = Live(self.render(), console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        total = self.start.total_steps if self.start else 1
        done = self.step.step if self.step else (self.start.resumed_from_step if self.start else 0)
        lines = [Text(f"step {done}/{total}", style="bold")]
        if self.step:
            s = self.step
            lines.append(
                Text(
                    f"epoch {s.epoch:.2f} · loss {s.loss:.4f} · lr {s.learning_rate:.2e} · "
                    f"{s.samples_per_second:.1f} samples/s · elapsed {clock(s.elapsed_s)} · ETA {clock(s.eta_s)}"
                )
            )
        if self.last_eval:
            e = self.last_eval
            lines.append(Text(f"last eval (step {e.step}): {metrics_text(e.metrics)}", style="cyan"))
        return Group(ProgressBar(total=total, completed=done, width=60), *lines)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def make_view(log_format: str) -> Any:
    """``auto`` is the Rich view on a terminal and plain lines otherwise."""
    if log_format == "json":
        return JsonView()
    if log_format == "plain" or (log_format == "auto" and not sys.stderr.isatty()):
        return PlainView()
    return RichView()


def data_report_dict(report: Any) -> dict[str, Any]:
    import dataclasses

    plan = report.plan
    return {
        "model": report.model,
        "task": report.task_type,
        "device": report.device,
        "precision": report.precision,
        "labels": report.labels,
        "splits": {
            name: {**dataclasses.asdict(stats), "truncated_share": stats.truncated_share}
            for name, stats in report.splits.items()
        },
        "label_distribution": report.label_distribution,
        "plan": {**dataclasses.asdict(plan), "effective_batch_size": plan.effective_batch_size},
        "notes": report.notes,
    }


def data_report_tables(report: Any) -> list[Any]:
    """Rich tables for ``--dry-run``: token lengths and truncation per split, labels per split, the step plan."""
    from rich.table import Table
    from rich.text import Text

    lengths = Table(title=f"Token lengths ({report.model}, {report.task_type})")
    for column in ("split", "examples", "p50", "p90", "p95", "p99", "max", "truncated"):
        lengths.add_column(column, justify="left" if column == "split" else "right")
    for name, stats in report.splits.items():
        p = stats.length_percentiles
        lengths.add_row(
            name,
            str(stats.examples),
            *(str(p.get(k, "")) for k in ("p50", "p90", "p95", "p99", "max")),
            f"{stats.truncated} ({stats.truncated_share:.1%}) at {stats.max_length}",
        )
    tables = [lengths]
    if report.label_distribution:
        labels = Table(title="Labels")
        labels.add_column("label")
        splits = list(report.label_distribution)
        for name in splits:
            labels.add_column(name, justify="right")
        for label in report.labels or []:
            cells = []
            for name in splits:
                count = report.label_distribution[name].get(label, 0)
                total = sum(report.label_distribution[name].values()) or 1
                cells.append(f"{count} ({count / total:.1%})")
            labels.add_row(Text(label), *cells)
        tables.append(labels)
    plan = report.plan
    steps = Table(title="Plan", show_header=False)
    steps.add_column("what", style="bold")
    steps.add_column("value")
    effective = (
        f"{plan.effective_batch_size} (batch {plan.batch_size} x {plan.num_processes} process(es) x "
        f"{plan.gradient_accumulation_steps} accumulation)"
    )
    for what, value in (
        ("effective batch size", effective),
        ("optimizer steps per epoch", str(plan.steps_per_epoch)),
        ("total steps", f"{plan.total_steps} ({plan.epochs} epoch(s))"),
        ("warmup steps", str(plan.warmup_steps)),
        ("device / precision", f"{report.device} / {report.precision}"),
    ):
        steps.add_row(what, value)
    tables.append(steps)
    return tables
