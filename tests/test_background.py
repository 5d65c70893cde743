"""The pool a request's independent stages run in (inference/runtime/background.py)."""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inference.runtime.background import AHEAD, Once, share


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


def test_work_two_threads_ask_for_is_done_once_and_both_get_its_result():
    calls, started, release = [], threading.Event(), threading.Event()

    def work():
        calls.append(threading.get_ident())
        started.set()
        release.wait(5)
        return ["#AusOpen"]

    once = Once(work)
    first = AHEAD.submit(once.get)
    started.wait(5)
    with ThreadPoolExecutor(1) as other:
        second = other.submit(once.get)  # asks while the first thread is still working: waits for it
        release.set()
        assert first.result() == second.result() == ["#AusOpen"]
    assert once.get() == ["#AusOpen"] and len(calls) == 1


def test_shared_pieces_are_each_done_once_and_a_piece_in_progress_is_skipped_not_waited_for():
    order, started, release = [], threading.Event(), threading.Event()

    def slow():
        order.append("slow")
        started.set()
        release.wait(5)
        return 1

    pieces = [Once(slow), Once(lambda: order.append("quick") or 2)]
    first = AHEAD.submit(share, pieces)
    started.wait(5)
    with ThreadPoolExecutor(1) as other:
        second = other.submit(share, pieces)  # skips the slow piece in progress, does the quick one
        while "quick" not in order:
            threading.Event().wait(0.01)
        release.set()
        assert first.result() == second.result() == [1, 2]
    assert order == ["slow", "quick"]


def test_a_fresh_posts_phrase_vectors_are_the_ones_the_ranking_would_encode():
    """The phrases' vectors the two threads put into the cache are the encoder's own for those words."""
    import numpy as np

    from inference.runtime.encoder_head import encode_tags
    from inference.runtime.grounding import embed_text
    from inference.runtime.suggester import Suggester
    from inference.text.tags import tag_key

    grounder = Suggester.from_default_models(threads=1).models["en"].grounder
    phrases = [grounder.phrases("Flew a Zorblax Quadcopter over Lake Wobegon Shores today", ())]
    jobs = grounder.phrase_jobs(phrases)
    assert 1 <= len(jobs) <= 2
    share([Once(job) for job in jobs])
    new = [p for p in phrases[0] if tag_key(p.words) not in grounder.rows]
    assert new and grounder.phrase_jobs(phrases) == []  # all cached now
    for p in new:
        expected = encode_tags(grounder.encoder, [embed_text(p.words, "en")])[0]
        np.testing.assert_allclose(grounder.encoded.get(tag_key(p.words)), expected, atol=5e-4)  # kept as float16


def test_phrases_are_the_same_whichever_thread_takes_them():
    """The ranking takes a batch's phrases itself when the look-up is still running, else the
    look-up's thread has taken them: the grounded lists are the same either way."""
    from inference.runtime.suggester import Suggester, SuggestRequest

    suggester = Suggester.from_default_models(threads=1)
    request = SuggestRequest("Watching the final set at the Australian Open tonight", ("what a match",), k=5)
    lists = {tuple(s.tag for s in suggester.suggest(request).suggestions) for _ in range(5)}
    grounder = suggester.models["en"].grounder
    alone = grounder.ground_batch([[]], [request.text], [request.thread], [set()], set(), [True])
    given = grounder.ground_batch([[]], [request.text], [request.thread], [set()], set(), [True],
                                  phrases=[grounder.phrases(request.text, request.thread)])
    assert len(lists) == 1 and alone == given


def test_the_shared_jobs_encode_the_model_candidates_after_the_phrases():
    """A fresh post's model candidates outside the vocabulary are encoded in the jobs both threads share
    (or by the ranking's thread before it waits for the look-up), not in the ranking's last step."""
    from inference.runtime.ranking import Ranked
    from inference.runtime.suggester import Suggester
    from inference.text.tags import tag_key

    grounder = Suggester.from_default_models(threads=1).models["zh"].grounder
    ranked = [Ranked("一个没人用过的标签", 0.9, "overlap"), Ranked("另一个新奇标签", 0.5, "prior")]
    words = grounder.model_words(ranked)
    assert words == ["一个没人用过的标签"]  # a popular fallback never enters the pool
    share([Once(job) for job in grounder.phrase_jobs([[]], extra=words)])
    assert grounder.encoded.get(tag_key(words[0])) is not None
    assert grounder.phrase_jobs([[]], extra=words) == []  # cached now
    grounder.encode_missing([(tag_key(words[0]), words[0])])  # nothing left to encode
