"""How a language model's candidates become one ranked list: picked once, when the folder is loaded.

- `FusionRanking`: the weighted sum of normalised source scores (inference/runtime/ranking.py,
  fusion.json). Also ranks a photo's tags with its caption's (the image source joins the text ones).
- `RerankedRanking`: the learned reranker (inference/runtime/rerank.py, rerank.json) scores each
  candidate; the generator's beams join afterwards with the fusion's generator weight.

Both return every candidate they rank, best first; the suggester fills the data sets' placeholders
(`usable`) and cuts the list to k.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from inference.runtime.ranking import Ranked, rank
from inference.runtime.rerank import FeatureContext, Reranker
from inference.text.preprocess import fill_placeholders
from inference.text.tags import tag_key


@dataclass
class FusionRanking:
    fusion: dict  # {"weights": {source: w}, "norms": {source: method}}

    def rank(self, candidates: dict, post: list[str], thread: list[str], n: int, exclude, blocklist) -> list[Ranked]:
        return rank(candidates, self.fusion, n, exclude, blocklist)

    def with_weight(self, source: str, weight: float) -> "FusionRanking":
        """The same fusion with one more source (the image tagger's tags beside a caption's)."""
        return FusionRanking({**self.fusion, "weights": {**self.fusion.get("weights", {}), source: weight}})


@dataclass
class RerankedRanking:
    reranker: Reranker
    context: FeatureContext  # the folder-level lookups of its features
    fusion: dict  # for the generator's blend weight

    def rank(self, candidates: dict, post: list[str], thread: list[str], n: int, exclude, blocklist) -> list[Ranked]:
        ranked = self.reranker.rank(candidates, post, thread, self.context, n, exclude, blocklist)
        return blend_generator(ranked, candidates, self.fusion, n, exclude, blocklist)


def blend_generator(reranked: list[Ranked], candidates: dict, fusion: dict, k: int, exclude, blocklist) -> list[Ranked]:
    """Add the generator's beams to the reranker's list with the fusion's generator weight.

    The reranker learns from cross-fitted training posts, which the generator (trained on all of
    them) cannot provide without leaking, so its beams join afterwards: this is how hashtags never
    seen in training reach the list."""
    weight = fusion.get("weights", {}).get("generator", 0.0)
    if weight <= 0 or not candidates.get("generator"):
        return reranked[:k]
    sources = {r.words: r.source for r in reranked}
    norms = {"rerank": "max", "generator": fusion.get("norms", {}).get("generator", "softmax")}
    blended = rank(
        {"rerank": [(r.words, r.score) for r in reranked], "generator": candidates["generator"]},
        {"weights": {"rerank": 1.0, "generator": weight}, "norms": norms},
        k, exclude, blocklist,
    )
    return [replace(r, source=sources.get(r.words, r.source)) if r.source == "rerank" else r for r in blended]


def usable(ranked: list[Ranked], raw_text: str, exclude) -> list[Ranked]:
    """A ranked list with the data sets' placeholders filled from the request's text, or the tags that
    cannot be filled dropped (`fill_placeholders`); a filled tag equal to one above or to an existing
    one goes too. Applied to the ranked list, not to the candidates, so the others keep their order."""
    seen = {tag_key(t) for t in exclude}
    out = []
    for r in ranked:
        words = fill_placeholders(r.words, raw_text)
        if words is None or (words != r.words and tag_key(words) in seen):
            continue
        seen.add(tag_key(words))
        out.append(r if words == r.words else replace(r, words=words))
    return out
