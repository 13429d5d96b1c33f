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
