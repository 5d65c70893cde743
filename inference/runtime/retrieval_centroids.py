"""The retrieval index's tag centroids (`RetrievalIndex.query_centroids`), kept in the cache folder.

Each tag's centroid is the sum of its training posts' TF-IDF rows, L2-normalised; as a (V, T) CSR
matrix the query terms' rows are multiplied by their weights. Building it from the (N, V) index takes
about a second of CPU at every start (and its temporary matrices ~30 MB more RSS than the result);
an index loaded from a folder keeps the result in `$TAGSMITH_CACHE_DIR/derived`
(runtime/derived_cache.py: named by retrieval.npz and retrieval.json's sha256), the same arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

VERSION = 1  # of the cached matrix (bump when `unit_centroids` changes)


def unit_centroids(docs: sp.csr_matrix, doc_tags: list[list[int]], n_tags: int) -> sp.csr_matrix:
    """(V, T): column t is the unit centroid of the rows of `docs` whose tags include t."""
    rows = [d for d, ts in enumerate(doc_tags) for _ in ts]
    cols = [t for ts in doc_tags for t in ts]
    incidence = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(doc_tags), n_tags))
    centroids = (incidence.T @ docs).tocsr()  # (T, V)
    norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(axis=1)).ravel()) + 1e-9
    return sp.diags(1.0 / norms).dot(centroids).T.tocsr()  # (V, T)


def centroid_matrix(docs: sp.csr_matrix, doc_tags: list[list[int]], n_tags: int, files: list[Path] | None) -> sp.csr_matrix:
    """`unit_centroids`, read from the cache folder when `files` (the index's own) name it there."""
    if not files:
        return unit_centroids(docs, doc_tags, n_tags)
    from inference.runtime.derived_cache import cached_arrays

    def build() -> dict[str, np.ndarray]:
        m = unit_centroids(docs, doc_tags, n_tags)
        return {"data": m.data, "indices": m.indices, "indptr": m.indptr, "shape": np.array(m.shape, np.int64)}

    arrays = cached_arrays("centroids", VERSION, list(files), build)
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"].tolist()))


class TagIds:
    """Each training post's tag ids (`RetrievalIndex.doc_tags`) as the two int32 arrays the index file stores
    them in, read as a list of lists: a Python list a post held megabytes of the English index for good."""

    def __init__(self, offsets: np.ndarray, flat: np.ndarray):
        self.offsets, self.flat = offsets, flat  # (N + 1,) and (offsets[-1],): post i's ids are flat[offsets[i]:offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> list[int]:
        return self.flat[self.offsets[i]:self.offsets[i + 1]].tolist()

    def __iter__(self):
        return (self.flat[a:b].tolist() for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist()))


def top_positive(row: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the `limit` highest positive values, best first, ties by index: what a stable sort
    of the whole row gives, from a partition (only the values at or above the limit-th are sorted)."""
    positive = np.flatnonzero(row > 0)
    if len(positive) > limit > 0:
        cutoff = np.partition(row[positive], len(positive) - limit)[len(positive) - limit]
        positive = positive[row[positive] >= cutoff]
    return positive[np.argsort(-row[positive], kind="stable")[:max(limit, 0)]]
