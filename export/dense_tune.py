"""Measure dense retrieval on a dev split and choose its settings (n, minimum cosine, weight).

    python -m export.dense_tune recall --lang en --train runs/corpus/en_train.jsonl --dev runs/corpus/en_dev.jsonl
    python -m export.dense_tune grid --lang en --train runs/corpus/en_train.jsonl --dev runs/corpus/en_dev.jsonl \
        --folder inference/models/en [--dims 128 --dtype int8]

recall: gold-tag recall@10 (inference/evaluation/metrics.py R@10) of the dense neighbours' top 10 votes
per index variant (full float32, PCA + int8/float16) and (n, minimum cosine), beside the TF-IDF
retrieval's own top 10 (the folder's retrieval.npz, as the model queries it); the search time per
request on one core; each variant's file size.
grid: the service's path for text requests (`Suggester`: the folder's model list, its grounding stage
with the dense index attached, the safety filter, `usable`, top 10) over (dense_k, dense_min_cos,
dense_limit, dense_weight), filled to k and with the floor, scored by F1@1 + F1@5 + MAP@5 like
export/grounding.py. The model's lists and the dev vectors are computed once (vectors cached by
export/dense_index.py); the grid only re-runs the grounding stage.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from export.baselines import load_jsonl
from export.dense_index import build_index, encode_records, write
from inference.evaluation.metrics import evaluate
from inference.runtime.dense_retrieval import DenseIndex
from inference.runtime.grounding import context_text
from inference.text.preprocess import tokenize

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("F1@1", "F1@5", "MAP@5", "R@10")
K = 10
BATCH = 64  # tagsmith predict's batch


def _show(m: dict) -> str:
    return " ".join(f"{k} {m[k]:.2f}" for k in SHOWN)


def load_split(path: Path, threads: int) -> tuple[list[dict], np.ndarray]:
    records = [r for r in load_jsonl(path) if r.get("hashtags")]
    return records, encode_records(records, path.stem, threads)


def variant(records, vectors, dims: int, dtype: str) -> tuple[DenseIndex, float]:
    """The index and its file size in MB (written to a temporary folder)."""
    index = build_index(records, vectors, dims, dtype)
    with tempfile.TemporaryDirectory() as tmp:
        info = write(index, Path(tmp))
        return DenseIndex.load(Path(info["path"])), info["mb"]


def search_ms(index: DenseIndex, queries: np.ndarray, n: int) -> float:
    """Median milliseconds of one request's neighbours (one row at a time, as a batch of one)."""
    times = []
    for q in queries[:300]:
        start = time.perf_counter()
        index.neighbours(q[None], n, 0.0)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def tfidf_top(folder: Path, records: list[dict], lang: str) -> list[list[str]]:
    from inference.runtime.retrieval import RetrievalIndex

    retrieval = RetrievalIndex.load(folder)
    pairs = [(tokenize(r["post"], lang), [t for m in r.get("thread") or [] for t in tokenize(m, lang)]) for r in records]
    out = []
    for start in range(0, len(pairs), BATCH):
        out.extend([[t for t, _ in votes[:K]] for votes in retrieval.query(pairs[start:start + BATCH])])
    return out


def run_recall(args) -> None:
    train, train_vectors = load_split(args.train, args.threads)
    dev, dev_vectors = load_split(args.dev, args.threads)
    gold = [r["hashtags"] for r in dev]
    folder = args.folder or ROOT / "inference" / "models" / args.lang
    print(f"{args.lang}: {len(train)} training posts, {len(dev)} dev posts")
    print(f"TF-IDF retrieval ({folder}/retrieval.npz) top {K}: {_show(evaluate(gold, tfidf_top(folder, dev, args.lang), args.lang))}")
    for dims, dtype in [(0, "float32"), *[(int(d), t) for d, t in (v.split(":") for v in args.variants)]]:
        if dtype == "float32":
            index, mb = build_index(train, train_vectors, 0, "float16"), float("nan")
            index.matrix = np.ascontiguousarray(train_vectors.T)  # exact: the encoder's own vectors
        else:
            index, mb = variant(train, train_vectors, dims, dtype)
        print(f"-- {dims or 512} dims {dtype}: {mb} MB, search {search_ms(index, dev_vectors, max(args.n)):.2f} ms/request (median, one at a time)")
        for n, min_cos in itertools.product(args.n, args.min_cos):
            votes = index.neighbours(dev_vectors, n, min_cos)
            print(f"   n {n} min_cos {min_cos}: {_show(evaluate(gold, [[t for t, _ in v[:K]] for v in votes], args.lang))}")


def model_lists(suggester, requests) -> list[tuple[list, set, set]]:
    """Per request, as `Suggester._rank_text` makes it: (the model's ranked list, excluded, blocklist)."""
    from inference.runtime.ranking import FUNCTION_WORDS
    from inference.runtime.suggester import existing_tags

    (lang, model), = suggester.models.items()
    blocklist = suggester.blocklist | FUNCTION_WORDS.get(lang, frozenset())
    out = []
    for start in range(0, len(requests), BATCH):
        batch = requests[start:start + BATCH]
        excluded = [existing_tags(r) for r in batch]
        n = max(r.k for r in batch) + max(len(e) for e in excluded) + 5
        candidates = suggester._text_candidates(model, batch, n)
        for j in range(len(batch)):
            c, post, thread = candidates[j]
            out.append((model.ranking.rank(c, post, thread, n, excluded[j], blocklist), excluded[j], blocklist))
    return out


