"""TF-IDF nearest-post retrieval: the training posts most similar to a query vote their hashtags.

Torch-free (numpy + scipy.sparse); the index ships inside a model folder as `retrieval.npz` +
`retrieval.json` and is queried at serving time with one sparse matrix product per batch.

A post is represented by the sublinear TF-IDF of its tokens plus `thread_weight` times that of its
thread tokens, L2-normalised. Each document keeps only its `top_terms` heaviest terms and stores
weights as float16, so the English index stays a few MB.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from inference.runtime.retrieval_centroids import TagIds, top_positive
from inference.runtime.model_folder import verify_folder
from inference.text.tags import tag_key

INDEX_NPZ = "retrieval.npz"
INDEX_JSON = "retrieval.json"

# A query item: post tokens, or (post tokens, thread tokens).
Query = Sequence[str] | tuple[Sequence[str], Sequence[str]]


@dataclass
class RetrievalConfig:
    thread_weight: float = 0.8  # weight of thread tokens relative to post tokens (tuned on Weibo)
    max_vocab: int = 60000  # keep the most frequent terms (document frequency)
    min_df: int = 1
    top_terms: int = 64  # heaviest terms kept per training document
    k_neighbors: int = 40  # default number of voting neighbours (tuned on held-out Weibo train)
    sim_power: float = 2.0  # a neighbour's vote = similarity ** sim_power
    char_ngrams: int = 2  # >1: also index character n-grams (n = 2..char_ngrams) of CJK words


@dataclass
class RetrievalIndex:
    config: RetrievalConfig
    vocab: dict[str, int]  # term -> column
    idf: np.ndarray  # (V,) float32
    docs: sp.csr_matrix  # (N, V) L2-normalised rows
    tags: list[str]  # distinct hashtags, words space-separated
    doc_tags: Sequence[list[int]]  # per document, indexes into `tags` (a `TagIds` when loaded)
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
        expand = functools.partial(_expand_terms, char_ngrams=config.char_ngrams)
        n_docs = len(post_tokens)
        df = Counter()
        for post, thread in zip(post_tokens, thread_tokens):
            df.update(set(expand(post)) | set(expand(thread)))
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
                for term, count in Counter(_expand_terms(tokens, self.config.char_ngrams)).items():
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

    def _similarities(self, q: sp.csr_matrix) -> np.ndarray:
        """(B, V) queries -> (B, N) dense cosines. Only the query terms' rows of the (V, N) index
        take part, multiplied as a (N, k) CSC by a dense (k, B): one pass over their postings for
        the whole batch (a sparse x sparse product costs ~1 ms per query and does not batch)."""
        terms, weights = query_columns(q)
        if len(terms) == 0:
            return np.zeros((q.shape[0], self.docs.shape[0]), dtype=np.float32)
        postings = self._docs_t()[terms]  # (k, N)
        return np.asarray(postings.T @ weights.T).T  # (N, k) @ (k, B) -> (B, N)

    def neighbors(self, queries: Sequence[Query], k_neighbors: int | None = None,
                  vectors: sp.csr_matrix | None = None) -> list[list[tuple[int, float]]]:
        """Per query, the k most similar training documents as (document index, cosine).
        `vectors`: `self.vectorize(queries)` when the caller has it already."""
        k = k_neighbors or self.config.k_neighbors
        sims = self._similarities(self.vectorize(queries) if vectors is None else vectors)
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

    def query(self, tokens_batch: Sequence[Query], k_neighbors: int | None = None,
              vectors: sp.csr_matrix | None = None) -> list[list[tuple[str, float]]]:
        """Per query, hashtags voted by its nearest training posts, best first, scores summing to 1."""
        out = []
        for hits in self.neighbors(tokens_batch, k_neighbors, vectors):
            votes: dict[int, float] = {}
            for doc, sim in hits:
                for tag in self.doc_tags[doc]:
                    votes[tag] = votes.get(tag, 0.0) + sim ** self.config.sim_power
            total = sum(votes.values()) or 1.0
            ranked = sorted(votes.items(), key=lambda kv: (-kv[1], self.tags[kv[0]]))
            out.append([(self.tags[t], s / total) for t, s in ranked])
        return out

    def query_centroids(self, tokens_batch: Sequence[Query], limit: int = 50,
                        vectors: sp.csr_matrix | None = None) -> list[list[tuple[str, float]]]:
        """Per query, hashtags ranked by cosine to the centroid of their training posts."""
        if getattr(self, "_centroids", None) is None:  # (V, T); kept in the cache folder when loaded from one
            from inference.runtime.retrieval_centroids import centroid_matrix

            self._centroids = centroid_matrix(self.docs, self.doc_tags, len(self.tags), getattr(self, "_files", None))
        q = self.vectorize(tokens_batch) if vectors is None else vectors
        terms, weights = query_columns(q)  # only the query terms' rows take part, as in _similarities
        if len(terms) == 0:
            return [[] for _ in tokens_batch]
        sims = np.asarray(self._centroids[terms].T @ weights.T).T  # (T, k) @ (k, B) -> (B, T)
        out = []
        for row in sims:
            out.append([(self.tags[t], float(row[t])) for t in top_positive(row, limit)])
        return out

    def idf_of(self, term: str) -> float:
        column = self.vocab.get(term)
        return float(self.idf[column]) if column is not None else float(self.idf.max(initial=1.0))

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
        verify_folder(folder)  # the folder's manifest: format and checksums
        meta = json.loads((folder / INDEX_JSON).read_text(encoding="utf-8"))
        with np.load(folder / INDEX_NPZ) as z:
            docs = sp.csr_matrix(
                (z["data"].astype(np.float32), z["indices"].astype(np.int32), z["indptr"]), shape=tuple(meta["shape"])
            )
            offsets, flat = z["tag_offsets"], z["tag_ids"]
            idf = z["idf"].astype(np.float32)
        doc_tags = TagIds(offsets.astype(np.int32), flat.astype(np.int32))
        vocab = {t: i for i, t in enumerate(meta["terms"])}
        index = cls(RetrievalConfig(**meta["config"]), vocab, idf, docs, meta["tags"], doc_tags, meta.get("stats", {}))
        index._files = [folder / INDEX_NPZ, folder / INDEX_JSON]  # name its derived arrays in the cache folder
        return index


_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


def _expand_terms(tokens: Sequence[str], char_ngrams: int) -> list[str]:
    """Tokens, plus (for CJK words, when char_ngrams > 1) their character n-grams, marked with '§'.
    Chinese word segmentation is inconsistent ("马航" vs "马航客机"); shared n-grams still match."""
    if char_ngrams < 2:
        return list(tokens)
    out = list(tokens)
    for token in tokens:
        if len(token) > 1 and _CJK_RE.search(token):
            for n in range(2, char_ngrams + 1):
                out.extend("§" + token[i : i + n] for i in range(len(token) - n + 1))
    return out


PRIOR_KEPT = 256  # the prior's most used tags picked at first use; a larger k sorts them all


def _by_count_key(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def query_columns(q: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The query terms of a batch's (B, V) vectors (`vectorize`: no duplicate entries) and their
    weights (B, k) dense: `q[:, terms].toarray()` placed directly, without scipy's fancy indexing."""
    q.sum_duplicates()  # a no-op on vectorize's rows
    terms = np.unique(q.indices)
    weights = np.zeros((q.shape[0], len(terms)), dtype=q.dtype)
    rows = np.repeat(np.arange(q.shape[0]), np.diff(q.indptr))
    weights[rows, np.searchsorted(terms, q.indices)] = q.data
    return terms, weights


