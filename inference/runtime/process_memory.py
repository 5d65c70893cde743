"""How a service process uses memory: one BLAS thread per calling thread, glibc's malloc tuned, freed
heap pages handed back. `tagsmith serve` and the first start's child (runtime/first_start.py) both apply
it, before numpy loads and before any thread starts.

One BLAS thread per calling thread: the pool threads already fill the cores, and OpenBLAS's own threads
spin after every call (with the grounding stage's [B, 512] x [512, V] product, about 40% of the server's
CPU per request went to that spinning). A value already in the environment wins.

glibc's malloc: at most MALLOC_ARENAS arenas (glibc's default, 8 per core, keeps each pool thread's freed
blocks apart), and blocks of MALLOC_MMAP_THRESHOLD bytes or more mapped apart, so a freed large array (a
decoded frame, the load's temporaries) goes back to the OS (glibc otherwise raises the threshold to 32 MB
once a large block is freed). A request's own arrays (a photo's pixels, OCR's maps, [B, V] products) stay
under it and are reused from the heap, which keeps up to MALLOC_TRIM_THRESHOLD free at its top (at 256 kB
and glibc's 128 kB trim they were mapped and faulted in anew on every request: docs/performance.md). An
environment variable of the same name (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_)
wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MALLOC_ARENAS = 2
MALLOC_MMAP_THRESHOLD = 2 * 1024 * 1024
MALLOC_TRIM_THRESHOLD = 4 * 1024 * 1024
_M_ARENA_MAX, _M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD = -8, -3, -1  # mallopt's parameter numbers (malloc.h)

_libc = None


def _c_library():
    """glibc (or whatever C library is found); None where it cannot be opened."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        except OSError:
            _libc = False
    return _libc or None


def one_blas_thread() -> None:
    """Set the BLAS thread variables to 1 unless the environment sets them (before numpy loads)."""
    for name in BLAS_THREAD_VARS:
        os.environ.setdefault(name, "1")


def tune_malloc() -> bool:
    """Apply MALLOC_ARENAS, MALLOC_MMAP_THRESHOLD and MALLOC_TRIM_THRESHOLD unless the environment sets
    them; False when the C library is not glibc."""
    mallopt = getattr(_c_library(), "mallopt", None)
    if mallopt is None:
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)
    return True


def status_mb(field: str = "VmHWM", pid: int | str = "self") -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB, from /proc (Linux); nan where it cannot be read."""
    try:
        for line in open(f"/proc/{pid}/status", encoding="ascii", errors="replace"):
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return float("nan")


def release_memory() -> None:
    """Hand freed heap pages back to the OS (glibc's malloc_trim; a no-op elsewhere). Pillow frees a
    large frame in 16 MB blocks that glibc otherwise keeps in the decoding thread's arena."""
    trim = getattr(_c_library(), "malloc_trim", None)
    if trim is not None:
        trim(0)
