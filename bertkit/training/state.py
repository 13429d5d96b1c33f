"""The loop's own state (saved with every checkpoint) and the recipe identity that a resume must match."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bertkit.errors import TrainingError

# Keys that do not change what is trained: changing them between a run and its resume is fine.
IRRELEVANT_KEYS = (
    "name",
    "description",
    "output",
    "training.logging_steps",
    "training.checkpoint_steps",
    "training.keep_checkpoints",
    "training.dataloader_workers",
    "training.eval_batch_size",
    "evaluation.bootstrap_samples",
    "evaluation.confidence_level",
    "evaluation.report",
)


@dataclass
class RunState:
    """Where the loop is. ``batches_in_epoch`` counts this process's batches, so resume can skip exactly those."""

    global_step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    samples_seen: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    evals_without_improvement: int = 0
    last_eval_step: int | None = None
    stopped_early: bool = False
    eval_history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out if out or not prefix else {prefix: {}}
    return {prefix: data}


def training_identity(recipe: Any) -> dict[str, Any]:
    """The recipe's training-relevant values, as dotted keys (``training.learning_rate``: 5e-05, ...)."""
    flat = flatten(recipe.model_dump(mode="json"))
    return {k: v for k, v in sorted(flat.items()) if not any(k == p or k.startswith(p + ".") for p in IRRELEVANT_KEYS)}


def identity_hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def describe_changes(before: dict[str, Any], after: dict[str, Any], limit: int = 8) -> list[str]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, "(unset)"), after.get(key, "(unset)")
        if old != new:
            changes.append(f"{key}: {json.dumps(old, default=str)} -> {json.dumps(new, default=str)}")
    return changes[:limit] + ([f"... and {len(changes) - limit} more"] if len(changes) > limit else [])


def run_identity(recipe: Any, fingerprints: dict[str, str], num_processes: int) -> dict[str, Any]:
    identity = training_identity(recipe)
    return {
        "recipe_hash": identity_hash(identity),
        "recipe": identity,
        "data_fingerprints": dict(sorted(fingerprints.items())),
        "num_processes": num_processes,
    }


def check_resumable(saved: dict[str, Any], current: dict[str, Any], work_dir: str) -> None:
    """Refuse to resume when anything that shapes training differs from the interrupted run."""
    problems = []
    if saved.get("recipe_hash") != current["recipe_hash"]:
        problems += describe_changes(saved.get("recipe", {}), current["recipe"])
    if saved.get("num_processes") != current["num_processes"]:
        problems.append(f"processes: {saved.get('num_processes')} -> {current['num_processes']}")
    old_data, new_data = saved.get("data_fingerprints", {}), current["data_fingerprints"]
    for split in sorted(set(old_data) | set(new_data)):
        if old_data.get(split) != new_data.get(split):
            problems.append(f"data ({split} split) changed since the checkpoint")
    if problems:
        raise TrainingError(
            f"cannot resume the run in {work_dir}: it was started with different settings\n"
            + "\n".join(f"  {p}" for p in problems),
            hint="Resume with the recipe (and --set values) of the interrupted run, or delete that folder to start "
            "over with the new settings.",
        )
