"""Benchmark of the SQLite store: trending with a million feedback rows, and API-key checks while
trending is asked for back to back.

    python -m inference.evaluation.bench_store [--rows 1000000] [--seconds 10]

1. Bulk-loads `--rows` feedback rows (5,000 tags, Zipf-like, over 30 days, en) into a fresh file and
   builds their trending counts as migration 4 does; prints `GET /v1/trending`'s store call for a 30-day
   and a 24-hour window (median of 5), beside the raw scan the store did before (one run: the ratio
   is measured on the same file, the same moment).
2. Serves the gateway and the installed extensions (as `tagsmith serve` mounts them, without models)
   on 127.0.0.1 with one API key and a route that only passes the gateway (key check, rate limit):
   its p50/p95 latency idle, then while one client asks for trending back to back, `--seconds` each.
   The hammering client changes the window every time (30d, 29d, ..., 720h, 719h, ...) so that no
   answer comes from the route's 10 s cache: every request is a read of the counts.
   /v1/suggest pays exactly this gateway cost before its model runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

DAY = 86400.0
TAGS = 5000
SCAN_SQL = """SELECT tag, CAST((? - created_at) / ? AS INTEGER) AS bucket, COUNT(*) FROM feedback
    WHERE lang = ? AND created_at > ? AND created_at <= ? AND tag IS NOT NULL AND action IN ('accepted', 'typed')
    GROUP BY tag, bucket"""


def load(store, rows: int, now: float, seed: int = 0) -> None:
    """`rows` feedback rows in one transaction (no fsync per row), then their trending counts."""
    from inference.server.store import backfill_trending_counts

    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(TAGS)]
    tags = rng.choices([f"tag {i}" for i in range(TAGS)], weights, k=rows)
    actions = rng.choices(["accepted", "typed", "rejected"], [6, 2, 2], k=rows)
    store.db.execute("PRAGMA synchronous=OFF")
    with store.db.atomic():
        store.db.conn.executemany(
            "INSERT INTO feedback (tag, text_hash, action, client, created_at, lang) VALUES (?, ?, ?, 'bench', ?, 'en')",
            ((tags[i], "ab" * 32, actions[i], now - rng.uniform(0, 30 * DAY)) for i in range(rows)),
        )
        store.db.execute("DELETE FROM trending_counts")
        backfill_trending_counts(store.db)
    store.db.execute("PRAGMA synchronous=FULL")


def _median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_trending(store, now: float) -> None:
    for label, window_s in (("30d", 30 * DAY), ("24h", DAY)):
        counts_ms = _median_ms(lambda: store.trending(window_s=window_s, lang="en", limit=20, now=now))
        scan_ms = _median_ms(lambda: store.reader.execute(SCAN_SQL, [now, window_s / 64, "en", now - window_s, now]).fetchall(), runs=3)
        print(f"  trending window={label}: counts table {counts_ms:8.1f} ms   raw scan (before) {scan_ms:8.1f} ms   "
              f"ratio {scan_ms / counts_ms:6.1f}x", flush=True)


async def _gateway_only(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def bench_app(data_dir: Path) -> web.Application:
    from inference.server.appkeys import OPENAPI_PATHS, POSTPROCESSORS
    from inference.server.errors import error_middleware
    from inference.server.gateway import GatewayConfig, setup_gateway
    from inference.server.serve import installed_extensions

    app = web.Application(middlewares=[error_middleware])
    app[POSTPROCESSORS], app[OPENAPI_PATHS] = [], {}
    setup_gateway(app, GatewayConfig(data_dir=data_dir, rate_per_s=1e9, rate_burst=10**9))
    for setup in installed_extensions(argparse.Namespace()):
        setup(app)
    app.router.add_get("/v1/bench-gateway", _gateway_only)
    return app


async def _timed_gets(session, urls: list[str], seconds: float) -> list[float]:
    times, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        async with session.get(urls[len(times) % len(urls)]) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        times.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.01)
    return times


async def bench_auth(data_dir: Path, key: str, seconds: float) -> None:
    runner = web.AppRunner(bench_app(data_dir), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
            gateway = [base + "/v1/bench-gateway"]
            idle = await _timed_gets(session, gateway, seconds)
            windows = [f"{d}d" for d in range(30, 0, -1)] + [f"{h}h" for h in range(720, 0, -1)]
            hammer = asyncio.ensure_future(_timed_gets(session, [f"{base}/v1/trending?window={w}&limit=100" for w in windows], seconds + 1))
            busy = await _timed_gets(session, gateway, seconds)
            trending = await hammer
    finally:
        await runner.cleanup()
    for label, times in (("idle", idle), ("trending hammered", busy)):
        q = statistics.quantiles(times, n=20)
        print(f"  key check + gateway, {label:<17}: p50 {statistics.median(times):6.2f} ms  p95 {q[18]:6.2f} ms  ({len(times)} requests)")
    print(f"  /v1/trending back to back (30d, 29d, ...: no cache hit): {len(trending) / (seconds + 1):.1f} req/s, "
          f"p50 {statistics.median(trending):.1f} ms")


def main(argv: list[str] | None = None) -> int:
    from inference.server.keys import create_key
    from inference.server.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each latency phase")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tagsmith-bench-store-") as tmp:
        data_dir = Path(tmp) / "data"
        store = Store(data_dir)
        now = time.time()
        start = time.perf_counter()
        load(store, args.rows, now)
        _, key = create_key(store, "bench")
        print(f"tagsmith bench store: {args.rows} feedback rows loaded in {time.perf_counter() - start:.0f} s, "
              f"{store.db.execute('SELECT COUNT(*) FROM trending_counts').fetchone()[0]} count rows, {os.cpu_count()} CPU cores", flush=True)
        bench_trending(store, now)
        store.close()
        asyncio.run(bench_auth(data_dir, key, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
