"""Trending hashtags learned from our own users' feedback, and the bounded boost /v1/suggest can apply.

    boost = TrendingBoost(store, max_boost=0.1)      # the app keeps one under appkeys.TRENDING
    await boost.refresh()                            # a background task does this every refresh_s
    suggestions = boost.rerank(suggestions, "en")    # cheap, never touches SQLite

A tag's boost is `max_boost * trend / top trend` (0 for tags not trending), added to its score (in
[0, 1], capped at 1) before re-sorting; so a trending tag can overtake another only when their
scores differ by less than max_boost. `max_boost` is clamped to [0, MAX_BOOST]; 0 turns it off.
`rerank` reorders the suggestions it is given (it does not add tags).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Sequence, TypeVar

from inference.server.store import Store
from inference.text.tags import LANGUAGES, tag_key

log = logging.getLogger(__name__)

MAX_BOOST = 0.5
T = TypeVar("T")


class TrendingCache:
    """The ranked lists of /v1/trending, computed at most once per `ttl_s` per (window, lang): requests
    arriving meanwhile share the one read in flight. Bounded to `max_entries` windows."""

    def __init__(self, store: Store, ttl_s: float = 10.0, top_n: int = 100, max_entries: int = 256):
        self.store, self.ttl_s, self.top_n, self.max_entries = store, ttl_s, top_n, max_entries
        self._entries: dict[tuple[float, str], tuple[float, asyncio.Future]] = {}

    async def get(self, window_s: float, lang: str, limit: int) -> list[dict]:
        now = time.monotonic()
        entry = self._entries.get((window_s, lang))
        if entry is None or now - entry[0] > self.ttl_s or (entry[1].done() and entry[1].exception() is not None):
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self.ttl_s and v[1].done()}
            read = self.store.run_read(lambda: self.store.trending(window_s=window_s, lang=lang, limit=self.top_n))
            entry = self._entries[(window_s, lang)] = (now, asyncio.ensure_future(read))
        return (await asyncio.shield(entry[1]))[:limit]


class TrendingBoost:
    def __init__(self, store: Store, max_boost: float = 0.1, window_s: float = 86400.0, top_n: int = 200, refresh_s: float = 60.0, languages: Sequence[str] = LANGUAGES):
        self.store = store
        self.max_boost = min(MAX_BOOST, max(0.0, float(max_boost)))
        self.window_s = window_s
        self.top_n = top_n
        self.refresh_s = refresh_s
        self.languages = tuple(languages)
        self._boosts: dict[str, dict[str, float]] = {}  # lang -> tag key -> boost in [0, max_boost]
        self.refreshed_at = 0.0

    def compute(self) -> dict[str, dict[str, float]]:
        """Blocking: read the trending lists from SQLite."""
        boosts = {}
        for lang in self.languages:
            rows = self.store.trending(window_s=self.window_s, lang=lang, limit=self.top_n)
            top = rows[0]["score"] if rows else 0.0
            boosts[lang] = {tag_key(r["tag"]): self.max_boost * r["score"] / top for r in rows if top > 0}
        return boosts

    async def refresh(self) -> None:
        if self.max_boost == 0.0:
            return
        self._boosts = await self.store.run_read(self.compute)
        self.refreshed_at = time.time()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # a locked or busy file: keep the last lists, try again later
                log.exception("refreshing trending tags failed")
            await asyncio.sleep(self.refresh_s)

    def boost(self, tag: str, lang: str) -> float:
        return self._boosts.get(lang, {}).get(tag_key(tag), 0.0)

    def rerank(self, suggestions: list[T], lang: str, words_attr: str = "words", score_attr: str = "score") -> list[T]:
        """Suggestions (dataclasses with a words and a score field) with boosted scores, re-sorted
        (stable, so equal scores keep their order)."""
        table = self._boosts.get(lang)
        if not table:
            return list(suggestions)
        boosted = []
        for s in suggestions:
            b = table.get(tag_key(getattr(s, words_attr)), 0.0)
            boosted.append(dataclasses.replace(s, **{score_attr: round(min(1.0, getattr(s, score_attr) + b), 4)}) if b else s)
        return sorted(boosted, key=lambda s: -getattr(s, score_attr))