def prepare_all(grounder, requests, lists) -> list:
    """Every request's candidates with their features (`Grounder.prepare`, as `ground_batch` runs it)."""
    out = []
    for start in range(0, len(requests), BATCH):
        batch, rows = requests[start:start + BATCH], lists[start:start + BATCH]
        out.extend(grounder.prepare([r[0] for r in rows], [q.full_text for q in batch], [q.thread for q in batch]))
    return out


def grounded_top(grounder, requests, lists, prepared, floor: bool) -> list[list[str]]:
    """Top K of every request: `ground_batch`'s finish (scores under grounder.config, safety, floor) and `usable`."""
    from inference.runtime.strategies import usable
    from inference.text.tags import tag_key

    out = []
    for q, p, (_, exclude, blocklist) in zip(requests, prepared, lists):
        found = grounder._finish(p, {tag_key(e) for e in exclude} | {tag_key(b) for b in blocklist}, floor)
        out.append([r.words for r in usable(found.ranked, " ".join([q.full_text, *q.thread]), exclude)[:K]])
    return out


def run_grid(args) -> None:
    from inference.runtime.suggester import SuggestRequest, Suggester

    train, train_vectors = load_split(args.train, args.threads)
    dev, dev_vectors = load_split(args.dev, args.threads)
    gold = [r["hashtags"] for r in dev]
    folder = args.folder or ROOT / "inference" / "models" / args.lang
    suggester = Suggester.from_folders([folder], threads=1)
    grounder = suggester.models[args.lang].grounder
    base = grounder.config
    requests = [SuggestRequest(r.get("post") or "", tuple(r.get("thread") or ()), k=K, lang=args.lang) for r in dev]
    cached = {context_text(q.full_text, q.thread): v for q, v in zip(requests, dev_vectors)}
    grounder.encode_contexts = lambda posts, threads: np.stack([cached[context_text(p, t)] for p, t in zip(posts, threads)])
    start = time.perf_counter()
    lists = model_lists(suggester, requests)
    print(f"{args.lang}: model lists of {len(dev)} dev posts in {time.perf_counter() - start:.0f} s; grounding {base}")
    index, mb = variant(train, train_vectors, args.dims, args.dtype)
    print(f"dense index: {args.dims or 512} dims {args.dtype}, {mb} MB")
    results = []
    grounder.dense, grounder.config = None, base
    prepared = prepare_all(grounder, requests, lists)
    for floor in (False, True):
        m = evaluate(gold, grounded_top(grounder, requests, lists, prepared, floor), args.lang)
        print(f"off, floor {floor}: {_show(m)}", flush=True)
        results.append((floor, None, m))
    grounder.dense = index
    for n, min_cos, limit in itertools.product(args.n, args.min_cos, args.limit):
        grounder.config = replace(base, dense_k=n, dense_min_cos=min_cos, dense_limit=limit)
        prepared = prepare_all(grounder, requests, lists)  # the candidates: the weight only re-scores them
        for weight in args.weights:
            grounder.config = replace(base, dense_k=n, dense_min_cos=min_cos, dense_limit=limit, dense_weight=weight)
            for floor in (False, True):
                m = evaluate(gold, grounded_top(grounder, requests, lists, prepared, floor), args.lang)
                results.append((floor, (n, min_cos, limit, weight), m))
                print(f"n {n} min_cos {min_cos} limit {limit} weight {weight}, floor {floor}: {_show(m)}", flush=True)
    for floor in (False, True):
        ranked = sorted((r for r in results if r[0] == floor), key=lambda r: -(r[2]["F1@1"] + r[2]["F1@5"] + r[2]["MAP@5"]))
        print(f"best 5, floor {floor}: " + " | ".join(f"{r[1]} {_show(r[2])}" for r in ranked[:5]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.dense_tune", description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=["recall", "grid"])
    parser.add_argument("--lang", choices=["en", "zh"], required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--folder", type=Path, help="model folder (default inference/models/<lang>)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", nargs="*", default=["128:int8", "128:float16", "256:int8", "0:int8"], help="dims:dtype")
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--dtype", default="int8")
    parser.add_argument("--n", type=int, nargs="*", default=[10, 20, 40])
    parser.add_argument("--min-cos", type=float, nargs="*", default=[0.0, 0.3, 0.5])
    parser.add_argument("--limit", type=int, nargs="*", default=[10])
    parser.add_argument("--weights", type=float, nargs="*", default=[0.0, 0.25, 0.5, 1.0, 2.0])
    args = parser.parse_args(argv)
    run_recall(args) if args.stage == "recall" else run_grid(args)


if __name__ == "__main__":
    main()
