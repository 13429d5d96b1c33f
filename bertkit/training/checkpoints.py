"""Resumable checkpoints (Accelerate state + the loop's state) and the best model's weights.

A checkpoint is written into ``.tmp-step-N`` by every process (Accelerate saves each process's RNG state) and
renamed to ``step-N`` by the main process once all are done; ``trainer_state.json`` inside marks it usable. A
kill at any moment leaves either the previous checkpoints or a complete new one.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from bertkit.training.state import RunState

STATE_FILE = "trainer_state.json"
BEST_WEIGHTS = "model.safetensors"
BEST_INFO = "best.json"
STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoint_dirs(root: Path) -> list[tuple[int, Path]]:
    """Usable checkpoints, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_DIR.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(root: Path) -> Path | None:
    found = checkpoint_dirs(root)
    return found[-1][1] if found else None


def save_checkpoint(accelerator: Any, root: Path, state: RunState, keep: int) -> Path:
    """Save model, optimizer, scheduler, RNG states and ``state``; keep the newest ``keep`` checkpoints."""
    from bertkit.io.outputs import atomic_write_json

    step = state.global_step
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        atomic_write_json(tmp / STATE_FILE, state.to_dict())
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for _, old in checkpoint_dirs(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Any, folder: Path) -> RunState:
    """Restore everything ``save_checkpoint`` saved; returns the loop state to continue from."""
    accelerator.load_state(str(folder))
    return RunState.from_dict(json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))


def save_best(model: Any, folder: Path, info: dict[str, Any]) -> None:
    """Write the best weights atomically (main process): a temporary folder renamed over the previous best."""
    from safetensors.torch import save_model

    from bertkit.io.outputs import atomic_directory, atomic_write_json

    with atomic_directory(folder) as staging:
        save_model(model, str(staging / BEST_WEIGHTS))
        atomic_write_json(staging / BEST_INFO, info)


def load_best(model: Any, folder: Path) -> dict[str, Any] | None:
    """Load the best weights into ``model`` (every process); None when no best model was saved."""
    from safetensors.torch import load_model

    weights = folder / BEST_WEIGHTS
    if not weights.is_file():
        return None
    load_model(model, str(weights), device=str(next(model.parameters()).device))
    return json.loads((folder / BEST_INFO).read_text(encoding="utf-8"))
