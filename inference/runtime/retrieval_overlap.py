"""The tag lexicon's overlap table (`TagLexicon.overlap`), kept in the cache folder.

Every lexicon tag's lowercase words as word ids and their IDFs, so `overlap` scores thousands of
proposed tags in one numpy expression. Building it walks every tag in Python (about half a second for
the English lexicon at every start); a lexicon and retrieval index loaded from a folder keep the
arrays in `$TAGSMITH_CACHE_DIR/derived` (runtime/derived_cache.py: named by tags.json, retrieval.npz
and retrieval.json's sha256), and the table is rebuilt from them: the same arrays and dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

VERSION = 1  # of the cached arrays (bump when `OverlapTable.build` or the arrays' layout changes)


@dataclass
class OverlapTable:
    """Tag ids index `names`; word ids index `word_ids` (a tag's row is padded with len(word_ids))."""

    names: list[str]  # tag id -> tag
    count: np.ndarray  # (T,) training count
    name_rank: np.ndarray  # (T,) position of the tag in sorted order: the last tie-break
    words: np.ndarray  # (T, L) word ids
    idf: np.ndarray  # (T, L) IDF of each word, 0 for padding
    total: np.ndarray  # (T,) IDF total (1 when 0)
    word_ids: dict[str, int]
    word_tags: dict[str, np.ndarray]  # lowercase word -> ids of the tags containing it

    @classmethod
    def build(cls, counts: dict[str, int], word_tags: dict[str, list[str]], idf: Callable[[str], float]) -> "OverlapTable":
        names = list(counts)
        tag_ids = {t: i for i, t in enumerate(names)}
        split = [t.lower().split() for t in names]
        word_ids: dict[str, int] = {}
        for words in split:
            for w in words:
                word_ids.setdefault(w, len(word_ids))
        width = max((len(w) for w in split), default=1) or 1
        ids = np.full((len(names), width), len(word_ids), dtype=np.int32)
        weights = np.zeros((len(names), width))
        word_idf = {w: idf(w) for w in word_ids}
        for i, words in enumerate(split):
            ids[i, : len(words)] = [word_ids[w] for w in words]
            weights[i, : len(words)] = [word_idf[w] for w in words]
        totals = np.array([sum(word_idf[w] for w in words) or 1.0 for words in split])
        name_rank = np.empty(len(names), dtype=np.int64)
        name_rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        return cls(names, np.array([counts[t] for t in names], dtype=np.int64), name_rank, ids, weights, totals,
                   word_ids, {w: np.array([tag_ids[t] for t in tags], dtype=np.int64) for w, tags in word_tags.items()})

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything but `names` (the lexicon's own tags, in its order) as plain numpy arrays."""
        keys = list(self.word_tags)
        lengths = [len(self.word_tags[k]) for k in keys]
        return {"count": self.count, "name_rank": self.name_rank, "words": self.words, "idf": self.idf, "total": self.total,
                "word_list": np.array(list(self.word_ids), dtype=str), "tag_words": np.array(keys, dtype=str),
                "tag_offsets": np.cumsum([0, *lengths]).astype(np.int64),
                "tag_ids": np.concatenate([self.word_tags[k] for k in keys]) if keys else np.zeros(0, np.int64)}

    @classmethod
    def from_arrays(cls, names: list[str], a: dict[str, np.ndarray]) -> "OverlapTable":
        offsets, ids = a["tag_offsets"], a["tag_ids"]
        word_tags = {w: ids[offsets[i]:offsets[i + 1]] for i, w in enumerate(a["tag_words"].tolist())}
        word_ids = {w: i for i, w in enumerate(a["word_list"].tolist())}
        return cls(names, a["count"], a["name_rank"], a["words"], a["idf"], a["total"], word_ids, word_tags)


def overlap_table(counts: dict[str, int], word_tags: Callable[[], dict[str, list[str]]], idf: Callable[[str], float],
                  files: list[Path] | None) -> OverlapTable:
    """`OverlapTable.build`, read from the cache folder when `files` (the lexicon's and its IDF's index's
    own) name it there. word_tags: gives the lexicon's word -> tags map, asked for only to build."""
    if not files:
        return OverlapTable.build(counts, word_tags(), idf)
    from inference.runtime.derived_cache import cached_arrays

    built: list[OverlapTable] = []  # the table itself when the cache did not hold it (not rebuilt from its arrays)

    def build() -> dict[str, np.ndarray]:
        built.append(OverlapTable.build(counts, word_tags(), idf))
        return built[0].arrays()

    arrays = cached_arrays("overlap", VERSION, list(files), build)
    return built[0] if built else OverlapTable.from_arrays(list(counts), arrays)
