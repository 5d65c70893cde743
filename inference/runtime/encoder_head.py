"""A model folder's tuned head on the frozen sentence encoder: two residual linear maps, numpy only.

The sentence encoder (runtime/sentence_encoder.py) stays as shipped; export/tune_encoder.py trains, as a
dual encoder on the corpora's (post + thread, gold hashtag) pairs, one map per side:

    post side:  p' = normalise(p + p @ post)     p: the request's vector [D]; post: [D, D]
    tag side:   t' = normalise(t + t @ tag)      t: a tag's vector [D];       tag:  [D, D]

A zero matrix is the identity (the untuned encoder). The grounding stage compares every request with
thousands of tags and only ranks and standardises a request's cosines (runtime/grounding.py), so the
post-side map is folded into the tag vectors once, and request vectors stay the encoder's own (the dense
neighbours' post-to-post search uses them as they are):

    p' . t' = |p + p @ post| * (p . k),   k = t' + t' @ post^T      (`fold_tags`: the tag's key)

a positive factor per request, which neither a ranking nor (cos - mean) / std over the vocabulary sees.
Files: encoder_head.json (format version, dim, the
weights file and its sha256, and how it was trained and measured) and encoder_head.npz (`post`, `tag`).
A folder without encoder_head.json has no head: nothing changes. A bad file raises InvalidEncoderHead.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from inference.runtime.tag_index import TagIndex

HEAD_JSON = "encoder_head.json"
HEAD_WEIGHTS = "encoder_head.npz"
FORMAT_VERSION = 1
KIND = "residual-linear"
FOLD_VERSION = 1  # of the folded tag vectors kept in the cache folder (bump when `fold_tags` changes)


class InvalidEncoderHead(ValueError):
    """encoder_head.json / encoder_head.npz is missing, malformed, of another format, or does not match."""


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


class EncoderHead:
    """The two maps of one folder (see the module docstring)."""

    def __init__(self, post: np.ndarray, tag: np.ndarray, info: dict | None = None, path: Path | None = None):
        self.post = np.ascontiguousarray(post, dtype=np.float32)  # [D, D]
        self.tag = np.ascontiguousarray(tag, dtype=np.float32)  # [D, D]
        self.info = dict(info or {})
        self.path = path  # the weights file it was read from (names its folded tags in the cache)

    @property
    def dim(self) -> int:
        return self.post.shape[0]

    def posts(self, vectors: np.ndarray) -> np.ndarray:
        """Request vectors [B, D] -> tuned unit vectors [B, D]."""
        x = np.asarray(vectors, dtype=np.float32)
        return _unit(x + x @ self.post)

    def tags(self, vectors: np.ndarray) -> np.ndarray:
        """Tag vectors [T, D] -> tuned unit vectors [T, D]."""
        x = np.asarray(vectors, dtype=np.float32)
        return _unit(x + x @ self.tag)

    def fold_tags(self, vectors: np.ndarray) -> np.ndarray:
        """Tag vectors [T, D] -> keys [T, D] that untouched request vectors meet (module docstring)."""
        tuned = self.tags(vectors)
        return tuned + tuned @ self.post.T

    @classmethod
    def load(cls, folder: Path | str) -> "EncoderHead | None":
        """The folder's head, or None when it has no encoder_head.json."""
        path = Path(folder) / HEAD_JSON
        return cls.read(path) if path.exists() else None

    @classmethod
    def read(cls, path: Path | str) -> "EncoderHead":
        path = Path(path)
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidEncoderHead(f"{path}: {exc}") from None
        if not isinstance(info, dict) or info.get("format_version") != FORMAT_VERSION or info.get("kind") != KIND:
            raise InvalidEncoderHead(f"{path}: format_version must be {FORMAT_VERSION} and kind {KIND!r}")
        dim, name = info.get("dim"), info.get("weights")
        if not isinstance(dim, int) or dim <= 0 or not isinstance(name, str) or "/" in name or "\\" in name:
            raise InvalidEncoderHead(f"{path}: needs a positive integer dim and a weights file name beside it")
        weights = path.parent / name
        try:
            data = weights.read_bytes()
        except OSError as exc:
            raise InvalidEncoderHead(f"{path}: cannot read {name}: {exc}") from None
        if hashlib.sha256(data).hexdigest() != info.get("sha256"):
            raise InvalidEncoderHead(f"{weights}: sha256 differs from {path.name}'s")
        return cls(*_matrices(weights, dim), info, weights)


def _matrices(weights: Path, dim: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(weights, allow_pickle=False) as data:
            post, tag = data["post"], data["tag"]
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidEncoderHead(f"{weights}: {exc}") from None
    for name, m in (("post", post), ("tag", tag)):
        if m.shape != (dim, dim) or m.dtype.kind != "f" or not np.isfinite(m).all():
            raise InvalidEncoderHead(f"{weights}: {name} must be finite floats of shape ({dim}, {dim}), got {m.dtype} {m.shape}")
    return post, tag


class TunedEncoder:
    """The sentence encoder with a folder's head: `encode` gives request vectors (the encoder's own),
    `encode_tags` the keys of tags (`EncoderHead.fold_tags`)."""

    def __init__(self, encoder, head: EncoderHead):
        if head.dim != encoder.dim:
            raise InvalidEncoderHead(f"the head maps dimension {head.dim}, the encoder gives {encoder.dim}")
        self.encoder, self.head, self.dim = encoder, head, encoder.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def encode_tags(self, texts: list[str]) -> np.ndarray:
        return self.head.fold_tags(self.encoder.encode(texts))

    def tag_index(self, index: TagIndex) -> TagIndex:
        """The index with its vectors replaced by their keys (once, at load; read back from the cache
        folder when both came from files: runtime/derived_cache.py)."""
        if index.path is None or self.head.path is None:
            return TagIndex(self.head.fold_tags(index.vectors), index.tags, index.counts)
        from inference.runtime.derived_cache import cached_arrays

        keys = cached_arrays("folded-tags", FOLD_VERSION, [index.path, self.head.path],
                             lambda: {"keys": self.head.fold_tags(index.vectors)})["keys"]
        return TagIndex(keys, index.tags, index.counts, index.path)


def encode_tags(encoder, texts: list[str]) -> np.ndarray:
    """Tag vectors (keys) from a plain SentenceEncoder or a TunedEncoder."""
    return encoder.encode_tags(texts) if isinstance(encoder, TunedEncoder) else encoder.encode(texts)
