"""Train the learned reranker (inference/runtime/rerank.py) and report it on dev through the real Suggester.

    python -m export.rerank --train runs/corpus/zh_train.jsonl --dev runs/corpus/zh_dev.jsonl --lang zh \
        --prior ../shared/data/weibo/train_tag.txt --model-folder DIR --out runs/rerank-zh

DIR is a model folder holding the retrieval index and tags.json built on all of TRAIN (as
`export.fusion --model-folder` writes them) and a config.json naming its language.

1. Cross-fitting on TRAIN: split it into `--folds` parts (at most `--max-heldout` posts in all, so
   English is subsampled); for each part, build the retrieval index and tag lexicon on every other
   training post and gather the held-out posts' candidates, exactly as the service does. Label = the
   candidate matches a gold tag (`inference.evaluation.metrics.match_key`). Dev is never used for training.
2. Logistic regression (scikit-learn, standardised features; C chosen by leave-one-fold-out ranking
   quality, the sum of the five headline metrics), folded back to raw-feature weights.
3. Write DIR/rerank.json; rank dev with `Suggester.from_folders([DIR])` (what `tagsmith predict
   --model DIR` produces) and, for comparison, retrieval alone and the folder's linear fusion.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

from export.baselines import METRICS, add_corpus_arguments, format_table, load_jsonl, read_tag_file, tokens_of, write_predictions
from export.fusion import build_sources, gather, unseen_rouge
from export.folder_manifest import write_manifest
from inference.evaluation.metrics import evaluate, match_key
from inference.runtime.retrieval import TagLexicon
from inference.runtime.rerank import FeatureContext, Reranker, Trees, add_crosses, featurize, feature_names

SOURCES = ["retrieval", "centroid", "extract", "overlap", "prior"]
# --crosses: products the linear model cannot form itself: a source's confidence matters more when the tag is
# also written in the text, or is a frequent training tag.
CROSSES = [
    ("retrieval:norm", "post_char_cover"), ("retrieval:norm", "thread_char_cover"), ("retrieval:norm", "log_train_count"),
    ("centroid:norm", "post_char_cover"), ("overlap:norm", "retrieval:norm"), ("retrieval:inv_rank", "n_sources"),
    ("extract:has", "log_train_count"), ("post_chars", "log_train_count"),
]
C_GRID = (0.01, 0.1, 1.0, 10.0)
GBM = dict(max_iter=400, learning_rate=0.05, max_leaf_nodes=31, l2_regularization=1.0, random_state=0)


def labelled(candidates: list[dict], pairs, gold: list[list[str]], context: FeatureContext, sources, pool: int,
             crosses=()):
    """Per query: (words of each candidate, features (C, F), labels (C,))."""
    out = []
    for cands, (post, thread), tags in zip(candidates, pairs, gold):
        _, entries, features = featurize(cands, post, thread, sources, context, pool)
        features = add_crosses(features, sources, crosses)
        gold_keys = {match_key(t) for t in tags}
        labels = np.array([match_key(e["words"]) in gold_keys for e in entries], dtype=np.int8)
        out.append(([e["words"] for e in entries], features, labels))
    return out


def fit_logistic(queries: list, c: float) -> tuple[np.ndarray, float]:
    """Standardised logistic regression, returned as weights and bias over the raw features."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([q[1] for q in queries]).astype(np.float64)
    y = np.concatenate([q[2] for q in queries])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / std, y)
    w = model.coef_[0] / std
    return w, float(model.intercept_[0] - (model.coef_[0] * mean / std).sum())


