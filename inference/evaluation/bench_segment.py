"""`tagsmith segment` (stdin hashtags -> words) and `tagsmith bench segment` (accuracy and speed).

    tagsmith bench segment --data stan_large_test.tsv --data boun.txt [--show-misses 10]

The benchmark data: STAN .tsv (tweet, hashtag, gold...) or one gold segmentation a line (BOUN,
Stanford). `read_benchmark` and `evaluate` are also what export/segment_counts.py tunes with.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from inference.text.segment import default_segmenter


def run_segment(args) -> int:
    """`tagsmith segment`: one hashtag per stdin line -> its words, one line each, in order."""
    seg = default_segmenter()
    out = sys.stdout
    for line in sys.stdin:
        out.write(" ".join(seg.segment(line.strip())) + "\n")
    out.flush()
    return 0


def _norm(words) -> tuple[str, ...]:
    """Case-insensitive, non-alphanumerics ignored."""
    normed = ("".join(c for c in w.lower() if c.isalnum()) for w in words)
    return tuple(w for w in normed if w)


def read_benchmark(path: str | Path) -> list[tuple[str, list[tuple[str, ...]]]]:
    """(hashtag, gold segmentations) pairs: STAN .tsv (tweet, hashtag, gold...) or one gold a line."""
    items = []
    path = Path(path)
    for line in path.read_text(encoding="utf-8").splitlines():
        if path.suffix == ".tsv":
            cols = line.split("\t")
            if len(cols) < 3 or not cols[1].strip():
                continue
            tag, golds = cols[1].strip(), [g.split() for g in cols[2:] if g.strip()]
        else:
            words = line.split()
            if not words:
                continue
            tag, golds = "".join(words), [words]
        items.append((tag, list(dict.fromkeys(_norm(g) for g in golds))))
    return items


def evaluate(segment_fn, items, repeats: int = 1, clock=time.perf_counter) -> tuple[float, float, list]:
    """Exact-match accuracy, tags/second (the fastest of `repeats` passes, timed by `clock`), and the
    misses (tag, prediction, golds). `segment_fn` must not cache across calls."""
    misses = []
    elapsed = float("inf")
    for _ in range(repeats):
        start = clock()
        preds = [segment_fn(tag) for tag, _ in items]
        elapsed = min(elapsed, clock() - start)
    for (tag, golds), pred in zip(items, preds):
        if _norm(pred) not in golds:
            misses.append((tag, pred, golds))
    n = len(items) or 1
    return 1.0 - len(misses) / n, len(items) / max(elapsed, 1e-9), misses


def run_bench(args) -> int:
    """`tagsmith bench segment --data FILE ...`: accuracy and tags/s (one core), ours and wordsegment's."""
    import os

    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores:
        os.sched_setaffinity(0, {min(cores)})  # the speed figure is for one core
    try:
        return _bench(args)
    finally:
        if cores:
            os.sched_setaffinity(0, cores)


def _bench(args) -> int:
    import wordsegment

    t0 = time.perf_counter()
    ours = default_segmenter()
    load_s = time.perf_counter() - t0
    wordsegment.load()
    show = getattr(args, "show_misses", 0) or 0
    # CPU time of this single-threaded process, pinned to one core: the figure does not depend on
    # how many other processes share the machine (wall-clock time does)
    print(f"segmenter loaded in {load_s:.2f}s; tags/s = tags per CPU-second on one core, no cache, "
          "fastest of 3 passes")
    print(f"{'data':<24} {'segmenter':<12} {'tags':>6} {'exact match':>12} {'tags/s':>9}")
    for path in args.data:
        items = read_benchmark(path)
        name = Path(path).name
        for label, fn in (("wordsegment", wordsegment.segment), ("tagsmith", ours._segment_tuple)):
            acc, speed, misses = evaluate(fn, items, repeats=3, clock=time.process_time)
            print(f"{name:<24} {label:<12} {len(items):>6} {100 * acc:>11.1f}% {speed:>9.0f}", flush=True)
            if label == "tagsmith":
                for tag, pred, golds in misses[:show]:
                    print(f"  miss  {tag:<28} -> {' '.join(pred):<32} gold: {' | '.join(' '.join(g) for g in golds)}")
    return 0
