"""`python -m export.train_image coherence`: each bank tag's visual coherence and the threshold a photo needs, into image.json.

A photo unlike every bank photo borrows its neighbours' tags from photos that merely look alike; that is
right for a tag the bank's photos share because of what they show (#cat, #beach, Corel's words) and wrong
for one they share because of where or by whom they were posted (#NYC, #TCOT on photos of one storm or one
feed). Read on the bank itself, without dev or any panel:

- near_similarity: the --near-quantile (0.25) quantile of the nearest-neighbour similarity of held-out
  bank photos (5 folds, the served weighted similarity, `grounding.heldout_top1`): a photo whose nearest
  neighbour is at least this close is like three in four of the bank's own photos (the Corel protocol's
  case); scene_similarity, the median: a neighbour this close shows the same scene or set of photos.
- coherence (one number per tag): every bank photo is matched, as the served kNN does (k, temperature,
  fusion.min_similarity), against the bank without itself, without its neighbours of the same scene
  (>= scene_similarity) and without the photos that share one of its event tags (grounding.event_tags: photos of the same event
  look alike because they are the same story); coherence = the share of the votes for the tag that land on
  a photo carrying it, votes / (votes + 1) shrunk towards 0 for a tag with few votes.
- min_coherence: the threshold maximising the held-out micro-F1 of these far votes' top-5 tags, the
  coherence read on one half of the bank and the threshold scored on the other (both ways, averaged).

Serving (`inference.runtime.image_scoring.grounded_tags`): a photo takes a coherent bank tag as before; any
other bank tag only when it is like the bank (a neighbour other than an event photo at least
near_similarity close) and not voted for by event photos alone. Then the folder's manifest is rewritten
(export.folder_manifest).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from export.folder_manifest import write_manifest
from export.train_image.grounding import heldout_top1
from inference.runtime.image_scoring import ImageFusion, KnnBank, space_weights

log = logging.getLogger("export.train_image")
TOP = 5  # tags per photo in the threshold's held-out F1 (the Corel protocol's 5)


def served_banks(knn: KnnBank, fusion: ImageFusion) -> tuple[list[np.ndarray], list[float]]:
    """The bank vectors of the spaces the served kNN votes in, with their weights."""
    pairs = [(knn.spaces[s][2], w) for s, w in space_weights(fusion).items() if w and s in knn.spaces]
    return [b for b, _ in pairs], [w for _, w in pairs]


def far_votes(banks: list[np.ndarray], weights: list[float], labels: np.ndarray, events: np.ndarray, scene: float,
              fusion: ImageFusion, chunk: int = 512) -> np.ndarray:
    """[N,V] per bank photo the served kNN votes of the other bank photos that are neither of its scene (>= scene)
    nor from one of its events (events [N,E] 0/1: the photo's event tags)."""
    n = len(labels)
    votes = np.zeros(labels.shape, dtype=np.float32)
    k = min(fusion.knn_k, n - 1)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        sims = sum(w * (b[rows] @ b.T) for b, w in zip(banks, weights))
        sims[np.arange(len(rows)), rows] = -np.inf
        sims[sims >= scene] = -np.inf
        sims[(events[rows] @ events.T) > 0] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        finite = np.isfinite(top_sims)
        shifted = np.where(finite, top_sims - np.max(np.where(finite, top_sims, -1e9), axis=1, keepdims=True), -np.inf)
        w = np.exp(shifted / fusion.knn_temperature)
        w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
        if fusion.min_similarity is not None:
            w = w * (top_sims >= fusion.min_similarity)
        for j in range(k):
            votes[rows] += w[:, j, None] * labels[top[:, j]]
    return votes


def coherence(votes: np.ndarray, labels: np.ndarray, prior: float = 1.0) -> np.ndarray:
    """[V]: the share of the votes for each tag that land on a photo carrying it, with `prior` votes of
    shrinkage (a tag few photos vote for is not known to be coherent)."""
    return (votes * labels).sum(axis=0) / (votes.sum(axis=0) + prior)


def micro_f1(votes: np.ndarray, labels: np.ndarray, keep: np.ndarray, top: int = TOP) -> float:
    """Micro-F1 of each photo's `top` best voted tags among the kept ones (votes > 0)."""
    v = np.where(keep[None, :], votes, 0.0)
    best = np.argsort(-v, axis=1)[:, :top]
    picked = np.take_along_axis(v, best, axis=1) > 0
    hits = (np.take_along_axis(labels, best, axis=1) > 0) & picked
    p = hits.sum() / max(picked.sum(), 1)
    r = hits.sum() / max((labels > 0).sum(), 1)
    return float(2 * p * r / (p + r)) if p + r else 0.0


def choose_min_coherence(votes: np.ndarray, labels: np.ndarray, grid: np.ndarray, seed: int = 0) -> tuple[float, dict]:
    """The threshold maximising the held-out micro-F1, the coherence read on the other half; ({c: F1})."""
    half = np.random.default_rng(seed).permutation(len(labels)) % 2 == 0
    table = {}
    for c in grid:
        f1 = [micro_f1(votes[~a], labels[~a], coherence(votes[a], labels[a]) >= c) for a in (half, ~half)]
        table[round(float(c), 3)] = round(float(np.mean(f1)) * 100, 2)
    best = max(table, key=lambda c: (table[c], -c))
    return best, table


def cmd_coherence(args) -> None:
    folder = Path(args.model)
    config = json.loads((folder / "image.json").read_text(encoding="utf-8"))
    fusion = ImageFusion(**config["fusion"])
    tags = config["tags"]
    knn = KnnBank.load(folder / "knn.npz", len(tags), fusion)
    banks, weights = served_banks(knn, fusion)
    top1 = heldout_top1(banks, weights, args.folds)
    near = round(float(np.quantile(top1, args.near_quantile)), 4)
    scene = round(float(np.median(top1)), 4)
    event_words = set(config.get("grounding", {}).get("event_tags", []))
    events = knn.labels[:, [i for i, t in enumerate(tags) if t in event_words]]
    votes = far_votes(banks, weights, knn.labels, events, scene, fusion)
    coh = coherence(votes, knn.labels)
    threshold, table = choose_min_coherence(votes, knn.labels, np.arange(0.0, 0.61, 0.02))
    config.setdefault("grounding", {})
    config["grounding"]["coherence"] = {
        "near_similarity": near, "scene_similarity": scene, "min_coherence": threshold, "tags": [round(float(c), 4) for c in coh],
        "how": f"python -m export.train_image coherence: near_similarity = quantile {args.near_quantile} of the held-out "
               f"nearest-neighbour similarity ({args.folds} folds); coherence = share of the far votes for a tag (neighbours below "
               f"scene_similarity, the median, "
               f"not of the photo's events) that land on a photo carrying it, votes/(votes+1); min_coherence = the "
               f"threshold with the best held-out micro-F1 of the far votes' top-{TOP} (halves of the bank)",
        "heldout_f1": table,
    }
    (folder / "image.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    write_manifest(folder)
    coherent = [t for t, c in zip(tags, coh) if c >= threshold]
    log.info("near_similarity %.4f, min_coherence %.2f (held-out micro-F1 %s): %d of %d tags coherent", near, threshold,
             table[threshold], len(coherent), len(tags))
