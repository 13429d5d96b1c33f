"""CPU runtime settings for training (measured in bench/finetune.py).

glibc hands every allocation above its mmap threshold (at most 32 MiB by default) straight to the kernel and
returns it on free. A training step frees and re-allocates the same large buffers every time (a BERT word-embedding
gradient alone is 30522 x 384 x 4 = 47 MB for MiniLM), so each step page-faults them in again: ~11k minor faults
and ~15% of a MiniLM step on SST-2. Raising the mmap and trim thresholds keeps those buffers in the heap for reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30  # buffers up to 1 GiB stay in the heap once freed


def keep_freed_memory() -> bool:
    """Tell glibc malloc to reuse freed large buffers instead of unmapping them. True when it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl): nothing to tune
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))


# ------------------------------------------------------------------------------------------------ allocator
# Even with the thresholds above, glibc malloc spends a large share of a CPU training step searching its free
# lists (the step's many differently sized buffers fragment the heap; oneDNN allocates small objects on every
# matmul). tcmalloc does not: preloaded, it trained bench/ner.py's NER runs 13% faster (bertkit; the
# transformers.Trainer reference 12%). A library cannot switch allocators in a running process, so bertkit
# says so when tcmalloc is installed but not preloaded.
TCMALLOC_NAMES = ("tcmalloc_minimal", "tcmalloc")
MAPS = "/proc/self/maps"


def preloaded_allocator(maps: str = MAPS) -> str | None:
    """The allocator preloaded into this process, "tcmalloc" or "jemalloc", from its memory map (Linux); else
    None."""
    try:
        with open(maps, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    for name in ("tcmalloc", "jemalloc"):
        if f"/lib{name}" in text:
            return name
    return None


def installed_tcmalloc() -> str | None:
    """The tcmalloc library name the dynamic loader can find (e.g. libtcmalloc_minimal.so.4), else None."""
    if not sys.platform.startswith("linux"):
        return None
    for name in TCMALLOC_NAMES:
        found = ctypes.util.find_library(name)
        if found:
            return found
    return None


def allocator_notes() -> list[str]:
    """A line for the run log about the memory allocator, when there is something to say."""
    preloaded = preloaded_allocator()
    if preloaded:
        return [f"memory allocator: {preloaded} (preloaded)"]
    found = installed_tcmalloc()
    if found:
        return [
            f"{found} is installed but not in use: `LD_PRELOAD={found} bertkit finetune ...` trains faster on CPU "
            "(13% on CoNLL-2003 NER in bench/ner.py)"
        ]
    return []
