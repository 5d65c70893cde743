"""Nearest tags of a post: cosine search over a tag vocabulary embedded by the sentence encoder."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np


class TagIndexError(ValueError):
    """A tag_index.npz file is missing or malformed."""


class TagIndex:
    """Unit vectors of tags (float16 on disk, float32 in memory), their words and counts."""

    def __init__(self, vectors: np.ndarray, tags: list[str], counts: np.ndarray, path: Path | None = None):
        if vectors.ndim != 2 or len(vectors) != len(tags) or len(tags) != len(counts):
            raise TagIndexError(f"tag index shapes disagree: vectors {vectors.shape}, {len(tags)} tags")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.tags = list(tags)
        self.counts = np.asarray(counts)
        self.path = path  # the file it was read from, if any (names derived arrays in the cache)

    @classmethod
    def load(cls, path: Path | str) -> "TagIndex":
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["vectors"], [str(t) for t in data["tags"]], data["counts"], Path(path))
        except (OSError, KeyError, ValueError) as exc:
            raise TagIndexError(f"cannot read tag index {path}: {exc}") from exc

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @cached_property
    def columns(self) -> np.ndarray:
        """The vectors transposed [D, V], contiguous: a query's product with every tag reads them row
        by row, about twice as fast on one core as q @ vectors.T (a second copy in memory)."""
        return np.ascontiguousarray(self.vectors.T)

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """For each query row, the k tags of highest cosine (rows are unit vectors), best first."""
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if queries.shape[1] != self.dim:
            raise TagIndexError(f"query dimension {queries.shape[1]} != index dimension {self.dim}")
        k = min(k, len(self.tags))
        if k <= 0:
            return [[] for _ in queries]
        scores = queries @ self.vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        results = []
        for row, candidates in zip(scores, top):
            best = candidates[np.argsort(-row[candidates], kind="stable")]
            results.append([(self.tags[i], float(row[i])) for i in best])
        return results