def fit_trees(queries: list) -> Trees:
    """scikit-learn's HistGradientBoostingClassifier, copied into numpy arrays (checked to agree)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.concatenate([q[1] for q in queries]).astype(np.float64)
    y = np.concatenate([q[2] for q in queries])
    model = HistGradientBoostingClassifier(**GBM).fit(x, y)
    nodes = [predictors[0].nodes for predictors in model._predictors]  # one tree per iteration (binary)
    width = max(len(n) for n in nodes)
    arrays = {k: np.zeros((len(nodes), width), dtype=d) for k, d in
              (("feature", np.int64), ("threshold", np.float64), ("left", np.int64), ("right", np.int64),
               ("leaf", bool), ("value", np.float64))}
    arrays["leaf"][:] = True  # padding: leaves worth 0
    for t, n in enumerate(nodes):
        m = len(n)
        arrays["feature"][t, :m], arrays["threshold"][t, :m] = n["feature_idx"], n["num_threshold"]
        arrays["left"][t, :m], arrays["right"][t, :m] = n["left"], n["right"]
        arrays["leaf"][t, :m], arrays["value"][t, :m] = n["is_leaf"].astype(bool), n["value"]
    trees = Trees(**arrays, baseline=float(np.ravel(model._baseline_prediction)[0]))
    sample = x[:2000]
    if not np.allclose(trees.logits(sample), model.decision_function(sample), atol=1e-6):
        raise RuntimeError("numpy trees disagree with scikit-learn")
    return trees


def ranked_words(queries: list, weights: np.ndarray | None, bias: float, k: int, trees: Trees | None = None) -> list[list[str]]:
    out = []
    for words, features, _ in queries:
        if trees is not None:
            logits = trees.logits(features.astype(np.float64))
        else:
            logits = features.astype(np.float64) @ weights + bias
        out.append([words[i] for i in np.argsort(-logits, kind="stable")[:k]])
    return out


def suggester_predictions(folder: Path, dev: list[dict], k: int, fusion: dict | None = None) -> list[list[str]]:
    """Dev predictions exactly as `tagsmith predict --model folder` makes them (fusion: linear override)."""
    from inference.evaluation.predict import request_for
    from inference.runtime.suggester import Suggester

    suggester = Suggester.from_folders([folder], fusion=fusion)
    single = suggester.languages[0]
    out = []
    for start in range(0, len(dev), 64):
        batch = [request_for(r, k, single) for r in dev[start : start + 64]]
        out += [[s.words for s in result.suggestions] for result in suggester.suggest_batch(batch)]
    return out


def run(args: argparse.Namespace) -> dict:
    lang, k, n = args.lang, args.k, args.k + 5  # the service asks each source for k + 5 candidates
    train = [r for r in load_jsonl(args.train) if r.get("hashtags")]
    dev = load_jsonl(args.dev)
    gold_dev = [r.get("hashtags") or [] for r in dev]
    prior_lists = read_tag_file(args.prior) if args.prior else []
    train_pairs = tokens_of(train, lang)
    sources = SOURCES
    crosses = CROSSES if args.crosses else []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(args.model_folder)

    # 1. cross-fitted candidates on TRAIN
    order = list(range(len(train)))
    random.Random(args.seed).shuffle(order)
    per_fold = min(len(train) // args.folds, args.max_heldout // args.folds)
    folds = []
    t0 = time.time()
    for fold in range(args.folds):
        hold = order[fold * per_fold : (fold + 1) * per_fold]
        held = set(hold)
        fit = [i for i in order if i not in held]
        index, lexicon = build_sources([train[i] for i in fit], [train_pairs[i] for i in fit], prior_lists)
        context = FeatureContext.from_sources(index, lexicon)
        pairs = [train_pairs[i] for i in hold]
        candidates = gather(index, lexicon, pairs, max(n, args.source_limit))
        folds.append(labelled(candidates, pairs, [train[i]["hashtags"] for i in hold], context, sources, args.pool, crosses))
        print(f"fold {fold + 1}/{args.folds}: {len(hold)} held-out posts, index on {len(fit)}, "
              f"{sum(len(q[0]) for q in folds[-1])} candidates ({time.time() - t0:.0f}s)", flush=True)
    all_queries = [q for f in folds for q in f]
    positives = sum(int(q[2].sum()) for q in all_queries)
    gold_total = sum(len(train[i]["hashtags"]) for i in order[: per_fold * args.folds])
    print(f"candidate recall on held-out train: {positives}/{gold_total} gold tags in the pools", flush=True)

    # 2. model (logistic with C, or boosted trees) by leave-one-fold-out ranking quality
    gold = [train[i]["hashtags"] for f in range(len(folds)) for i in order[f * per_fold : (f + 1) * per_fold]]

    def held_out(fit_and_rank, label: str) -> float:
        preds = []
        for f in range(len(folds)):
            preds += fit_and_rank([q for g, fq in enumerate(folds) if g != f for q in fq], folds[f])
        figures = evaluate(gold, preds, lang)
        obj = sum(figures[m] for m in METRICS)
        print(f"  {label}: held-out train " + "  ".join(f"{m} {figures[m]:.2f}" for m in METRICS) + f"  sum {obj:.2f}", flush=True)
        return obj

    choices = {}
    if args.model in ("auto", "logistic"):
        for c in C_GRID:
            choices[f"logistic C {c:g}"] = held_out(lambda rest, test, c=c: ranked_words(test, *fit_logistic(rest, c), k), f"logistic C {c:g}")
    if args.model in ("auto", "trees"):
        choices["trees"] = held_out(lambda rest, test: ranked_words(test, None, 0.0, k, fit_trees(rest)), "boosted trees")
    kept = max(choices, key=choices.get)
    meta = {"trained_on": f"{len(all_queries)} cross-fitted held-out posts of {args.train} ({args.folds} folds)",
            "chosen": f"{kept} (held-out train sum of the five metrics {choices[kept]:.2f})"}
    if kept == "trees":
        trees = fit_trees(all_queries)
        reranker = Reranker(sources, np.zeros(0), 0.0, args.pool, {**meta, "gbm": GBM}, crosses, trees, args.source_limit)
        print(f"kept boosted trees ({trees.feature.shape[0]} trees)", flush=True)
    else:
        c = float(kept.split()[-1])
        weights, bias = fit_logistic(all_queries, c)
        names = feature_names(sources, crosses)
        top = sorted(zip(names, weights), key=lambda kv: -abs(kv[1]))[:12]
        print(f"kept {kept}; largest raw-feature weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in top), flush=True)
        reranker = Reranker(sources, weights, bias, args.pool, {**meta, "C": c}, crosses, source_limit=args.source_limit)

    # 3. write rerank.json, score dev through the Suggester
    reranker.save(folder)
    systems = {
        "retrieval alone": {"weights": {"retrieval": 1.0}, "norms": {}},
        "linear fusion (fusion.json)": json.loads((folder / "fusion.json").read_text(encoding="utf-8"))
        if (folder / "fusion.json").exists() else None,
        "reranked (rerank.json)": None,
    }
    rows, unseen = [], []
    for name, fusion in systems.items():
        if name.startswith("linear") and fusion is None:
            continue
        t1 = time.time()
        predictions = suggester_predictions(folder, dev, k, fusion)
        write_predictions(out / (name.split(" ")[0] + ".txt"), predictions)
        rows.append((name, evaluate(gold_dev, predictions, lang)))
        unseen.append((name, *unseen_rouge(gold_dev, predictions, TagLexicon.load(folder), lang)))
        print(f"{name}: dev ranked in {time.time() - t1:.0f}s", flush=True)
    table = format_table(rows)
    print(table)
    for name, count, rouge in unseen:  # the paper's Table 5 setting
        print(f"unseen-tag dev posts ({count}): {name:28s} RG-1 {rouge:.2f}")
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")
    summary = {name: {m: figures[m] for m in METRICS} for name, figures in rows}
    data = reranker.to_json()
    data["dev"] = summary["reranked (rerank.json)"]
    (folder / "rerank.json").write_text(json.dumps(data, ensure_ascii=False, indent=None if reranker.trees else 1), encoding="utf-8")
    write_manifest(folder)  # the folder's files changed: its manifest lists them again
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"wrote {folder / 'rerank.json'}")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_arguments(parser)
    parser.add_argument("--model-folder", required=True, help="folder with retrieval index + tags.json on all of TRAIN")
    parser.add_argument("--out", required=True)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-heldout", type=int, default=3300, help="at most this many held-out TRAIN posts in all")
    parser.add_argument("--model", choices=["auto", "logistic", "trees"], default="auto",
                        help="auto: whichever ranks held-out train better (leave one fold out)")
    parser.add_argument("--crosses", action="store_true", help="add the hand-picked feature products (CROSSES)")
    parser.add_argument("--pool", type=int, default=40, help="each source's top candidates entering the pool")
    parser.add_argument("--source-limit", type=int, default=0, help="candidates asked of centroid, overlap and prior "
                        "(0: k + 5, as the service asks without a reranker); stored in rerank.json, used when serving")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    run(args)


if __name__ == "__main__":
    main()
