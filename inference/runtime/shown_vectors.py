"""The encoder's own vectors of tags as their hashtags show them: the judged tag ranker's cosine feature.

The grounding stage compares a post with vectors of a tag's lowercase words, mapped by the folder's tuned
head (runtime/encoder_head.py). The judged ranker (runtime/tag_ranker.py) also reads the cosine of the
post's vector with the plain encoder's vector of the tag as shown ("NBA Finals", "No Regrets"): the encoder
reads case, and no head tuned on the data sets' tagging habits stands between them (docs/results.md, "The
judged tag ranker", measures what it adds).

    the vocabulary's tags: a table [V, D] (float16), encoded once at first start and kept in the derived
        cache (runtime/derived_cache.py); a Chinese tag shows as its words are embedded, so the index's
        own vectors serve
    other tags (phrases, the model's words): encoded in the same call as their grounding vectors
        (Grounder._encode_into_cache), else when the ranker asks; kept in a bounded cache
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.runtime.vector_cache import VectorCache
from inference.text.segment import format_tag
from inference.text.tags import tag_key

SHOWN_VERSION = 1  # of the vocabulary table kept in the derived cache (bump when `shown_text` changes)
PLACEHOLDERS = ("DIGIT", "URL", "MENTION")  # the data sets' tokens: never embedded as words
BUILD_BATCH = 512  # tags a call while the table is built


def embed_text(words: str, lang: str) -> str:
    """What is embedded for a tag: its words (Chinese joined without spaces), placeholders left out."""
    kept = [w for w in words.split() if w not in PLACEHOLDERS] or words.split()
    return "".join(kept) if lang == "zh" else " ".join(kept)


def shown_text(words: str, lang: str) -> str:
    """A tag's words cased as its hashtag shows them ("nba finals" -> "NBA Finals")."""
    if lang == "zh":
        return embed_text(words, lang)
    return " ".join(format_tag(w, lang).lstrip("#") for w in embed_text(words, lang).split()) or words


class ShownVectors:
    """One grounder's shown vectors: its vocabulary's table and a cache of the rest."""

    def __init__(self, table: np.ndarray | None, rows: dict[str, int], lang: str, size: int):
        self.table = table  # [V, D] float16 in the vocabulary's row order, or None (all encoded on demand)
        self.rows, self.lang = rows, lang
        self.cache = VectorCache(size)

    @classmethod
    def for_vocabulary(cls, encoder, tags: list[str], raw: np.ndarray, inputs: list[Path], kind: str,
                       size: int, lang: str) -> "ShownVectors":
        """The table of the vocabulary's `tags` (raw: their vectors before a head maps them [V, D]; inputs:
        the files the table derives from, kind: the encoder's precision, both naming its cache file)."""
        from inference.runtime.derived_cache import cached_arrays

        def build() -> dict[str, np.ndarray]:
            texts = [shown_text(t, lang) for t in tags]
            parts = [encoder.encode(texts[i:i + BUILD_BATCH]) for i in range(0, len(texts), BUILD_BATCH)]
            return {"vectors": np.concatenate(parts).astype(np.float16) if parts else np.zeros((0, raw.shape[1]), np.float16)}

        table = raw.astype(np.float16) if lang == "zh" else cached_arrays(f"shown-tags-{kind}", SHOWN_VERSION, inputs, build)["vectors"]
        return cls(table, {tag_key(t): i for i, t in enumerate(tags)}, lang, size)

    def texts_beside(self, items: list[tuple[str, str]]) -> list[str]:
        """What to encode beside (tag_key, words) items' grounding texts, in the same encoder call: their
        shown texts (none for Chinese, whose tags show as their words are embedded)."""
        return [] if self.lang == "zh" else [shown_text(w, self.lang) for _, w in items]

    def keep(self, items: list[tuple[str, str]], vectors: np.ndarray) -> None:
        """Keep the items' shown vectors [N, D]: those of `texts_beside`, or (Chinese) of their words."""
        for (key, _), vector in zip(items, vectors):
            self.cache.put(key, vector)

    def cosines(self, entries: list[dict], context: np.ndarray | None, encoder) -> None:
        """Fill the entries' "shown_cos" with context (the request's vector [D]); the tags neither in the
        table nor cached are encoded in one call. With no context, their "cos" stands in."""
        if context is None:
            for entry in entries:
                entry["shown_cos"] = entry["cos"]
            return
        keys = [tag_key(e["words"]) for e in entries]
        found = [self._vector(k) for k in keys]
        missing = {k: e["words"] for k, e, v in zip(keys, entries, found) if v is None}
        if missing:
            for key, vector in zip(missing, encoder.encode([shown_text(w, self.lang) for w in missing.values()])):
                self.cache.put(key, vector)
            found = [v if v is not None else self._vector(k) for k, v in zip(keys, found)]
        for entry, vector in zip(entries, found):
            entry["shown_cos"] = entry["cos"] if vector is None else float(vector.astype(np.float32) @ context)

    def _vector(self, key: str) -> np.ndarray | None:
        row = self.rows.get(key)
        return self.table[row] if row is not None and self.table is not None else self.cache.get(key)
