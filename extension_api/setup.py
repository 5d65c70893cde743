"""Mount the extension API on the core app: `create_app(config, extensions=[setup])`.

What it adds: the /v1/feedback, /v1/trending and /v1/communities/{id}/settings routes, their OpenAPI
path items, the trending refresher and the feedback retention task (raw rows older than
`feedback_retention_days` deleted hourly) in cleanup contexts and, when `trending_boost` > 0, a postprocessor
of /v1/suggest results. The core's gateway (inference/server/gateway.py) guards these routes like every
/v1/* route and opens the SQLite store they use, so it must be mounted (`ServiceConfig.gateway`).

`tagsmith serve` finds this module through the `tagsmith.extensions` entry point (pyproject.toml):
the core never imports extension_api.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aiohttp import web

from extension_api.appkeys import EXT_CONFIG, TRENDING, TRENDING_CACHE
from extension_api.routes import add_routes
from extension_api.trending import TrendingBoost, TrendingCache
from inference.runtime.suggester import SuggestResult
from inference.server.appkeys import GATEWAY, OPENAPI_PATHS, POSTPROCESSORS, STORE
from inference.server.cors import parse_origins
from inference.server.errors import error_middleware
from inference.server.gateway import GatewayConfig, setup_gateway

log = logging.getLogger(__name__)
PRUNE_BATCH = 5000


@dataclass(frozen=True)
class ExtensionConfig:
    trending_boost: float = 0.0  # max boost added to a trending tag's score in /v1/suggest; 0 = off
    trending_refresh_s: float = 60.0
    store_post_text: bool = False  # store the raw post text sent with feedback (off: only its hash)
    feedback_retention_days: float = 90.0  # raw feedback rows older than this are deleted
    prune_every_s: float = 3600.0
    trending_cache_s: float = 10.0  # /v1/trending answers are shared this long

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ExtensionConfig":
        """From `tagsmith serve` options (--trending-boost, --store-post-text, --feedback-retention-days)."""
        return cls(
            trending_boost=float(getattr(args, "trending_boost", 0.0) or 0.0),
            store_post_text=bool(getattr(args, "store_post_text", False)),
            feedback_retention_days=float(getattr(args, "feedback_retention_days", cls.feedback_retention_days)),
        )


async def _prune_forever(app: web.Application) -> None:
    config, store = app[EXT_CONFIG], app[STORE]
    while True:
        before = time.time() - config.feedback_retention_days * 86400
        try:
            total = [0, 0]
            while True:  # one short transaction at a time: feedback writes get the lock in between
                deleted = await store.run(lambda: store.prune(feedback_before=before, batch=PRUNE_BATCH))
                total = [total[0] + deleted[0], total[1] + deleted[1]]
                if max(deleted) < PRUNE_BATCH:
                    break
            if any(total):
                log.info("retention: deleted %d feedback rows and %d trending counts", *total)
        except Exception:  # a busy file: try again next time
            log.exception("pruning old feedback failed")
        await asyncio.sleep(config.prune_every_s)


async def _retention_ctx(app: web.Application):
    task = asyncio.create_task(_prune_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _trending_ctx(app: web.Application):
    config = app[EXT_CONFIG]
    trending = TrendingBoost(app[STORE], max_boost=config.trending_boost, refresh_s=config.trending_refresh_s)
    app[TRENDING] = trending
    app[TRENDING_CACHE] = TrendingCache(app[STORE], ttl_s=config.trending_cache_s)
    task = asyncio.create_task(trending.run_forever()) if trending.max_boost > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _trending_postprocessor(app: web.Application) -> Callable[[SuggestResult], SuggestResult]:
    def boost(result: SuggestResult) -> SuggestResult:
        return SuggestResult(app[TRENDING].rerank(result.suggestions, result.lang), result.lang, result.model)

    return boost


def setup(app: web.Application, config: ExtensionConfig | None = None) -> None:
    """Mount everything on an app whose gateway is set up (`setup_gateway`)."""
    if GATEWAY not in app:
        raise RuntimeError("the extension API needs the core's gateway: create the app with ServiceConfig(gateway=GatewayConfig(...))")
    config = config or ExtensionConfig()
    app[EXT_CONFIG] = config
    app.cleanup_ctx.append(_trending_ctx)
    app.cleanup_ctx.append(_retention_ctx)
    if config.trending_boost > 0:
        app[POSTPROCESSORS].append(_trending_postprocessor(app))
    add_routes(app)
    if OPENAPI_PATHS in app:
        from extension_api.openapi import PATHS

        app[OPENAPI_PATHS].update(PATHS)


def from_args(args: argparse.Namespace) -> Callable[[web.Application], None]:
    """The `tagsmith.extensions` entry point: `tagsmith serve` calls it with its parsed options."""
    config = ExtensionConfig.from_args(args)
    return lambda app: setup(app, config)


def make_standalone_app(gateway: GatewayConfig, config: ExtensionConfig | None = None) -> web.Application:
    """The gateway and the extension API without the core models (tests and the kill test's subprocess)."""
    app = web.Application(middlewares=[error_middleware])
    app[POSTPROCESSORS] = []
    setup_gateway(app, gateway)
    setup(app, config)
    return app


def main(argv: list[str] | None = None) -> int:
    """`python -m extension_api.setup --port P --data-dir D`: the extension routes alone."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--data-dir", default=os.environ.get("TAGSMITH_DATA_DIR") or "var")
    parser.add_argument("--rate-per-s", type=float, default=GatewayConfig.rate_per_s)
    parser.add_argument("--rate-burst", type=int, default=GatewayConfig.rate_burst)
    args = parser.parse_args(argv)
    gateway = GatewayConfig(Path(args.data_dir), args.host, parse_origins([]), args.rate_per_s, args.rate_burst)
    web.run_app(make_standalone_app(gateway), host=args.host, port=args.port, print=lambda *a: print(*a, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
