"""Choose the grounding stage's weights and relevance floor on a dev split, and write them into a folder.

    python -m export.grounding --folder inference/models/en --dev runs/corpus/en_dev.jsonl \
        [--index runs/tag_index/en/tag_index.npz] [--head runs/tune_encoder/en/encoder_head.json] [--write]

1. The folder's model ranks every dev post as the service does (its fusion or learned reranker); the
   grounding stage adds phrases from the post and the vocabulary's nearest tags, and scores each
   candidate's relevance (cosine in the sentence encoder's space); the safety filter drops what it must.
2. The floor: filler is a tag that belongs to some other post. Pair every dev post with the gold tags
   of another post; the floor is the relevance that only `--false-accept` of those pairs reach. Printed
   beside it: the share of the post's own gold tags (and of its candidates) it removes.
3. The weights: a grid over (model, relevance, phrase), scored on the dev metrics of the top 10
   (filled to k, as `tagsmith predict` fills it), by the sum of F1@1, F1@5 and MAP@5. Of the configs
   within `--tolerance` (relative) of the best sum, the one leaning most on relevance (highest
   relevance weight / model weight) wins: dev gold tags come from the same old corpus as the model,
   so dev cannot reward grounding, only tell what it costs. The ungrounded ranking is printed beside.
4. --write: grounding.json (the folder's other settings, e.g. lexical_support, kept) into the folder, and
   tag_index.npz / the encoder head when they came from elsewhere.

The index is the folder's tag_index.npz unless --index names another; the encoder head (export/tune_encoder.py)
is --head's encoder_head.json, else the folder's own when it has one (as the service loads it); `--head none`
measures the untuned encoder.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from export.baselines import load_jsonl
from export.folder_manifest import write_manifest
from inference.evaluation.metrics import evaluate
from inference.runtime.encoder_head import HEAD_JSON, EncoderHead, TunedEncoder, encode_tags
from inference.runtime.grounding import GROUNDING_JSON, TAG_INDEX, Grounder, GroundingConfig, InvalidGrounding
from inference.runtime.language_model import LanguageModel
from inference.runtime.ranking import FUNCTION_WORDS
from inference.runtime.safety import SafetyFilter
from inference.runtime.sentence_encoder import REFERENCE, SentenceEncoder
from inference.runtime.strategies import usable
from inference.runtime.tag_index import TagIndex
from inference.text.preprocess import tokenize

ROOT = Path(__file__).resolve().parents[1]
GRID = {"model_weight": (0.5, 1.0, 2.0, 4.0, 8.0), "relevance_weight": (0.25, 0.5, 1.0), "phrase_weight": (0.0, 0.1, 0.3)}
BATCH = 64
K = 10


def model_lists(model: LanguageModel, records: list[dict], n: int) -> list[list]:
    """The model's own ranked list of each record, as the service ranks text-only requests."""
    out = []
    blocklist = FUNCTION_WORDS.get(model.lang, frozenset())
    for start in range(0, len(records), BATCH):
        batch = records[start:start + BATCH]
        pairs = [(tokenize(r["post"], model.lang), [t for m in r.get("thread") or [] for t in tokenize(m, model.lang)]) for r in batch]
        for cands, (post, thread) in zip(model.candidates(pairs, n), pairs):
            out.append(model.ranking.rank(cands, post, thread, n, (), blocklist))
    return out


def grounded_pools(grounder: Grounder, records: list[dict], ranked: list[list]) -> tuple[list[list[dict]], np.ndarray, np.ndarray]:
    """Per record: its candidates with model, relevance and phrase scores, safety applied; the
    records' context vectors [N, D] and their vocabulary cosine (mean, std) [N, 2]."""
    pools, vectors, all_stats = [], [], []
    for start in range(0, len(records), BATCH):
        batch, lists = records[start:start + BATCH], ranked[start:start + BATCH]
        posts, threads = [r["post"] for r in batch], [r.get("thread") or [] for r in batch]
        contexts = grounder.encode_contexts(posts, threads)
        vectors.append(contexts)
        all_stats.append(grounder.nearest(contexts)[0])
        for prepared in grounder.prepare(lists, posts, threads, contexts):
            pools.append([e for e in prepared.pool.values() if grounder.allowed(e, prepared)])
    return pools, np.concatenate(vectors), np.concatenate(all_stats)


