"""Fuse candidate hashtags from several sources into one ranked list.

Sources (generator beams, retrieval votes, known hashtags found in the text, a popularity prior…)
score on different scales, so each source's scores are first normalised per query, then combined
by a weighted sum. Tags equal ignoring spaces and case are one candidate. Torch-free; the weights
live in the model folder's `fusion.json` (written by `export/fusion.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inference.text.tags import tag_key

FUSION_JSON = "fusion.json"

# Words that are never a hashtag alone (#After, #That), per language: the English lexicon holds them
# because someone once tagged them, and its extract/overlap sources propose every known tag written in
# the post. Tags of several words keep them ("in the city"). Content words that look like stop words
# (#Me, #Fire, #Show, #Us, #Top) are real tags and stay allowed. On the English dev split, filtering
# these from the shipped model's lists moves F1@5 by -0.01 and leaves the other four figures as they
# were (docs/results.md).
FUNCTION_WORDS = {
    "en": frozenset("""
        a an the and or but nor so yet if then than because as of in on at to for from by with about into
        onto over under after before again always never now just also very too still already here there
        where when what which who whom whose why how that this these those is am are was were be been
        being do does did have has had will would shall should can could may might must it its i you he
        she we they him her them his their our your mine not no up down out off around through during
        while until since against between among without within upon such some any each every all both
        either neither other another more most much many few less own same only even ever really
        together everything something anything nothing everyone someone anyone
    """.split()),
}


@dataclass(frozen=True)
class Ranked:
    words: str  # the hashtag as words separated by spaces
    score: float  # in [0, 1]
    source: str  # the source contributing most to the score


def normalise(scores: list[tuple[str, float]], method: str = "max") -> list[tuple[str, float]]:
    """Map one source's scores for one query into [0, 1].

    max:  score / best score (scores must be >= 0; generator log-probs use "softmax")
    softmax: exp(score - best), i.e. probabilities relative to the best (log-prob beams)
    rank: 1 / (1 + rank)
    raw: the scores themselves, clipped to [0, 1] (a source whose scores are already calibrated
         confidences, as the image tagger's: a photo that is unsure of its best tag stays unsure)
    """
    if not scores:
        return []
    if method == "raw":
        return [(t, min(1.0, max(0.0, float(s)))) for t, s in scores]
    if method == "rank":
        return [(t, 1.0 / (1 + i)) for i, (t, _) in enumerate(scores)]
    if method == "softmax":
        best = max(s for _, s in scores)
        return [(t, math.exp(s - best)) for t, s in scores]  # the best scores 1
    best = max(s for _, s in scores)
    if best <= 0:
        return [(t, 0.0) for t, _ in scores]
    return [(t, max(0.0, s) / best) for t, s in scores]


def rank(
    candidates: dict[str, list[tuple[str, float]]],
    weights: dict,
    k: int,
    exclude: set[str] | frozenset[str] | tuple = (),
    blocklist: set[str] | frozenset[str] | tuple = (),
    norms: dict[str, str] | None = None,
) -> list[Ranked]:
    """Top-k fused hashtags.

    candidates: source name -> [(tag words, raw score)], any order.
    weights: source name -> weight (sources without a weight are ignored); weights may also be a
        fusion config dict with "weights" and "norms" keys, as stored in fusion.json.
    exclude: tags to drop (already on the post); blocklist: tags never to suggest.
    norms: source name -> normalisation method (see `normalise`), default "max".
    """
    if "weights" in weights and isinstance(weights["weights"], dict):
        norms = norms or weights.get("norms")
        weights = weights["weights"]
    norms = norms or {}
    dropped = {tag_key(t) for t in exclude} | {tag_key(t) for t in blocklist}
    total_weight = sum(max(0.0, float(w)) for s, w in weights.items() if s in candidates) or 1.0

    fused: dict[str, dict] = {}  # key -> {"words", "score", "parts": {source: contribution}}
    for source, scored in candidates.items():
        weight = max(0.0, float(weights.get(source, 0.0)))
        if weight == 0.0 or not scored:
            continue
        best_per_key: dict[str, tuple[str, float]] = {}
        for words, value in normalise(list(scored), norms.get(source, "max")):
            words = " ".join(words.split())
            key = tag_key(words)
            if not key or key in dropped:
                continue
            if key not in best_per_key or value > best_per_key[key][1]:
                best_per_key[key] = (words, value)
        for key, (words, value) in best_per_key.items():
            entry = fused.setdefault(key, {"words": words, "score": 0.0, "parts": {}, "first": len(fused)})
            contribution = weight * value / total_weight
            entry["score"] += contribution
            entry["parts"][source] = contribution
            # Keep the spelling of the source contributing most (usually the best segmented one).
            if contribution >= max(entry["parts"].values()):
                entry["words"] = words
    ordered = sorted(fused.values(), key=lambda e: (-e["score"], e["first"]))[:k]
    return [
        Ranked(e["words"], min(1.0, max(0.0, e["score"])), max(e["parts"].items(), key=lambda kv: kv[1])[0])
        for e in ordered
    ]


def keep_image_share(
    fused: list[Ranked], image: list[tuple[str, float]], k: int, share: float,
    exclude: set[str] | frozenset[str] | tuple = (), blocklist: set[str] | frozenset[str] | tuple = (),
) -> list[Ranked]:
    """Top-k of `fused` (every fused candidate, best first) in which round(k x share) places go to the
    photo's own best tags: those missing take the last places, best fused score first. A caption
    with little to say ("morning walk") otherwise fills every place with its text neighbours' tags,
    however clear the photo; a caption that names the photo's content already holds its share."""
    slots = int(k * share + 0.5)
    top = fused[:k]
    own = {tag_key(r.words) for r in rank({"image": image}, {"image": 1.0}, k, exclude, blocklist)}
    missing = slots - sum(1 for r in top if tag_key(r.words) in own)
    if missing <= 0:
        return top
    extra = [r for r in fused[k:] if tag_key(r.words) in own][:missing]
    others = [i for i, r in enumerate(top) if tag_key(r.words) not in own]
    give_way = set(others[len(others) - len(extra):]) if extra else set()  # the lowest of the others
    return [r for i, r in enumerate(top) if i not in give_way] + extra


def text_first(fused: list[Ranked], text: dict[str, list[tuple[str, float]]]) -> list[Ranked]:
    """`fused` (a photo's tags fused with its text's candidates) with the text's candidates first, in
    their fused order: the photo re-weights the tags its text proposes, and its own other tags follow
    (`keep_image_share` still gives them their places)."""
    keys = {tag_key(words) for scored in text.values() for words, _ in scored}
    return [r for r in fused if tag_key(r.words) in keys] + [r for r in fused if tag_key(r.words) not in keys]
