"""Give argon2's working memory back to the system after every hash (glibc only).

Each argon2id hash mallocs its whole memory cost (19 MiB) in a worker thread. glibc serves
a block that large with mmap and unmaps it on free, but then raises its mmap threshold to
the block's size ("dynamic threshold"), so later 19 MiB blocks come from the threads'
malloc arenas and stay resident: a few password sets at once left the gateway holding over
100 MiB it no longer used. Fixing the threshold turns that adjustment off, so large blocks
are always mapped and unmapped, while small objects are unaffected.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024
"""Blocks from 1 MiB up are mapped per allocation (glibc's default starts at 128 KiB)."""


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold; False where there is no glibc ``mallopt`` (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, threshold))
    return False