def predictions(pools: list[list[dict]], records: list[dict], config: GroundingConfig, floor: float | None = None) -> list[list[str]]:
    weights = np.array([config.model_weight, config.relevance_weight, config.phrase_weight])
    out = []
    for pool, record in zip(pools, records):
        entries = [e for e in pool if floor is None or e["relevance"] >= floor]
        if not entries:
            out.append([])
            continue
        features = np.array([[e["model"], e["relevance"], e.get("phrase", 0.0)] for e in entries])
        order = np.argsort(-(features @ weights), kind="stable")
        ranked = [_as_ranked(entries[i]) for i in order]
        raw = " ".join([record["post"], *(record.get("thread") or [])])
        out.append([r.words for r in usable(ranked, raw, ())[:K]])
    return out


def _as_ranked(entry: dict):
    from inference.runtime.ranking import Ranked

    return Ranked(entry["words"], 0.0, entry["source"])


def calibrate_floor(grounder: Grounder, contexts: np.ndarray, stats: np.ndarray, pools: list[list[dict]],
                    gold: list[list[str]], false_accept: float) -> tuple[float, dict]:
    """The relevance that only `false_accept` of (post, another post's gold tag) pairs reach, and what
    it removes of the posts' own gold tags and of their candidates."""
    from inference.runtime.grounding import RELEVANCE_SCALE, embed_text

    tags = [t for tags in gold for t in tags]
    owner = np.array([i for i, tags in enumerate(gold) for _ in tags])
    vectors = encode_tags(grounder.encoder, [embed_text(t, grounder.lang) for t in tags])
    def relevance(rows):
        cos = np.einsum("nd,nd->n", vectors, contexts[rows])
        return (cos - stats[rows, 0]) / stats[rows, 1] / RELEVANCE_SCALE

    own = relevance(owner)
    shift = np.random.default_rng(0).integers(1, len(gold), size=len(owner))
    other = relevance((owner + shift) % len(gold))
    floor = round(float(np.quantile(other, 1 - false_accept)), 3)
    candidates = np.array([e["relevance"] for pool in pools for e in pool])
    return floor, {"own_gold_removed": round(float((own < floor).mean()), 3),
                   "candidates_removed": round(float((candidates < floor).mean()), 3),
                   "own_gold_median": round(float(np.median(own)), 3), "other_median": round(float(np.median(other)), 3)}


def load_grounder(folder: Path, lang: str, index: Path, head: str | None, safety: Path) -> tuple[Grounder, Path | None]:
    """The grounder the service would build for `folder`, with another index or head when given;
    and the head's encoder_head.json (None: the untuned encoder)."""
    if head:
        head_json = None if head == "none" else Path(head)
    else:
        head_json = folder / HEAD_JSON if (folder / HEAD_JSON).exists() else None
    encoder = SentenceEncoder.load(threads=1, kind=REFERENCE)
    tag_index = TagIndex.load(index)
    if head_json is not None:
        encoder = TunedEncoder(encoder, EncoderHead.read(head_json))
        tag_index = encoder.tag_index(tag_index)
    try:  # the folder's settings beyond the grid (lexical_support, pools) stay as they are
        config = GroundingConfig.load(folder)
    except InvalidGrounding:
        config = GroundingConfig()
    return Grounder(encoder, tag_index, config, lang, SafetyFilter.load(safety)), head_json


