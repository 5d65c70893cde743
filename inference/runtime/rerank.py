"""A learned reranker over the candidate hashtags of every source (torch-free, sklearn-free).

The linear fusion (inference/runtime/ranking.py) weighs whole sources; the reranker scores each candidate
tag from features of that (post, tag) pair: every source's raw score, normalised score and rank,
how many sources propose it, whether the tag is written in the post or thread (as tokens and as
characters), its training and lexicon counts, its length. A logistic model or boosted trees (plain
arrays in the model folder's `rerank.json`, trained by `export/rerank.py` on cross-fitted TRAIN
candidates, evaluated here in numpy) map the features to P(tag is gold); the suggester ranks by it
when the file is present.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from inference.runtime.model_folder import verify_folder
from inference.runtime.ranking import Ranked, normalise
from inference.runtime.tree_graph import TreeSession
from inference.text.tags import tag_key

RERANK_JSON = "rerank.json"
NORMS = {"generator": "softmax"}  # as export/fusion.py: generator scores are log-probs
MISSING_RANK = 50  # rank given to a candidate a source did not propose
GLOBAL_FEATURES = (
    "n_sources", "log_train_count", "log_lexicon_count", "known",
    "n_words", "n_chars",
    "post_tokens", "thread_tokens", "post_chars", "thread_chars",
    "post_word_cover", "thread_word_cover", "post_char_cover", "thread_char_cover",
    "log_post_len", "log_thread_len",
)
PER_SOURCE = ("raw", "norm", "has", "inv_rank", "log_rank")


def feature_names(sources: Sequence[str], crosses: Sequence[Sequence[str]] = ()) -> list[str]:
    """The base features, then one product column per cross (a pair of base feature names)."""
    base = [f"{s}:{p}" for s in sources for p in PER_SOURCE] + list(GLOBAL_FEATURES)
    return base + [f"{a}*{b}" for a, b in crosses]


def add_crosses(features: np.ndarray, sources: Sequence[str], crosses: Sequence[Sequence[str]]) -> np.ndarray:
    """(C, F) base features -> (C, F + len(crosses)) with the hand-picked products appended."""
    if not crosses:
        return features
    names = feature_names(sources)
    extra = [features[:, names.index(a)] * features[:, names.index(b)] for a, b in crosses]
    return np.concatenate([features, np.stack(extra, axis=1)], axis=1)


@dataclass
class FeatureContext:
    """Folder-level lookups: tag key -> count among the retrieval index's posts / in the lexicon."""

    train_counts: dict[str, int] = field(default_factory=dict)
    lexicon_counts: dict[str, int] = field(default_factory=dict)

    def tag(self, words: str, key: str) -> tuple[list[str], tuple[float, ...]]:
        """A candidate's own parts: its lower-cased words and (log_train_count, log_lexicon_count,
        known, n_words, n_chars)."""
        lowered = words.lower().split()
        train, lexicon = self.train_counts.get(key, 0), self.lexicon_counts.get(key, 0)
        return lowered, (math.log1p(train), math.log1p(lexicon), 1.0 if lexicon or train else 0.0,
                         float(len(lowered)), float(len(key)))

    @classmethod
    def from_sources(cls, retrieval=None, lexicon=None) -> "FeatureContext":
        train: Counter = Counter()
        if retrieval is not None:
            keys = [tag_key(t) for t in retrieval.tags]  # once per distinct tag, not per post
            for ids in retrieval.doc_tags:
                for t in ids:
                    train[keys[t]] += 1
        lex: Counter = Counter()
        if lexicon is not None:
            for tag, count in lexicon.counts.items():
                lex[tag_key(tag)] += count
        return cls(dict(train), dict(lex))


