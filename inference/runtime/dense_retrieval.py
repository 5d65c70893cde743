"""Dense retrieval: the training posts nearest to a request in the sentence encoder's space vote their tags.

`dense_index.npz` (written by export/dense_index.py, read here with numpy alone):

    format_version  int, FORMAT_VERSION
    rows            [N, d] int8 (or float16): each training post's context vector, PCA-reduced and
                    L2-normalised, times 1 / scale
    scales          [N] float32: row i is rows[i] * scales[i]
    mean, components   [512], [512, d] float32: the PCA fitted on the training vectors; a request's
                    vector is (v - mean) @ components, L2-normalised (d = 512 with an identity: no PCA)
    tags            [T] str: the tag table (words space-separated)
    tag_offsets, tag_ids   [N + 1], [M] int32: post i's gold tags are tag_ids[tag_offsets[i]:tag_offsets[i + 1]]

`neighbours(contexts, n, min_cos)`: per request, its n nearest posts with cosine >= min_cos vote their
tags; a vote is the similarity-weighted share of those neighbours that carry the tag, in [0, 1]. A large int8
index is searched on its int8 rows first (inference/runtime/int8_scan.py: a quarter of the bytes, the same
posts), then only the rows that pass are scored on the float32 matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.runtime.int8_scan import Int8Scan

DENSE_INDEX = "dense_index.npz"
FORMAT_VERSION = 1
MATRIX_VERSION = 1  # of the dequantised matrix kept in the cache folder (bump when `dequantise` changes)
SCAN_MIN_ROWS = 16384  # below this many rows the float32 product is as quick as the int8 pass
_KEYS = ("format_version", "rows", "scales", "mean", "components", "tags", "tag_offsets", "tag_ids")


def dequantise(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """[N, d] rows times their scales, float32, transposed: the [d, N] matrix a request multiplies."""
    return np.ascontiguousarray((rows.astype(np.float32) * np.asarray(scales, np.float32)[:, None]).T)


def _cached_matrix(path: Path, rows: np.ndarray, scales: np.ndarray) -> np.ndarray | None:
    """The file's dequantised matrix from the cache folder (runtime/derived_cache.py), built there
    the first time; None (built by the constructor) for rows of another shape or type, which it refuses."""
    if rows.ndim != 2 or np.asarray(scales).shape != rows.shape[:1] or rows.dtype not in (np.int8, np.float16, np.float32):
        return None
    from inference.runtime.derived_cache import cached_arrays

    return cached_arrays("dense-matrix", MATRIX_VERSION, [path], lambda: {"matrix": dequantise(rows, scales)})["matrix"]


class InvalidDenseIndex(ValueError):
    """dense_index.npz is unreadable, malformed or of another format version."""


class DenseIndex:
    """Training posts' reduced context vectors (dequantised to float32 in memory) and their gold tags."""

    def __init__(self, rows: np.ndarray, scales: np.ndarray, mean: np.ndarray, components: np.ndarray,
                 tags, tag_offsets: np.ndarray, tag_ids: np.ndarray, matrix: np.ndarray | None = None,
                 source: Path | None = None):
        self.rows, self.scales = rows, np.asarray(scales, np.float32)
        self.mean, self.components = np.asarray(mean, np.float32), np.asarray(components, np.float32)
        self.tags = [str(t) for t in tags]
        self.tag_offsets, self.tag_ids = np.asarray(tag_offsets, np.int64), np.asarray(tag_ids, np.int64)
        self._check()
        # [d, N]: a request's product reads it row by row (2.4x faster than q @ vectors.T on one core)
        self.matrix = dequantise(rows, self.scales) if matrix is None else matrix
        if self.matrix.shape != (self.rows.shape[1], self.rows.shape[0]) or self.matrix.dtype != np.float32:
            raise InvalidDenseIndex(f"matrix {self.matrix.dtype} {self.matrix.shape} for rows {self.rows.shape}")
        # a large int8 index is searched on its int8 rows first (a quarter of the bytes, the same answers;
        # source, the file read, names the scan's graph in the cache folder)
        self._scan = Int8Scan(self.rows, self.scales, source) if self.rows.dtype == np.int8 and self.size >= SCAN_MIN_ROWS else None

    def _check(self) -> None:
        n, d = self.rows.shape if self.rows.ndim == 2 else (-1, -1)
        problems = [
            (self.rows.ndim != 2 or self.rows.dtype not in (np.int8, np.float16, np.float32), f"rows {self.rows.dtype} {self.rows.shape}"),
            (self.scales.shape != (n,), f"scales {self.scales.shape} for {n} rows"),
            (self.components.ndim != 2 or self.components.shape[1] != d, f"components {self.components.shape} for {d} dims"),
            (self.mean.shape != self.components.shape[:1], f"mean {self.mean.shape}"),
            (self.tag_offsets.shape != (n + 1,) or (n >= 0 and self.tag_offsets[:1].tolist() != [0]), "tag_offsets"),
            (len(self.tag_offsets) and self.tag_offsets[-1] != len(self.tag_ids), "tag_offsets[-1] != len(tag_ids)"),
            (np.any(np.diff(self.tag_offsets) < 0), "tag_offsets not increasing"),
            (len(self.tag_ids) and (self.tag_ids.min() < 0 or self.tag_ids.max() >= len(self.tags)), "tag_ids outside the tag table"),
            (not np.all(np.isfinite(self.scales)) or not np.all(np.isfinite(self.components)), "non-finite values"),
        ]
        bad = [what for failed, what in problems if failed]
        if bad:
            raise InvalidDenseIndex("dense index shapes disagree: " + "; ".join(bad))

    @property
    def size(self) -> int:
        return self.rows.shape[0]

    @property
    def dims(self) -> int:
        return self.rows.shape[1]

    @property
    def input_dim(self) -> int:
        return self.components.shape[0]

    def save(self, path: Path | str) -> None:
        np.savez_compressed(
            path, format_version=np.array(FORMAT_VERSION, np.int32), rows=self.rows, scales=self.scales,
            mean=self.mean, components=self.components, tags=np.array(self.tags, dtype=str),
            tag_offsets=self.tag_offsets.astype(np.int32), tag_ids=self.tag_ids.astype(np.int32),
        )

    @classmethod
    def load(cls, path: Path | str, dim: int | None = None) -> "DenseIndex":
        """dim: the encoder's dimension, which the index must be built for (checked when given)."""
        dense = cls._read(path)
        if dim is not None and dense.input_dim != dim:
            raise InvalidDenseIndex(f"{path}: built for vectors of dimension {dense.input_dim}, the encoder gives {dim}")
        return dense

    @classmethod
    def _read(cls, path: Path | str) -> "DenseIndex":
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in _KEYS if k not in data.files]
                if missing:
                    raise InvalidDenseIndex(f"lacks {', '.join(missing)}")
                version = data["format_version"]
                if version.shape != () or int(version) != FORMAT_VERSION:
                    raise InvalidDenseIndex(f"format_version {version.tolist()}, this tagsmith reads {FORMAT_VERSION}")
                arrays = [data[k] for k in _KEYS[1:]]
            return cls(*arrays, matrix=_cached_matrix(Path(path), arrays[0], arrays[1]), source=Path(path))
        except InvalidDenseIndex as exc:
            raise InvalidDenseIndex(f"{path}: {exc}") from None
        except Exception as exc:  # a truncated or foreign file: zipfile, pickle and value errors alike
            raise InvalidDenseIndex(f"cannot read dense index {path}: {exc}") from exc

    def project(self, contexts: np.ndarray) -> np.ndarray:
        """Encoder vectors [B, 512] -> reduced unit vectors [B, d]."""
        contexts = np.atleast_2d(np.asarray(contexts, np.float32))
        if contexts.shape[1] != self.input_dim:
            raise InvalidDenseIndex(f"query dimension {contexts.shape[1]} != the index's {self.input_dim}")
        reduced = (contexts - self.mean) @ self.components
        return reduced / (np.linalg.norm(reduced, axis=1, keepdims=True) + 1e-12)

    def search(self, contexts: np.ndarray, n: int, min_cos: float = -1.0) -> list[list[tuple[int, float]]]:
        """Per request, up to n (post, cosine) best first, cosine >= min_cos."""
        queries = self.project(contexts)  # [B, d]
        k = min(n, self.size)
        if k <= 0:
            return [[] for _ in queries]
        if self._scan is None:
            rows = np.broadcast_to(np.arange(self.size), (len(queries), self.size))
            scored = zip(rows, queries @ self.matrix)  # [B, N]
        else:  # the rows the int8 pass cannot rule out, scored on the float32 matrix (int8_scan.py)
            scored = ((picked, query @ self.matrix[:, picked])
                      for query, picked in zip(queries, self._scan.candidates(queries, k)))
        out = []
        for ids, sims in scored:
            top = np.argpartition(-sims, k - 1)[:k]
            best = top[np.argsort(-sims[top], kind="stable")]
            out.append([(int(ids[i]), float(sims[i])) for i in best if sims[i] >= min_cos])
        return out

    def neighbours(self, contexts: np.ndarray, n: int, min_cos: float = -1.0, power: float = 1.0) -> list[list[tuple[str, float]]]:
        """Per request, (tag words, vote) best first: vote = the share of its neighbours' weight
        (cosine ** power) carried by the neighbours that have the tag."""
        out = []
        for hits in self.search(contexts, n, min_cos):
            votes: dict[int, float] = {}
            total = 0.0
            for post, cos in hits:
                weight = max(cos, 0.0) ** power
                total += weight
                for tag in self.tag_ids[self.tag_offsets[post]:self.tag_offsets[post + 1]].tolist():
                    votes[tag] = votes.get(tag, 0.0) + weight
            total = total or 1.0
            ranked = sorted(votes.items(), key=lambda kv: (-kv[1], self.tags[kv[0]]))
            out.append([(self.tags[t], v / total) for t, v in ranked])
        return out