def write_folder(folder: Path, config: GroundingConfig, index: Path, head_json: Path | None) -> None:
    """grounding.json; the index and the head files when they are not the folder's own; the manifest."""
    (folder / GROUNDING_JSON).write_text(json.dumps(config.to_json(), indent=1) + "\n", encoding="utf-8")
    written = [GROUNDING_JSON]
    if index.resolve() != (folder / TAG_INDEX).resolve():
        shutil.copyfile(index, folder / TAG_INDEX)
        written.append(TAG_INDEX)
    if head_json is not None and head_json.resolve() != (folder / HEAD_JSON).resolve():
        weights = head_json.parent / EncoderHead.read(head_json).info["weights"]
        shutil.copyfile(weights, folder / weights.name)
        shutil.copyfile(head_json, folder / HEAD_JSON)
        written += [HEAD_JSON, weights.name]
    write_manifest(folder)  # the folder's files changed: its manifest lists them again
    print(f"wrote {', '.join(str(folder / name) for name in written)}")


def headline(metrics: dict) -> float:
    return metrics["F1@1"] + metrics["F1@5"] + metrics["MAP@5"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--index", help="tag_index.npz (python -m export.tag_index; default: the folder's)")
    parser.add_argument("--head", help="encoder_head.json (python -m export.tune_encoder; default: the folder's, "
                                       "if any; 'none': the untuned encoder)")
    parser.add_argument("--safety", default=str(ROOT / "inference" / "models" / "safety.json"))
    parser.add_argument("--false-accept", type=float, default=0.05, help="share of other posts' tags that clear the floor")
    parser.add_argument("--limit", type=int, default=None, help="use the first N dev records")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)

    folder = Path(args.folder)
    model = LanguageModel.load(folder, threads=1)
    records = [r for r in load_jsonl(args.dev) if r.get("hashtags")][: args.limit]
    gold = [r["hashtags"] for r in records]
    index = Path(args.index) if args.index else folder / TAG_INDEX
    grounder, head_json = load_grounder(folder, model.lang, index, args.head, Path(args.safety))
    print(f"encoder head: {head_json or 'none (untuned)'}")
    ranked = model_lists(model, records, grounder.config.model_pool)
    base = evaluate(gold, [[r.words for r in usable(lst, " ".join([rec["post"], *(rec.get("thread") or [])]), ())[:K]]
                           for lst, rec in zip(ranked, records)], model.lang)
    pools, contexts, stats = grounded_pools(grounder, records, ranked)
    floor, removed = calibrate_floor(grounder, contexts, stats, pools, gold, args.false_accept)
    print(f"{model.lang}: {len(records)} dev posts; floor {floor} (false accept {args.false_accept}): {json.dumps(removed)}")
    print("ungrounded: " + " ".join(f"{k} {base[k]:.2f}" for k in ("F1@1", "F1@5", "MAP@5", "RG-1")))
    results = []
    for values in itertools.product(*GRID.values()):
        config = replace(grounder.config, **dict(zip(GRID, values)), floor=floor)
        m = evaluate(gold, predictions(pools, records, config), model.lang)
        results.append((headline(m), values, m))
    results.sort(key=lambda r: -r[0])
    for score, values, m in results[:8]:
        print(f"{dict(zip(GRID, values))}: " + " ".join(f"{k} {m[k]:.2f}" for k in ("F1@1", "F1@5", "MAP@5", "RG-1")))
    near = [r for r in results if r[0] >= results[0][0] * (1 - args.tolerance)]
    chosen = max(near, key=lambda r: (r[1][1] / r[1][0], r[0]))
    best = replace(grounder.config, **dict(zip(GRID, chosen[1])), floor=floor)
    print(f"chosen (within {args.tolerance:.0%} of the best, leaning most on relevance): {dict(zip(GRID, chosen[1]))}: "
          + " ".join(f"{k} {chosen[2][k]:.2f}" for k in ("F1@1", "F1@5", "MAP@5", "RG-1")))
    floored = evaluate(gold, predictions(pools, records, best, floor), model.lang)
    print("best with the floor applied: " + " ".join(f"{k} {floored[k]:.2f}" for k in ("F1@1", "F1@5", "MAP@5", "RG-1")))
    if args.write:
        write_folder(folder, best, index, head_json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
