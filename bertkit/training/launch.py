"""``--num-processes N``: run the same command again under Accelerate's launcher, N processes on this machine.

On CPU the processes talk over gloo (torch.distributed); on GPUs over NCCL, one GPU each. Multi-machine runs use
``accelerate launch`` directly with its usual flags or config (``accelerate launch -m bertkit finetune ...``).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from bertkit.errors import InputError

LAUNCH_COMMAND_ENV = "BERTKIT_LAUNCH_COMMAND"


def user_command(parsed: list[str]) -> list[str]:
    """The command line as the user typed it (not the per-process one a --num-processes relaunch runs).

    ``parsed`` is the bertkit command rebuilt from the parsed options, used when this process was not started
    as ``bertkit`` (e.g. called in-process from Python), where ``sys.argv`` belongs to someone else.
    """
    try:
        command = json.loads(os.environ.get(LAUNCH_COMMAND_ENV, "null"))
    except ValueError:
        command = None
    if isinstance(command, list):
        return [str(a) for a in command]
    if sys.argv and "bertkit" in Path(sys.argv[0]).parts[-2:]:
        return list(sys.argv)
    return ["bertkit", *parsed]


def distributed_world_size() -> int:
    """Processes in the job this process belongs to (1 when not launched by accelerate/torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def process_rank() -> int:
    try:
        return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    except ValueError:
        return 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_command(num_processes: int, bertkit_args: list[str]) -> list[str]:
    """The command that runs ``bertkit <bertkit_args>`` in ``num_processes`` processes via Accelerate."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus and num_processes > gpus:
        raise InputError(
            f"--num-processes {num_processes}: only {gpus} GPU(s) are visible, and each process needs its own",
            hint=f"Use --num-processes {gpus} or less.",
        )
    threads = max(1, (os.cpu_count() or 1) // num_processes) if not gpus else 1
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",  # Accelerate's torchrun launcher; each process then picks gloo on CPU, NCCL on GPUs
        "--num_processes",
        str(num_processes),
        "--num_machines",
        "1",
        "--main_process_port",
        str(free_port()),
        "--num_cpu_threads_per_process",
        str(threads),
        "--mixed_precision",
        "no",  # the recipe's training.precision decides, inside each process
        "--dynamo_backend",
        "no",
        "-m",
        "bertkit",
        *bertkit_args,
    ]


def relaunch(num_processes: int, bertkit_args: list[str]) -> int:
    """Run the launcher and wait; returns its exit code (1 when any process failed)."""
    import subprocess

    env = dict(os.environ)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env[LAUNCH_COMMAND_ENV] = json.dumps(sys.argv)  # the output folder records what the user typed
    completed = subprocess.run(launch_command(num_processes, bertkit_args), env=env, check=False)
    return 0 if completed.returncode == 0 else 1
