"""Trending: ranking by time-decayed counts of accepted + typed feedback, and the bounded boost."""

from __future__ import annotations

import dataclasses
import time

import pytest

from extension_api.setup import make_standalone_app
from inference.server.gateway import GatewayConfig
from inference.server.store import Store
from extension_api.trending import MAX_BOOST, TrendingBoost

HASH = "ab" * 32
HOUR = 3600.0


def _add(store, tag, n=1, age_s=0.0, action="accepted", lang=None, now=None):
    now = time.time() if now is None else now
    for _ in range(n):
        store.add_feedback(action=action, text_hash=HASH, client="test", tag=tag, lang=lang, created_at=now - age_s)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.close()


def test_more_accepted_and_typed_feedback_ranks_higher(store):
    _add(store, "tennis", 3)
    _add(store, "aus open", 2, action="typed")
    _add(store, "aus open", 2)
    _add(store, "golf", 1)
    _add(store, "golf", 10, action="rejected")  # rejections never count
    tags = [r["tag"] for r in store.trending(window_s=24 * HOUR, lang="en")]
    assert tags == ["aus open", "tennis", "golf"]


def test_older_feedback_decays_and_the_window_cuts_it_off(store):
    now = time.time()
    _add(store, "old news", 4, age_s=20 * HOUR, now=now)  # 4 * 0.5 ** (20 / 6) ~ 0.4
    _add(store, "fresh", 1, age_s=0.1 * HOUR, now=now)  # ~ 1
    _add(store, "ancient", 50, age_s=30 * HOUR, now=now)  # outside the 24 h window
    rows = store.trending(window_s=24 * HOUR, lang="en", now=now)
    assert [r["tag"] for r in rows] == ["fresh", "old news"]
    assert rows[1]["count"] == 4 and rows[1]["score"] < rows[0]["score"]
    # a 7-day window sees "ancient", and its 50 events put it on top
    assert store.trending(window_s=7 * 24 * HOUR, lang="en", now=now)[0]["tag"] == "ancient"


def test_spellings_of_one_tag_count_together(store):
    _add(store, "aus open", 2)
    _add(store, "ausopen", 1)
    _add(store, "tennis", 2)
    rows = store.trending(window_s=HOUR, lang="en")
    assert [(r["tag"], r["count"]) for r in rows] == [("aus open", 3), ("tennis", 2)]


def test_trending_is_per_language(store):
    _add(store, "网球", 2)  # detected as zh
    _add(store, "tennis", 1)
    assert [r["tag"] for r in store.trending(window_s=HOUR, lang="zh")] == ["网球"]
    assert [r["tag"] for r in store.trending(window_s=HOUR, lang="en")] == ["tennis"]


async def test_trending_route_orders_tags_and_validates_its_query(aiohttp_client, tmp_path):
    client = await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path)))
    for tag, n in (("aus open", 2), ("Aus  Open", 1), ("#Tennis", 1)):
        for _ in range(n):
            resp = await client.post("/v1/feedback", json={"tag": tag, "text_hash": HASH, "action": "accepted"})
            assert resp.status == 201
    body = await (await client.get("/v1/trending?window=1h&lang=en&limit=5")).json()
    assert [t["tag"] for t in body["tags"]] == ["aus open", "tennis"]
    assert body["tags"][0]["count"] == 3 and body["window"] == "1h"
    for query, says in (("window=24", "'window'"), ("window=90d", "1m to 30d"), ("lang=xx", "unknown lang"), ("limit=0", "'limit'")):
        resp = await client.get(f"/v1/trending?{query}")
        assert resp.status == 400, query
        assert says in (await resp.json())["error"]["message"]


@dataclasses.dataclass(frozen=True)
class Suggestion:
    tag: str
    words: str
    score: float
    source: str = "generator"


async def test_boost_reorders_close_suggestions_but_is_bounded(store):
    _add(store, "aus open", 5)
    _add(store, "grand slam", 1)
    boost = TrendingBoost(store, max_boost=0.1)
    await boost.refresh()
    assert boost.boost("#AusOpen", "en") == pytest.approx(0.1)
    assert 0 < boost.boost("grand slam", "en") < 0.1
    suggestions = [Suggestion("#Tennis", "tennis", 0.95), Suggestion("#AusOpen", "aus open", 0.9), Suggestion("#Sport", "sport", 0.5)]
    reranked = boost.rerank(suggestions, "en")
    assert [s.words for s in reranked] == ["aus open", "tennis", "sport"]
    assert reranked[0].score == pytest.approx(1.0)  # capped at 1
    far = [Suggestion("#Tennis", "tennis", 0.9), Suggestion("#AusOpen", "aus open", 0.5)]
    assert [s.words for s in boost.rerank(far, "en")] == ["tennis", "aus open"]  # bounded: no big jumps
    assert boost.rerank(suggestions, "zh") == suggestions
    assert TrendingBoost(store, max_boost=9).max_boost == MAX_BOOST
    off = TrendingBoost(store, max_boost=0)
    await off.refresh()
    assert off.rerank(suggestions, "en") == suggestions
