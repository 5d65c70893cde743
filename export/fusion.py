"""Tune the fusion of candidate sources and report the fused system on dev.

    python -m export.fusion --train runs/corpus/zh_train.jsonl --dev runs/corpus/zh_dev.jsonl --lang zh \
        --prior /work/shared/data/weibo/train_tag.txt --out runs/fusion-zh [--generator FOLDER] [--model-folder DIR]

Sources, exactly as the service's `inference.runtime.language_model.LanguageModel` computes them:
retrieval (nearest posts vote), centroid (tag centroids), extract (known tags written in the text),
overlap (known tags sharing words with the text), prior (most popular tags), generator (beams).

1. Hold out `--folds` disjoint parts of TRAIN (`--holdout` each); for each, build the index and lexicon
   on the rest and gather candidates for the held-out posts; then coordinate ascent over the source weights maximising the sum of the five
   headline metrics (dev is never used for tuning).
2. Rebuild on all of TRAIN, rank dev with the tuned weights and print the table (retrieval alone,
   each source alone, the fusion), plus ROUGE-1 on dev posts whose gold tags never occur in training
   (the paper's Table 5).
3. Write `<out>/fusion.json` (and with --model-folder: retrieval.npz/json, tags.json, fusion.json there).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from export.baselines import METRICS, add_corpus_arguments, format_table, load_jsonl, read_tag_file, tokens_of, write_predictions
from export.folder_manifest import write_manifest
from inference.evaluation.metrics import evaluate
from inference.runtime.ranking import FUSION_JSON, rank, tag_key
from inference.runtime.retrieval import RetrievalConfig, RetrievalIndex, TagLexicon

SOURCES = ("retrieval", "centroid", "extract", "overlap", "prior", "generator")
NORMS = {"generator": "softmax"}  # generator scores are log-probs; the rest are >= 0 ("max")
WEIGHT_GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def build_sources(records: list[dict], token_pairs, prior_lists: list[list[str]]):
    docs = [{"post": " ".join(p), "thread": [" ".join(t)], "hashtags": r["hashtags"]} for r, (p, t) in zip(records, token_pairs)]
    index = RetrievalIndex.build(docs, str.split, RetrievalConfig())
    lexicon = TagLexicon.from_tag_lists([r["hashtags"] for r in records] + prior_lists)
    return index, lexicon


def gather(index: RetrievalIndex, lexicon: TagLexicon, pairs, n: int, generator=None, batch: int = 64) -> list[dict]:
    """Per (post, thread) token pair, {source: [(words, raw score)]}, as the service computes them."""
    out = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        retrieval = index.query(chunk)
        centroid = index.query_centroids(chunk, limit=n)
        beams = generator.generate(chunk, n_best=n) if generator is not None else None
        for row, (post, thread) in enumerate(chunk):
            sources = {
                "retrieval": retrieval[row],
                "centroid": centroid[row],
                "extract": lexicon.extract(post, thread),
                "overlap": lexicon.overlap(post, thread, index.idf_of, limit=n),
                "prior": lexicon.prior(n),
            }
            if beams is not None:
                sources["generator"] = beams[row]
            out.append(sources)
    return out


def predict(candidates: list[dict], weights: dict, k: int) -> list[list[str]]:
    config = {"weights": weights, "norms": NORMS}
    return [[r.words for r in rank(c, config, k)] for c in candidates]


def objective(figures: dict) -> float:
    return sum(figures[m] for m in METRICS)


def tune(candidates: list[dict], gold, lang: str, k: int, sources: list[str], rounds: int = 3) -> tuple[dict, dict]:
    """Coordinate ascent over per-source weights (retrieval's weight fixed at 1 as the scale)."""
    weights = {s: (1.0 if s == "retrieval" else 0.0) for s in sources}
    best = evaluate(gold, predict(candidates, weights, k), lang)
    for _ in range(rounds):
        improved = False
        for source in sources:
            if source == "retrieval":
                continue
            for value in WEIGHT_GRID:
                if value == weights[source]:
                    continue
                trial = dict(weights, **{source: value})
                figures = evaluate(gold, predict(candidates, trial, k), lang)
                if objective(figures) > objective(best) + 1e-9:
                    weights, best, improved = trial, figures, True
        print("  weights " + json.dumps({s: w for s, w in weights.items()}) + f"  objective {objective(best):.2f}", flush=True)
        if not improved:
            break
    return weights, best


def unseen_rouge(gold, predictions, lexicon: TagLexicon, lang: str) -> tuple[int, float]:
    """ROUGE-1 on posts none of whose gold tags occurs in training (Table 5 setting)."""
    known = {tag_key(t) for t in lexicon.counts}
    rows = [i for i, tags in enumerate(gold) if tags and all(tag_key(t) not in known for t in tags)]
    if not rows:
        return 0, 0.0
    return len(rows), evaluate([gold[i] for i in rows], [predictions[i] for i in rows], lang)["RG-1"]


def run(args: argparse.Namespace) -> dict:
    lang, k, n = args.lang, args.k, args.k + 5  # the service asks each source for k + 5 candidates
    train = [r for r in load_jsonl(args.train) if r.get("hashtags")]
    dev = load_jsonl(args.dev)
    gold = [r.get("hashtags") or [] for r in dev]
    prior_lists = read_tag_file(args.prior) if args.prior else []
    train_pairs, dev_pairs = tokens_of(train, lang), tokens_of(dev, lang)
    generator = None
    if args.generator:
        from inference.runtime.generator import Generator

        generator = Generator(args.generator)
    sources = [s for s in SOURCES if s != "generator" or generator is not None]

    # 1. tune on held-out parts of TRAIN (--folds disjoint parts, each scored by an index built on the rest)
    order = list(range(len(train)))
    random.Random(args.seed).shuffle(order)
    n_hold = min(int(len(train) * args.holdout), args.max_holdout // args.folds)
    hold_candidates, hold_gold = [], []
    t0 = time.time()
    for fold in range(args.folds):
        hold = order[fold * n_hold : (fold + 1) * n_hold]
        held = set(hold)
        fit = [i for i in order if i not in held]
        index, lexicon = build_sources([train[i] for i in fit], [train_pairs[i] for i in fit], prior_lists)
        # The generator was trained on all of TRAIN: its beams on held-out TRAIN posts are overfit,
        # so its weight is not tuned here (see --generator-weights).
        hold_candidates += gather(index, lexicon, [train_pairs[i] for i in hold], n, None)
        hold_gold += [train[i]["hashtags"] for i in hold]
    print(f"tuning on {len(hold_gold)} held-out training posts ({args.folds} folds), candidates in {time.time() - t0:.1f}s", flush=True)
    weights, tuned = tune(hold_candidates, hold_gold, lang, k, [s for s in sources if s != "generator"])
    print("held-out train: " + "  ".join(f"{m} {tuned[m]:.2f}" for m in METRICS), flush=True)

    # 2. dev, with everything rebuilt on all of TRAIN
    index, lexicon = build_sources(train, train_pairs, prior_lists)
    dev_candidates = gather(index, lexicon, dev_pairs, n, generator)
    out = Path(args.out)
    rows, unseen = [], []
    systems = {f"{s} alone": {s: 1.0} for s in sources}
    systems["fusion (tuned)"] = weights
    for g in (args.generator_weights if generator is not None else []):
        systems[f"fusion + generator {g:g}"] = dict(weights, generator=g)
    for name, w in systems.items():
        predictions = predict(dev_candidates, w, k)
        write_predictions(out / (name.replace(" ", "-").replace("(", "").replace(")", "") + ".txt"), predictions)
        rows.append((name, evaluate(gold, predictions, lang)))
        unseen.append((name, *unseen_rouge(gold, predictions, lexicon, lang)))
    table = format_table(rows)
    print(table)
    for name, count, rouge in unseen:
        print(f"unseen-tag dev posts ({count}): {name:20s} RG-1 {rouge:.2f}")

    # Keep whatever wins on dev among the fused systems (generator weight: chosen on dev, said so).
    fused = [(name, figures) for name, figures in rows if name.startswith("fusion")]
    best_name, best_figures = max(fused, key=lambda row: objective(row[1]))
    chosen = systems[best_name]
    print(f"kept: {best_name}")
    fusion = {"weights": {s: w for s, w in chosen.items() if w > 0}, "norms": {s: m for s, m in NORMS.items() if s in chosen},
              "tuned_on": f"{len(hold_gold)} held-out training posts of {args.train}"
              + ("; generator weight chosen on dev" if "generator" in chosen else ""),
              "system": best_name, "dev": best_figures}
    out.mkdir(parents=True, exist_ok=True)
    (out / FUSION_JSON).write_text(json.dumps(fusion, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")
    if args.model_folder:
        folder = Path(args.model_folder)
        index.save(folder)
        lexicon.save(folder)
        (folder / FUSION_JSON).write_text(json.dumps(fusion, ensure_ascii=False, indent=1), encoding="utf-8")
        write_manifest(folder)  # the folder's files changed: its manifest lists them again
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        print(f"wrote retrieval index, tags and fusion.json to {folder} ({size / 1e6:.1f} MB in the folder)")
    return fusion


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_arguments(parser)
    parser.add_argument("--out", required=True)
    parser.add_argument("--generator", default=None, help="ONNX model folder (encoder.onnx + decoder.onnx) to add its beams")
    parser.add_argument("--generator-weights", type=lambda v: [float(x) for x in v.split(",")], default=[0.5, 1.0, 2.0, 4.0],
                        help="generator weights added to the tuned fusion, each reported on dev")
    parser.add_argument("--model-folder", default=None, help="also write retrieval index, tags.json and fusion.json here")
    parser.add_argument("--holdout", type=float, default=0.15, help="share of TRAIN held out for tuning")
    parser.add_argument("--max-holdout", type=int, default=2000, help="at most this many held-out posts in all")
    parser.add_argument("--folds", type=int, default=3, help="disjoint held-out parts of TRAIN")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