def _split_query(query: Query) -> tuple[Sequence[str], Sequence[str]]:
    if isinstance(query, tuple) and len(query) == 2 and not isinstance(query[0], str):
        return query[0], query[1]
    return query, ()


# -- known hashtags: a lexicon with counts, matched in the text -------------------------------------
TAGS_JSON = "tags.json"


@dataclass
class TagLexicon:
    """Hashtags seen in training with their counts: a popularity prior and an extraction dictionary.

    `extract` finds known tags written in the post or thread (spaces and case ignored, so "aus open"
    matches "AusOpen" and the Chinese "马航 飞机 失联" matches "马航飞机失联"); `overlap` scores
    every known tag by the IDF-weighted share of its words present in the text (Chinese tags are
    often several words of which the post names one).
    """

    counts: dict[str, int]  # tag words -> training count
    max_ngram: int = 6
    _keys: dict[str, str] = field(default_factory=dict, repr=False)  # joined lowercase -> tag

    def __post_init__(self) -> None:
        for tag, count in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            self._keys.setdefault(tag_key(tag), tag)

    @functools.cached_property
    def _word_tags(self) -> dict[str, list[str]]:
        """Lowercase word -> the tags holding it, most used first: only to build the overlap table
        (a start that reads it from the cache folder never needs it)."""
        word_tags: dict[str, list[str]] = {}
        for tag, count in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            for word in set(tag.split()):
                word_tags.setdefault(word.lower(), []).append(tag)
        return word_tags

    @classmethod
    def from_tag_lists(cls, tag_lists: Iterable[Iterable[str]], min_count: int = 1) -> "TagLexicon":
        counts = Counter(" ".join(t.split()) for tags in tag_lists for t in tags if t.strip())
        return cls({t: c for t, c in counts.items() if c >= min_count})

    def prior(self, k: int) -> list[tuple[str, float]]:
        """The k most frequent tags, score = count / top count."""
        top = (self._most_used if k <= PRIOR_KEPT else self._by_count)[:k]
        return [(t, c / top[0][1]) for t, c in top] if top else []

    @functools.cached_property
    def _most_used(self) -> list[tuple[str, int]]:
        # the prior is asked for on every request, for k + a few: its PRIOR_KEPT first tags are picked
        # once (a tenth of a full sort's time at every start), the counts never change after loading
        return heapq.nsmallest(PRIOR_KEPT, self.counts.items(), key=_by_count_key)

    @functools.cached_property
    def _by_count(self) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=_by_count_key)

    def extract(self, post: Sequence[str], thread: Sequence[str] = (), thread_weight: float = 0.3) -> list[tuple[str, float]]:
        """Known tags occurring as contiguous tokens; score = occurrences (thread ones weighted)."""
        found: dict[str, float] = {}
        for tokens, weight in ((post, 1.0), (thread, thread_weight)):
            lowered = [t.lower() for t in tokens]
            for i in range(len(lowered)):
                joined = ""
                for n in range(min(self.max_ngram, len(lowered) - i)):
                    joined += lowered[i + n]
                    tag = self._keys.get(joined)
                    if tag is not None:
                        found[tag] = found.get(tag, 0.0) + weight
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))

    def overlap(self, post: Sequence[str], thread: Sequence[str], idf: Callable[[str], float],
                thread_weight: float = 0.3, limit: int = 50, max_tags_per_word: int = 100) -> list[tuple[str, float]]:
        """Known tags sharing words with the text, scored by IDF-weighted coverage of the tag's words.
        Words found in more than `max_tags_per_word` tags ("the", "love") are too common to propose tags."""
        table = self._overlap_table(idf)
        presence: dict[int, float] = {}
        for tokens, weight in ((post, 1.0), (thread, thread_weight)):
            for word in set(t.lower() for t in tokens):
                column = table.word_ids.get(word)
                if column is not None:
                    presence[column] = max(presence.get(column, 0.0), weight)
        # Tags are proposed by post words and by thread words said at least twice (long threads would
        # otherwise propose thousands); every present word counts towards the coverage score.
        thread_counts = Counter(t.lower() for t in thread)
        proposers = {t.lower() for t in post} | {w for w, c in thread_counts.items() if c >= 2}
        proposed = [table.word_tags[w] for w in proposers if w in table.word_tags and len(table.word_tags[w]) <= max_tags_per_word]
        if not proposed:
            return []
        tags = np.unique(np.concatenate(proposed))  # (P,) tag ids
        present = np.zeros(len(table.word_ids) + 1)  # the last column pads short tags: never present
        present[list(presence)] = list(presence.values())
        # IDF-weighted share of each tag's words present, summed word by word as a Python loop would
        scores = (table.idf[tags] * present[table.words[tags]]).sum(axis=1) / table.total[tags]  # (P,)
        order = np.lexsort((table.name_rank[tags], -table.count[tags], -scores))[:limit]
        return [(table.names[tags[i]], float(scores[i])) for i in order]

    def _overlap_table(self, idf: Callable[[str], float]) -> "OverlapTable":
        """The lexicon as arrays for `overlap`, built once per IDF source (its retrieval index)."""
        owner = getattr(idf, "__self__", idf)
        if getattr(self, "_idf_owner", None) is not owner:
            from inference.runtime.retrieval_overlap import overlap_table

            # cached in the cache folder when the lexicon and the IDF's index were both loaded from folders
            own, index = getattr(self, "_files", None), getattr(owner, "_files", None)
            files = [*own, *index] if own and index else None
            self._idf_owner, self._table = owner, overlap_table(self.counts, lambda: self._word_tags, idf, files)
        return self._table

    def save(self, folder: str | Path) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / TAGS_JSON).write_text(json.dumps(self.counts, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "TagLexicon":
        verify_folder(folder)  # the folder's manifest: format and checksums
        lexicon = cls(json.loads((Path(folder) / TAGS_JSON).read_text(encoding="utf-8")))
        lexicon._files = [Path(folder) / TAGS_JSON]  # name its overlap table in the cache folder
        return lexicon
