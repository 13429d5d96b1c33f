"""Helpers shared by bench/ner.py, bench/qa.py and bench/results.py: run one configuration in its own process,
machine facts, the row the ratios compare against."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_process(command: list[str]) -> dict[str, Any]:
    """Run a benchmark configuration; its last stdout line is a JSON object."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"benchmark run failed: {' '.join(command)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    import platform
    import time

    import torch
    import transformers

    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        # reports are kept in git, where file times say when a checkout was made, not when a run was
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def step_throughput(elapsed: dict[int, float], first: int, batch_size: int, items: int) -> tuple[int, float]:
    """(last step, items per second) between the end of step ``first`` and the last step."""
    last = max(elapsed)
    done = min(last * batch_size, items) - first * batch_size
    return last, done / (elapsed[last] - elapsed[first])


def best_of(rows: list[dict[str, Any]], rate_key: str) -> list[dict[str, Any]]:
    """One row per name: with a name run several times (``--runs a,b,a,b``, interleaved so that both see the same
    load), the fastest run, which the machine's other load disturbed least; every run's rate is kept in ``rates``."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        rates = [*best.get(row["name"], {}).get("rates", []), row[rate_key]]
        keep = row if row[rate_key] >= best.get(row["name"], {}).get(rate_key, 0.0) else best[row["name"]]
        best[row["name"]] = keep | {"rates": rates}
    return list(best.values())


def bertkit_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The report's bertkit row with its speed-ups on: the one the other rows' ratios compare against."""
    return next((r for r in rows if r["name"].startswith("bertkit") and "speedups off" not in r["name"]), None)
