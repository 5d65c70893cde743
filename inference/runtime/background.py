"""A small thread pool for a request's independent stages: the sentence encoder reads the post while
the model's sources run. onnxruntime and numpy let go of the GIL, so a lone request uses the second
core; under load the cores are busy anyway and the pool only changes which thread does the work
(outputs are identical either way).

A job runs at its submitter's nice value (Linux, where nice is per thread): the service runs its heavy
text lane and its image lane at a higher nice than the light batches (server/admission.py), and their
stages must not escape that into a thread of ordinary priority. One pool per nice value, made when
first needed; each job is a leaf (it never waits on another job of a pool).
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor

WORKERS = 4  # per nice value: a batch submits at most two jobs, and the service has a few lanes
_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _nice() -> int:
    """The calling thread's nice value (0 where nice is not per thread)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (OSError, AttributeError):
        return 0


def _at_nice(nice: int) -> None:
    """A pool initializer: the new thread takes the nice value of the pool's submitters."""
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (OSError, AttributeError):
        pass  # the job still runs, at the process's priority


class _Ahead:
    """`AHEAD.submit(fn, *args)`: like an executor's, on the pool of the caller's nice value."""

    def submit(self, fn, *args) -> Future:
        nice = _nice()
        pool = _pools.get(nice)
        if pool is None:
            with _lock:
                pool = _pools.get(nice)
                if pool is None:
                    pool = _pools[nice] = ThreadPoolExecutor(WORKERS, thread_name_prefix=f"tagsmith-ahead-n{nice}",
                                                             initializer=_at_nice, initargs=(nice,))
        return pool.submit(fn, *args)


AHEAD = _Ahead()


class Once:
    """`fn()` computed once, by whichever thread asks first; a thread asking meanwhile waits for that
    result. For work that two threads of a request could each do: the first one free takes it."""

    def __init__(self, fn):
        self._fn, self._lock, self._done, self._value = fn, threading.Lock(), False, None

    def get(self):
        with self._lock:
            if not self._done:
                self._value, self._done = self._fn(), True
            return self._value

    def try_run(self) -> None:
        """Compute it now unless it is done or another thread is computing it (then return at once)."""
        if self._lock.acquire(blocking=False):
            try:
                if not self._done:
                    self._value, self._done = self._fn(), True
            finally:
                self._lock.release()


def share(pieces: list[Once]) -> list:
    """Work split in pieces that a request's threads share: the caller computes every piece no other
    thread has started, then waits for the others'; the pieces' results, in order."""
    for piece in pieces:
        piece.try_run()
    return [piece.get() for piece in pieces]
