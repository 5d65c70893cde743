"""The judged tag ranker: how likely a person writing the post would happily add this tag.

The grounding stage's weighted sum (inference/runtime/grounding.py `Grounder.score`) was tuned on the
data sets' gold tags, which are the authors' habits (#tbt, an account's own tag) more than what a post
is about. A folder's `tag_ranker.json` holds a logistic model over a candidate's features, fitted on
candidates that judges marked usable or not under everyday posts written for the purpose
(export/tag_ranker.py, its data under export/judged/); where it is present, an English list is sorted
by its probability:

    x = FEATURES(entry, text) [F]  ->  p = sigmoid(w . (x - mean) / scale + bias)

The file names its features; the runtime refuses one whose names differ from FEATURES (a folder built
for other code), whose arrays are of another length, or of another format version.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.text.names import content_overlap
from inference.text.phrases import rarity

TAG_RANKER = "tag_ranker.json"
FORMAT_VERSION = 1
MODEL_SOURCES = frozenset({"phrase", "vocab", "dense"})  # the grounding stage's own; any other is the model's
FEATURES = (
    "base",  # the weighted sum (Grounder.score), in [0, 1]
    "relevance", "model", "phrase", "dense", "name", "post_word",
    "from_phrase", "from_vocab", "from_dense", "from_model",
    "one_word", "three_words",  # the tag's length in words: 1, and 3 or more
    "log_count",  # log(1 + training posts that used the tag) / 10
    "in_post",  # the share of the tag's content words the post (+ thread) writes
    "rarity_min", "rarity_mean",  # of the tag's words (phrases.rarity: 0 the commonest web words, 1 rare)
    "one_word_phrase",  # a single word taken from the post: a topic (#Sourdough) or a fragment (#Lying)
    "one_common_word",  # a single word among the commonest (1 - rarity)
    "digit",  # the tag holds a number
    # how sure the model (the reranker, trained on the data sets' gold tags) is: its own score of the tag,
    # its best score for the post, and the model's and the relevance's weights as that grows (a post
    # like the training posts: trust the model; an everyday post: the encoder and the post's words)
    "model_p", "model_best", "model_conf", "relevance_conf",
    # the cosine of the post with the encoder's own vector of the tag as shown ("No Regrets"; no head tuned
    # on the data sets' gold tags maps it: what the post is about rather than those authors' habits), as it
    # is, standardised over the list's head (the candidates ranked together), and whether it is the highest
    "shown_cos", "shown_z", "shown_top",
)
HEAD_FEATURES = 2  # the last FEATURES, which `with_head` adds from the whole head


class InvalidTagRanker(ValueError):
    """tag_ranker.json is malformed, of another format version, or names other features."""


def features(entry: dict, text: str, base: float, tag_count: int, lang: str = "en") -> list[float]:
    """One candidate's FEATURES but the HEAD_FEATURES last (`with_head` adds them). entry: its pool entry
    (grounding.py `Grounder.candidates`, relevance filled); text: the post and thread; base: its weighted
    sum; tag_count: training posts that used it; lang: the folder's language (rarity reads English web
    counts: a Chinese word is rare to it)."""
    words = entry["words"].lower().split()
    source = entry["source"]
    found, total = content_overlap(entry["words"], text, lang)
    rare = [rarity(w) for w in words] or [0.0]
    one = len(words) == 1
    best = entry.get("model_best", 0.0)
    return [
        base, entry["relevance"], entry["model"], entry.get("phrase", 0.0), entry.get("dense", 0.0),
        entry.get("name", 0.0), entry.get("post_word", 0.0),
        float(source == "phrase"), float(source == "vocab"), float(source == "dense"), float(source not in MODEL_SOURCES),
        float(one), float(len(words) >= 3),
        math.log1p(tag_count) / 10,
        found / total if total else 0.0,
        min(rare), sum(rare) / len(rare),
        float(one and source == "phrase"), float(one) * (1.0 - rare[0]),
        float(any(c.isdigit() for c in entry["words"])),
        entry.get("model_p", 0.0), best, entry["model"] * best, entry["relevance"] * best,
        entry.get("shown_cos", entry.get("cos", 0.0)),
    ]


def with_head(rows: list[list[float]]) -> list[list[float]]:
    """The rows of `features` for the candidates ranked together, each completed with the features read
    against the whole head: its shown cosine standardised over theirs, and whether it is the highest."""
    if not rows:
        return []
    shown = np.asarray([row[-1] for row in rows])  # [N]
    z = (shown - shown.mean()) / (shown.std() + 1e-6)
    return [[*row, float(v), float(c == shown.max())] for row, v, c in zip(rows, z, shown)]


@dataclass(frozen=True)
class TagRanker:
    mean: np.ndarray  # [F]
    scale: np.ndarray  # [F]
    weights: np.ndarray  # [F]
    bias: float

    def probabilities(self, rows: list[list[float]]) -> np.ndarray:
        """P(usable) of each candidate's FEATURES row [N]."""
        if not rows:
            return np.zeros(0)
        z = ((np.asarray(rows, dtype=np.float64) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self, trained: dict) -> dict:
        return {"format_version": FORMAT_VERSION, "features": list(FEATURES), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "weights": self.weights.tolist(), "bias": self.bias, "trained": trained}

    @classmethod
    def load(cls, folder: Path) -> "TagRanker | None":
        """The folder's ranker, or None when it has no tag_ranker.json."""
        path = Path(folder) / TAG_RANKER
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise InvalidTagRanker(f"format_version must be {FORMAT_VERSION}")
            if data.get("features") != list(FEATURES):
                raise InvalidTagRanker("its features are not this runtime's (tag_ranker.FEATURES)")
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
            if any(a.shape != (len(FEATURES),) for a in arrays) or not np.all(arrays[1] > 0):
                raise InvalidTagRanker(f"mean, scale and weights must hold {len(FEATURES)} numbers, scale > 0")
            return cls(*arrays, float(data["bias"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidTagRanker(f"{path}: {exc}") from exc
