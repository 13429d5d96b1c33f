"""The output folder and the work folder beside it.

While a run trains, everything lives in ``<output.dir>.partial/`` (checkpoints, best weights, the JSONL log,
TensorBoard events). Only a finished run is assembled into a staging folder and renamed to ``<output.dir>``, with
``bertkit_run.json`` written last, so a crash never leaves a folder that looks complete, and an existing
finished folder is replaced only then (and only with ``output.overwrite: true``).
"""

from __future__ import annotations

import json
import platform
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bertkit.errors import TrainingError

COMPLETE_MARKER = "bertkit_run.json"
WORK_SUFFIX = ".partial"
IDENTITY_FILE = "run.json"


@dataclass(frozen=True)
class RunPaths:
    final: Path

    @property
    def work(self) -> Path:
        return self.final.with_name(self.final.name + WORK_SUFFIX)

    @property
    def checkpoints(self) -> Path:
        return self.work / "checkpoints"

    @property
    def best(self) -> Path:
        return self.work / "best"

    @property
    def log(self) -> Path:
        return self.work / "train_log.jsonl"

    @property
    def tensorboard(self) -> Path:
        return self.work / "tensorboard"

    @property
    def identity(self) -> Path:
        return self.work / IDENTITY_FILE


def run_paths(output_dir: str) -> RunPaths:
    final = Path(output_dir).expanduser()
    if not final.name or final.name in (".", ".."):
        raise TrainingError(f"output.dir '{output_dir}' does not name a folder", hint="Use e.g. output.dir: runs/sst2.")
    return RunPaths(final.resolve())


def is_finished_output(folder: Path) -> bool:
    return (folder / COMPLETE_MARKER).is_file()


def check_output_folder(paths: RunPaths, *, overwrite: bool) -> None:
    final = paths.final
    if not final.exists():
        return
    if not final.is_dir():
        raise TrainingError(f"output.dir {final} is a file", hint="Point output.dir at a folder.")
    empty = not any(final.iterdir())
    if empty:
        return
    if not overwrite:
        raise TrainingError(
            f"the output folder {final} already exists",
            hint="Choose another output.dir, or set output.overwrite: true (--set output.overwrite=true) to replace "
            "it when the new run has finished.",
        )
    if not is_finished_output(final):
        raise TrainingError(
            f"the output folder {final} exists and was not written by bertkit finetune, so it is not replaced",
            hint="Choose another output.dir, or move that folder away.",
        )


def has_checkpoint(paths: RunPaths) -> bool:
    from bertkit.training.checkpoints import latest_checkpoint

    return latest_checkpoint(paths.checkpoints) is not None


def preflight(paths: RunPaths, *, overwrite: bool, resume: bool) -> None:
    """Every check that can fail before compute is spent; writes nothing."""
    check_output_folder(paths, overwrite=overwrite)
    if resume and not has_checkpoint(paths):
        raise TrainingError(
            f"nothing to resume: no checkpoint in {paths.work}",
            hint="Run without --resume to start training (checkpoints are written at each evaluation, or every "
            "training.checkpoint_steps steps).",
        )
    if not resume and has_checkpoint(paths):
        raise TrainingError(
            f"an interrupted run of this recipe has checkpoints in {paths.work}",
            hint="Continue it with --resume, or delete that folder to start over.",
        )


def read_identity(paths: RunPaths) -> dict[str, Any]:
    try:
        return json.loads(paths.identity.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def clear_work_dir(paths: RunPaths) -> None:
    """A fresh run (main process) clears the leftovers of a run killed before its first checkpoint."""
    if paths.work.exists():
        shutil.rmtree(paths.work)


def start_work_dir(paths: RunPaths, identity: dict[str, Any], *, resume: bool) -> None:
    """Create the work folder (main process) and, for a fresh run, record what is being trained."""
    from bertkit.io.outputs import atomic_write_json

    paths.work.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write_json(paths.identity, {**identity, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def versions() -> dict[str, Any]:
    from bertkit.env import package_versions

    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": package_versions()}


def recipe_yaml(recipe: Any) -> str:
    import yaml

    return yaml.safe_dump(recipe.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True)


def write_bundle(folder: Path, *, recipe: Any, command: list[str] | None, data: dict[str, Any]) -> None:
    """The reproducibility bundle: resolved recipe, command line, package versions, data facts."""
    from bertkit.io.outputs import atomic_write_json, atomic_write_text

    atomic_write_text(folder / "recipe.yaml", recipe_yaml(recipe))
    argv = command if command is not None else sys.argv
    atomic_write_text(folder / "command.txt", shlex.join([str(a) for a in argv]) + "\n")
    atomic_write_json(folder / "versions.json", versions())
    atomic_write_json(folder / "data.json", data)


def publish(paths: RunPaths, fill: Any, summary: dict[str, Any]) -> None:
    """Assemble the finished output in a staging folder (``fill(staging)``), mark it complete, move it into
    place (replacing the old folder only now), then delete the work folder."""
    from bertkit.io.outputs import atomic_directory, atomic_write_json

    with atomic_directory(paths.final) as staging:
        fill(staging)
        if paths.log.exists():
            shutil.copy2(paths.log, staging / "train_log.jsonl")
        if paths.tensorboard.exists():
            shutil.copytree(paths.tensorboard, staging / "tensorboard")
        atomic_write_json(staging / COMPLETE_MARKER, {**summary, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    shutil.rmtree(paths.work, ignore_errors=True)
