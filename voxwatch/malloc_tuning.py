"""Keep glibc malloc from handing the hot path's buffers back to the kernel after every use.

The feature stage allocates a few arrays of 100-400 KB per window (frames x FFT bins). glibc serves allocations
above ``M_MMAP_THRESHOLD`` (128 KB at start, raised dynamically only after some frees) with fresh ``mmap`` pages
and trims freed heap tops above ``M_TRIM_THRESHOLD``, so each window's arrays can cost ~100 page faults of zeroed
memory, several times the work itself, the same process flipping between the two states with allocation history
(figures: docs/performance.md). Pinning both
thresholds makes the daemon's speed steady; the cost is that up to ``trim_mb`` of freed heap stays mapped
(the daemon's working set is steady, so that memory is reused, not leaked; docs/performance.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def pin_malloc_thresholds(mmap_mb: int = 16, trim_mb: int = 64) -> bool:
    """Set glibc's mmap and trim thresholds (process-wide). True if applied; False off glibc (nothing done)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok_mmap = mallopt(M_MMAP_THRESHOLD, mmap_mb << 20) == 1
    ok_trim = mallopt(M_TRIM_THRESHOLD, trim_mb << 20) == 1
    return ok_mmap and ok_trim
