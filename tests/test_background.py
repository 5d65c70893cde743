"""The pool a request's independent stages run in (inference/runtime/background.py)."""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inference.runtime.background import AHEAD


def _thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_job_returns_its_result():
    assert AHEAD.submit(sum, [1, 2, 3]).result() == 6


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice is per thread on Linux only")
def test_a_job_runs_at_its_submitters_nice_value():
    from inference.server.admission import lower_thread_priority

    with ThreadPoolExecutor(1, initializer=lower_thread_priority, initargs=(7,)) as niced:
        submitter, job = niced.submit(lambda: (_thread_nice(), AHEAD.submit(_thread_nice).result())).result()
    assert job == submitter >= 7
    assert AHEAD.submit(_thread_nice).result() == _thread_nice()  # an ordinary caller: an ordinary thread
