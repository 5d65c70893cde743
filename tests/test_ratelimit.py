"""Per-key token buckets: burst, refill, 429 with Retry-After, keys limited independently."""

from __future__ import annotations

import pytest

from inference.server.keys import create_key
from inference.server.ratelimit import TokenBucketLimiter
from extension_api.setup import make_standalone_app
from inference.server.gateway import GatewayConfig
from inference.server.store import Store


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_s=10, burst=20, clock=clock)
    assert all(limiter.acquire("k") == 0.0 for _ in range(20))
    wait = limiter.acquire("k")
    assert wait == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.acquire("k") == 0.0
    assert limiter.acquire("k") > 0
    clock.now += 100  # refills to the burst, never beyond
    assert sum(limiter.acquire("k") == 0.0 for _ in range(25)) == 20


def test_buckets_are_independent_per_key_and_idle_ones_are_pruned():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_s=1, burst=1, max_buckets=3, clock=clock)
    assert limiter.acquire("a") == 0.0 and limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0
    clock.now += 10
    for key in ("c", "d", "e"):
        limiter.acquire(key)
    assert len(limiter._buckets) <= 3


def test_nonsense_limits_are_refused():
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate_per_s=0, burst=5)


async def test_the_server_answers_429_with_retry_after_per_key(aiohttp_client, tmp_path):
    store = Store(tmp_path)
    _, key_a = create_key(store, "a")
    _, key_b = create_key(store, "b")
    store.close()
    config = GatewayConfig(data_dir=tmp_path, rate_per_s=0.5, rate_burst=3)
    client = await aiohttp_client(make_standalone_app(config))
    a = {"Authorization": f"Bearer {key_a}"}
    statuses = [(await client.get("/v1/trending", headers=a)).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    resp = await client.get("/v1/trending", headers=a)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    body = await resp.json()
    assert body["error"]["code"] == "rate_limited" and "0.5 requests/s" in body["error"]["message"]
    # another key has its own bucket
    assert (await client.get("/v1/trending", headers={"Authorization": f"Bearer {key_b}"})).status == 200
