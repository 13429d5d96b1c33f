"""Environment facts for bug reports (`bertkit env`)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

PACKAGES = ("bertkit", "torch", "transformers", "tokenizers", "accelerate", "datasets", "safetensors", "typer", "rich")


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_info() -> dict[str, object]:
    """Versions, platform, devices and precision support, as one flat-ish dict (JSON-ready)."""
    import torch

    from bertkit.modeling.device import cpu_has_fast_bf16
    from bertkit.training.cpu import installed_tcmalloc, preloaded_allocator

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": package_versions(),
        "torch_cuda_build": torch.version.cuda,
        "cpu_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_fast_bf16": cpu_has_fast_bf16(),
        "memory_allocator": preloaded_allocator() or "system malloc",
        "tcmalloc_installed": installed_tcmalloc(),
        "cuda_available": cuda,
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
        "cuda_bf16": bool(cuda and torch.cuda.is_bf16_supported()),
        "mps_available": bool(mps),
    }
