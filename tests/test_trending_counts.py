"""Trending from per-bucket counts kept with each insert (migration 4 backfills them), retention of raw
feedback, and API-key checks that never wait for a trending read."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

import inference.server.store as store_module
from extension_api.setup import ExtensionConfig, make_standalone_app
from inference.server.gateway import GatewayConfig
from inference.server.keys import create_key
from inference.server.store import Store, schema_version

HASH = "ab" * 32
DAY = 86400.0


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.close()


def _scan(store, window_s, lang, now):
    """What trending counts, straight from the raw rows."""
    rows = store.db.execute(
        "SELECT tag, COUNT(*) FROM feedback WHERE lang = ? AND created_at > ? AND created_at <= ? "
        "AND action IN ('accepted', 'typed') GROUP BY tag", [lang, now - window_s, now]).fetchall()
    return dict(rows)


def test_counts_follow_every_insert_and_match_a_scan_of_the_raw_rows(store):
    rng = random.Random(3)
    now = time.time()
    for _ in range(400):
        tag = rng.choice(["tennis", "aus open", "golf", "nba finals", "网球"])
        store.add_feedback(action=rng.choice(["accepted", "typed", "rejected"]), text_hash=HASH, client="t", tag=tag,
                           created_at=now - rng.uniform(0, 3 * DAY))
    for window_s in (3 * 3600, DAY, 7 * DAY):
        for lang in ("en", "zh"):
            # counts are whole buckets (a minute; an hour beyond 64 h): a bucket at the window's edge may differ
            got = {r["tag"]: r["count"] for r in store.trending(window_s=window_s, lang=lang, limit=100, now=now)}
            want = _scan(store, window_s, lang, now)
            assert set(got) <= set(want)
            assert all(abs(got[t] - want[t]) <= max(2, want[t] // 20) for t in got)


def test_migration_4_builds_the_counts_from_existing_feedback_and_remembers_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:3])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 3)
    old = Store(tmp_path)
    old.db["feedback"].insert_all(
        [{"tag": t, "text_hash": HASH, "action": "accepted", "client": "v3", "created_at": time.time() - 60, "lang": "en"}
         for t in ("tennis", "tennis", "golf")])
    old.db["api_keys"].insert({"name": "k", "salt": "00", "key_hash": "ff", "created_at": 1.0, "revoked_at": 2.0})
    old.close()
    monkeypatch.undo()
    store = Store(tmp_path)
    assert schema_version(store.db) == 4
    assert [(r["tag"], r["count"]) for r in store.trending(window_s=3600, lang="en")] == [("tennis", 2), ("golf", 1)]
    assert store.keys_ever_created() and store.active_key_count() == 0
    store.close()


def test_prune_deletes_old_raw_rows_in_batches_and_keeps_recent_trending(store):
    now = time.time()
    for age in (200 * DAY, 100 * DAY, 95 * DAY, 1.0):
        store.add_feedback(action="accepted", text_hash=HASH, client="t", tag="tennis", created_at=now - age)
    batches = []
    while not batches or max(batches[-1]) == 2:
        batches.append(store.prune(feedback_before=now - 90 * DAY, batch=2))
    assert batches == [(2, 2), (1, 2), (0, 2), (0, 0)]  # 3 raw rows; 3 buckets x 2 widths of counts past 30 days
    assert store.db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1
    assert store.trending(window_s=3600, lang="en")[0]["count"] == 1


async def test_the_server_prunes_feedback_past_its_retention_in_the_background(aiohttp_client, tmp_path):
    store = Store(tmp_path)
    store.add_feedback(action="accepted", text_hash=HASH, client="t", tag="old", created_at=time.time() - 10 * DAY)
    store.add_feedback(action="accepted", text_hash=HASH, client="t", tag="new")
    store.close()
    config = ExtensionConfig(feedback_retention_days=5, prune_every_s=0.05)
    client = await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path), config))
    check = Store(tmp_path)
    for _ in range(100):
        if check.reader.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1:
            break
        await asyncio.sleep(0.05)
    assert [r["tag"] for r in check.reader.query("SELECT tag FROM feedback")] == ["new"]
    check.close()
    assert (await client.get("/v1/trending")).status == 200


async def test_key_checks_do_not_wait_for_a_slow_read(aiohttp_client, tmp_path):
    store = Store(tmp_path)
    _, key = create_key(store, "k")
    store.close()
    client = await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path)))
    app_store = client.app[store_module_key()]
    held, release = threading.Event(), threading.Event()

    def slow_read():  # a trending read that takes long: holds the read connection
        with app_store._read_lock:
            held.set()
            release.wait(10)

    reading = asyncio.ensure_future(app_store.run_read(slow_read))
    await asyncio.get_running_loop().run_in_executor(None, held.wait, 5)
    start = time.perf_counter()
    resp = await client.post("/v1/feedback", json={"tag": "x", "text_hash": HASH, "action": "accepted"},
                             headers={"Authorization": f"Bearer {key}"})
    took = time.perf_counter() - start
    release.set()
    await reading
    assert resp.status == 201 and took < 2.0


def store_module_key():
    from inference.server.appkeys import STORE

    return STORE


async def test_trending_answers_are_shared_for_a_few_seconds(aiohttp_client, tmp_path):
    config = ExtensionConfig(trending_cache_s=0.5)
    client = await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path), config))
    feedback = {"tag": "tennis", "text_hash": HASH, "action": "accepted"}
    assert (await (await client.get("/v1/trending?window=1h")).json())["tags"] == []
    assert (await client.post("/v1/feedback", json=feedback)).status == 201
    same = await asyncio.gather(*(client.get("/v1/trending?window=1h") for _ in range(5)))
    assert [(await r.json())["tags"] for r in same] == [[]] * 5  # within the cache's time: the earlier answer
    await asyncio.sleep(0.6)
    assert [t["tag"] for t in (await (await client.get("/v1/trending?window=1h")).json())["tags"]] == ["tennis"]
