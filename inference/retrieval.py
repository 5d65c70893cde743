"""TF-IDF nearest-post retrieval: the training posts most similar to a query vote their hashtags.

Torch-free (numpy + scipy.sparse); the index ships inside a model folder as `retrieval.npz` +
`retrieval.json` and is queried at serving time with one sparse matrix product per batch.

A post is represented by the sublinear TF-IDF of its tokens plus `thread_weight` times that of its
thread tokens, L2-normalised. Each document keeps only its `top_terms` heaviest terms and stores
weights as float16, so the English index stays a few MB.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

INDEX_NPZ = "retrieval.npz"
INDEX_JSON = "retrieval.json"

# A query item: post tokens, or (post tokens, thread tokens).
Query = Sequence[str] | tuple[Sequence[str], Sequence[str]]


@dataclass
class RetrievalConfig:
    thread_weight: float = 0.3  # weight of thread tokens relative to post tokens
    max_vocab: int = 60000  # keep the most frequent terms (document frequency)
    min_df: int = 1
    top_terms: int = 48  # heaviest terms kept per training document
    k_neighbors: int = 20  # default number of voting neighbours
    sim_power: float = 2.0  # a neighbour's vote = similarity ** sim_power


@dataclass
class RetrievalIndex:
    config: RetrievalConfig
    vocab: dict[str, int]  # term -> column
    idf: np.ndarray  # (V,) float32
    docs: sp.csr_matrix  # (N, V) L2-normalised rows
    tags: list[str]  # distinct hashtags, words space-separated
    doc_tags: list[list[int]]  # per document, indexes into `tags`
    stats: dict = field(default_factory=dict)

    # -- building --------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        records: Iterable[dict],
        tokenize: Callable[[str], list[str]],
        config: RetrievalConfig | None = None,
    ) -> "RetrievalIndex":
        """Index canonical records that have hashtags (records without any are skipped)."""
        config = config or RetrievalConfig()
        post_tokens, thread_tokens, tag_lists = [], [], []
        for record in records:
            if not record.get("hashtags"):
                continue
            post_tokens.append(tokenize(record.get("post") or ""))
            thread_tokens.append(tokenize(" ".join(record.get("thread") or [])) if config.thread_weight > 0 else [])
            tag_lists.append(list(dict.fromkeys(record["hashtags"])))
        n_docs = len(post_tokens)
        df = Counter()
        for post, thread in zip(post_tokens, thread_tokens):
            df.update(set(post) | set(thread))
        terms = [t for t, c in df.most_common(config.max_vocab) if c >= config.min_df]
        vocab = {t: i for i, t in enumerate(sorted(terms))}
        idf = np.zeros(len(vocab), dtype=np.float32)
        for term, column in vocab.items():
            idf[column] = math.log((1 + n_docs) / (1 + df[term])) + 1.0
        tags = sorted({t for ts in tag_lists for t in ts})
        tag_id = {t: i for i, t in enumerate(tags)}
        index = cls(config, vocab, idf, sp.csr_matrix((0, len(vocab)), dtype=np.float32), tags,
                    [[tag_id[t] for t in ts] for ts in tag_lists])
        index.docs = index._prune(index.vectorize(list(zip(post_tokens, thread_tokens))), config.top_terms)
        index.stats = {"docs": n_docs, "vocab": len(vocab), "tags": len(tags), "nnz": int(index.docs.nnz)}
        return index

    @staticmethod
    def _prune(matrix: sp.csr_matrix, top_terms: int) -> sp.csr_matrix:
        """Keep each row's `top_terms` largest entries, re-normalised, rounded to float16 precision."""
        matrix = matrix.tocsr()
        rows, cols, vals = [], [], []
        for r in range(matrix.shape[0]):
            start, end = matrix.indptr[r], matrix.indptr[r + 1]
            c, v = matrix.indices[start:end], matrix.data[start:end]
            if len(v) > top_terms:
                keep = np.argpartition(-v, top_terms)[:top_terms]
                c, v = c[keep], v[keep]
            norm = np.linalg.norm(v)
            rows.append(np.full(len(c), r))
            cols.append(c)
            vals.append(v / norm if norm > 0 else v)
        data = np.concatenate(vals) if vals else np.zeros(0)
        pruned = sp.csr_matrix(
            (data.astype(np.float16).astype(np.float32), (np.concatenate(rows) if rows else [], np.concatenate(cols) if cols else [])),
            shape=matrix.shape,
        )
        pruned.sort_indices()
        return pruned

    # -- vectorising and querying -------------------------------------------------------------
    def vectorize(self, queries: Sequence[Query]) -> sp.csr_matrix:
        """(B, V) L2-normalised sublinear TF-IDF rows for post tokens or (post, thread) pairs."""
        rows, cols, vals = [], [], []
        for r, query in enumerate(queries):
            post, thread = _split_query(query)
            weights: dict[int, float] = {}
            for tokens, scale in ((post, 1.0), (thread, self.config.thread_weight)):
                if scale <= 0:
                    continue
                for term, count in Counter(tokens).items():
                    column = self.vocab.get(term)
                    if column is not None:
                        w = scale * (1.0 + math.log(count)) * float(self.idf[column])
                        weights[column] = weights.get(column, 0.0) + w
            if not weights:
                continue
            v = np.fromiter(weights.values(), dtype=np.float32)
            rows.extend([r] * len(v))
            cols.extend(weights.keys())
            vals.extend(v / np.linalg.norm(v))
        return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(queries), len(self.vocab)))

    def _docs_t(self) -> sp.csr_matrix:
        if getattr(self, "_cached_t", None) is None or self._cached_t.shape[1] != self.docs.shape[0]:
            self._cached_t = self.docs.T.tocsr()
        return self._cached_t

    def neighbors(self, queries: Sequence[Query], k_neighbors: int | None = None) -> list[list[tuple[int, float]]]:
        """Per query, the k most similar training documents as (document index, cosine)."""
        k = k_neighbors or self.config.k_neighbors
        sims = (self.vectorize(queries) @ self._docs_t()).toarray()  # (B, V) @ (V, N) -> (B, N)
        result = []
        for row in sims:
            k_eff = min(k, len(row))
            if k_eff == 0:
                result.append([])
                continue
            top = np.argpartition(-row, k_eff - 1)[:k_eff]
            top = top[np.argsort(-row[top])]
            result.append([(int(d), float(row[d])) for d in top if row[d] > 0])
        return result

    def query(self, tokens_batch: Sequence[Query], k_neighbors: int | None = None) -> list[list[tuple[str, float]]]:
        """Per query, hashtags voted by its nearest training posts, best first, scores summing to 1."""
        out = []
        for hits in self.neighbors(tokens_batch, k_neighbors):
            votes: dict[int, float] = {}
            for doc, sim in hits:
                for tag in self.doc_tags[doc]:
                    votes[tag] = votes.get(tag, 0.0) + sim ** self.config.sim_power
            total = sum(votes.values()) or 1.0
            ranked = sorted(votes.items(), key=lambda kv: (-kv[1], self.tags[kv[0]]))
            out.append([(self.tags[t], s / total) for t, s in ranked])
        return out

    # -- persistence -----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.vocab, key=self.vocab.get)
        # doc_tags flattened as (offsets, ids): compact and loadable without pickle.
        offsets = np.cumsum([0] + [len(t) for t in self.doc_tags]).astype(np.int32)
        flat = np.fromiter((t for ts in self.doc_tags for t in ts), dtype=np.int32)
        index_dtype = np.uint16 if len(terms) <= 65536 else np.int32
        np.savez_compressed(
            folder / INDEX_NPZ,
            idf=self.idf.astype(np.float16),
            data=self.docs.data.astype(np.float16),
            indices=self.docs.indices.astype(index_dtype),
            indptr=self.docs.indptr.astype(np.int32),
            tag_offsets=offsets,
            tag_ids=flat,
        )
        meta = {"config": asdict(self.config), "terms": terms, "tags": self.tags, "stats": self.stats,
                "shape": list(self.docs.shape)}
        (folder / INDEX_JSON).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "RetrievalIndex":
        folder = Path(folder)
        meta = json.loads((folder / INDEX_JSON).read_text(encoding="utf-8"))
        with np.load(folder / INDEX_NPZ) as z:
            docs = sp.csr_matrix(
                (z["data"].astype(np.float32), z["indices"].astype(np.int32), z["indptr"]), shape=tuple(meta["shape"])
            )
            offsets, flat = z["tag_offsets"], z["tag_ids"]
            idf = z["idf"].astype(np.float32)
        doc_tags = [flat[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]
        vocab = {t: i for i, t in enumerate(meta["terms"])}
        return cls(RetrievalConfig(**meta["config"]), vocab, idf, docs, meta["tags"], doc_tags, meta.get("stats", {}))


def _split_query(query: Query) -> tuple[Sequence[str], Sequence[str]]:
    if isinstance(query, tuple) and len(query) == 2 and not isinstance(query[0], str):
        return query[0], query[1]
    return query, ()