@dataclass
class TextView:
    """A post and thread prepared once for every candidate's text features."""

    post: list[str]
    thread: list[str]
    post_set: set[str]
    thread_set: set[str]
    post_joined: str
    thread_joined: str
    post_chars: set[str] = field(default_factory=set)
    thread_chars: set[str] = field(default_factory=set)
    _runs: dict = field(default_factory=dict)  # (which text, n) -> its n-token runs as tuples

    def __post_init__(self) -> None:
        self.log_post_len, self.log_thread_len = math.log1p(len(self.post)), math.log1p(len(self.thread))

    @classmethod
    def of(cls, post: Sequence[str], thread: Sequence[str]) -> "TextView":
        p, t = [w.lower() for w in post], [w.lower() for w in thread]
        post_joined, thread_joined = "".join(p), "".join(t)
        return cls(p, t, set(p), set(t), post_joined, thread_joined, set(post_joined), set(thread_joined))

    def contains_run(self, in_thread: bool, run: list[str]) -> bool:
        """Whether `run` occurs as contiguous tokens of the post (or thread): a set lookup, the
        n-token runs of each text being built once per n (a pool has ~100 candidates)."""
        n = len(run)
        tokens = self.thread if in_thread else self.post
        if n == 0 or n > len(tokens):
            return False
        runs = self._runs.get((in_thread, n))
        if runs is None:
            runs = self._runs[(in_thread, n)] = {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
        return tuple(run) in runs


def pool_candidates(candidates: dict[str, list[tuple[str, float]]], sources: Sequence[str], pool: int) -> dict[str, dict]:
    """Merge each source's top `pool` candidates by tag key: key -> {"words", "by": {source: (raw, norm, rank)}}."""
    merged: dict[str, dict] = {}
    for source in sources:
        scored = list(candidates.get(source) or [])[:pool]
        if not scored:
            continue
        seen: set[str] = set()
        for rank_i, ((words, raw), (_, norm)) in enumerate(zip(scored, normalise(scored, NORMS.get(source, "max")))):
            words = " ".join(words.split())
            key = tag_key(words)
            if not key or key in seen:
                continue
            seen.add(key)
            entry = merged.setdefault(key, {"words": words, "by": {}, "best": -1.0})
            entry["by"][source] = (float(raw), float(norm), rank_i)
            if norm > entry["best"]:  # keep the spelling of the source most confident in it
                entry["words"], entry["best"] = words, norm
    return merged


_MISSING_SOURCE = (0.0, 0.0, 0.0, 0.0, math.log1p(MISSING_RANK))
_RANK_FEATURES = [(1.0, 1.0 / (1 + r), math.log1p(r)) for r in range(1000)]  # has, inv_rank, log_rank


def _rank_features(r: int) -> tuple[float, float, float]:
    return _RANK_FEATURES[r] if r < len(_RANK_FEATURES) else (1.0, 1.0 / (1 + r), math.log1p(r))


def candidate_features(entry: dict, key: str, sources: Sequence[str], view: TextView, context: FeatureContext) -> list[float]:
    row: list[float] = []
    by = entry["by"]
    for source in sources:
        found = by.get(source)
        if found is None:
            row.extend(_MISSING_SOURCE)
        else:
            raw, norm, r = found
            row.append(max(-50.0, min(50.0, raw)))
            row.append(norm)
            row.extend(_rank_features(r))
    words, own = context.tag(entry["words"], key)
    chars = set(key)
    n_words, n_chars = max(1, len(words)), max(1, len(chars))
    row.append(float(len(by)))
    row.extend(own)
    row += [
        1.0 if view.contains_run(False, words) else 0.0,
        1.0 if view.contains_run(True, words) else 0.0,
        1.0 if key in view.post_joined else 0.0,
        1.0 if key in view.thread_joined else 0.0,
        sum(map(view.post_set.__contains__, words)) / n_words,
        sum(map(view.thread_set.__contains__, words)) / n_words,
        len(chars & view.post_chars) / n_chars,
        len(chars & view.thread_chars) / n_chars,
        view.log_post_len,
        view.log_thread_len,
    ]
    return row


def featurize(candidates: dict, post: Sequence[str], thread: Sequence[str], sources: Sequence[str],
              context: FeatureContext, pool: int) -> tuple[list[str], list[dict], np.ndarray]:
    """One query's candidate pool: (keys, entries, features (C, F) float32)."""
    merged = pool_candidates(candidates, sources, pool)
    view = TextView.of(post, thread)
    keys = list(merged)
    rows = [candidate_features(merged[k], k, sources, view, context) for k in keys]
    features = np.asarray(rows, dtype=np.float32).reshape(len(keys), len(feature_names(sources)))
    return keys, [merged[k] for k in keys], features


def _max_depth(left: np.ndarray, right: np.ndarray, leaf: np.ndarray) -> int:
    """Edges on the longest root-to-leaf path of any tree (T, N arrays; node 0 is each root)."""
    deepest = 0
    for t in range(left.shape[0]):
        frontier, depth = [0], 0
        while True:
            children = [c for n in frontier if not leaf[t, n] for c in (left[t, n], right[t, n])]
            if not children:
                break
            frontier, depth = children, depth + 1
        deepest = max(deepest, depth)
    return deepest


@dataclass
class Trees:
    """Gradient-boosted regression trees in padded arrays (T trees x N nodes), evaluated in numpy.
    A node sends x to `left` when x[feature] <= threshold (scikit-learn's HistGradientBoosting rule)."""

    feature: np.ndarray  # (T, N) int
    threshold: np.ndarray  # (T, N) float
    left: np.ndarray  # (T, N) int
    right: np.ndarray  # (T, N) int
    leaf: np.ndarray  # (T, N) bool
    value: np.ndarray  # (T, N) float: a leaf's contribution to the logit
    baseline: float = 0.0

    def __post_init__(self) -> None:
        # Flat copies for evaluation: node g = tree * N + n; a leaf points to itself with an infinite
        # threshold, so every (tree, row) pair walks in lockstep for the ensemble's depth, with no
        # per-step leaf masks (identical results to walking each tree on its own).
        n_trees, n_nodes = self.feature.shape
        roots = (np.arange(n_trees) * n_nodes)[:, None]  # (T, 1)
        own = roots + np.arange(n_nodes)[None, :]  # (T, N)
        self._roots = roots.ravel()
        self._feature = np.where(self.leaf, 0, self.feature).ravel()
        self._threshold = np.where(self.leaf, np.inf, self.threshold).ravel()
        self._left = np.where(self.leaf, own, roots + self.left).ravel()
        self._right = np.where(self.leaf, own, roots + self.right).ravel()
        self._value = self.value.ravel()
        self._depth = _max_depth(self.left, self.right, self.leaf)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """(C, F) -> (C,) summed leaf values plus the baseline."""
        n_rows, n_features = features.shape
        if n_rows == 0:
            return np.zeros(0)
        x = np.ascontiguousarray(features).ravel()
        node = np.repeat(self._roots, n_rows)  # (T*C,) tree-major, every tree starts at its root
        row = np.tile(np.arange(n_rows) * n_features, len(self._roots))  # (T*C,) offset of the row in x
        for _ in range(self._depth):  # every path ends within the deepest tree's depth
            go_left = x[row + self._feature[node]] <= self._threshold[node]
            node = np.where(go_left, self._left[node], self._right[node])
        return self.baseline + self._value[node].reshape(len(self._roots), n_rows).sum(axis=0)

    def to_json(self) -> dict:
        return {"baseline": self.baseline, **{k: getattr(self, k).tolist() for k in
                ("feature", "threshold", "left", "right", "leaf", "value")}}

    @classmethod
    def from_json(cls, data: dict) -> "Trees":
        return cls(np.asarray(data["feature"], dtype=np.int64), np.asarray(data["threshold"], dtype=np.float64),
                   np.asarray(data["left"], dtype=np.int64), np.asarray(data["right"], dtype=np.int64),
                   np.asarray(data["leaf"], dtype=bool), np.asarray(data["value"], dtype=np.float64),
                   float(data.get("baseline", 0.0)))


@dataclass
class Reranker:
    """A logistic model over `feature_names(sources, crosses)`: P(gold) = sigmoid(features @ weights + bias)."""

    sources: list[str]
    weights: np.ndarray  # (F,)
    bias: float
    pool: int = 40  # each source's top candidates that enter the pool
    meta: dict = field(default_factory=dict)
    crosses: list = field(default_factory=list)  # [(feature a, feature b)]: products added as features
    trees: Trees | None = None  # when set: boosted trees instead of the logistic weights (weights unused)
    # candidates asked of the sources that take a limit (centroid, overlap, prior); 0: the service's
    # k + 5. Training and serving must use the same value: it shapes the rank features.
    source_limit: int = 0
    _tree_session: TreeSession | None = field(default=None, init=False, repr=False, compare=False)
    _source: Path | None = field(default=None, init=False, repr=False, compare=False)  # the rerank.json loaded

    def __post_init__(self) -> None:
        if self.source_limit < 0:
            raise ValueError(f"rerank source_limit must be >= 0, got {self.source_limit}")
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.crosses = [tuple(c) for c in self.crosses]
        expected = len(feature_names(self.sources, self.crosses))
        if self.trees is None and self.weights.shape != (expected,):
            raise ValueError(f"rerank model has {self.weights.shape} weights, its sources need {expected}")

    def score(self, features: np.ndarray) -> np.ndarray:
        if self.trees is not None:
            if self._tree_session is None:  # built once, when first needed (two racing threads: same graph)
                self._tree_session = TreeSession(self.trees, self._source)
            logits = self._tree_session.logits(features)
        else:
            logits = features.astype(np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))

    def rank(self, candidates: dict, post: Sequence[str], thread: Sequence[str], context: FeatureContext, k: int,
             exclude=(), blocklist=()) -> list[Ranked]:
        """Top-k candidates by P(gold); existing (`exclude`) and blocked tags dropped, as `ranking.rank`."""
        keys, entries, features = featurize(candidates, post, thread, self.sources, context, self.pool)
        if not keys:
            return []
        dropped = {tag_key(t) for t in exclude} | {tag_key(t) for t in blocklist}
        probs = self.score(add_crosses(features, self.sources, self.crosses))
        order = sorted((i for i, key in enumerate(keys) if key not in dropped), key=lambda i: (-probs[i], i))[:k]
        return [
            Ranked(entries[i]["words"], float(probs[i]), max(entries[i]["by"].items(), key=lambda kv: kv[1][1])[0])
            for i in order
        ]

    # -- persistence -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        data = {"model": "logistic" if self.trees is None else "trees", "sources": self.sources,
                "crosses": [list(c) for c in self.crosses], "features": feature_names(self.sources, self.crosses),
                "weights": [float(w) for w in self.weights], "bias": float(self.bias), "pool": self.pool, **self.meta}
        if self.source_limit:
            data["source_limit"] = self.source_limit
        if self.trees is not None:
            data["trees"] = self.trees.to_json()
        return data

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / RERANK_JSON
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, data: dict) -> "Reranker":
        sources, crosses = list(data["sources"]), [tuple(c) for c in data.get("crosses", [])]
        if data.get("features") and list(data["features"]) != feature_names(sources, crosses):
            raise ValueError("rerank.json was trained on other features than this code computes")
        own = {"model", "sources", "features", "weights", "bias", "pool", "crosses", "trees", "source_limit"}
        trees = Trees.from_json(data["trees"]) if data.get("model") == "trees" else None
        return cls(sources, np.asarray(data.get("weights", [])), float(data.get("bias", 0.0)), int(data.get("pool", 20)),
                   {k: v for k, v in data.items() if k not in own}, crosses, trees, int(data.get("source_limit", 0)))

    @classmethod
    def load(cls, folder: str | Path) -> "Reranker":
        verify_folder(folder)  # the folder's manifest: format and checksums
        reranker = cls.from_json(json.loads((Path(folder) / RERANK_JSON).read_text(encoding="utf-8")))
        reranker._source = Path(folder) / RERANK_JSON
        return reranker
