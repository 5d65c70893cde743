"""Mount the extension API on the core app: `create_app(config, extensions=[setup])`.

What it adds: the /v1/feedback, /v1/trending and /v1/communities/{id}/settings routes, their OpenAPI
path items, the trending refresher in a cleanup context and, when `trending_boost` > 0, a postprocessor
of /v1/suggest results. The core's gateway (inference/server/gateway.py) guards these routes like every
/v1/* route and opens the SQLite store they use, so it must be mounted (`ServiceConfig.gateway`).

`tagsmith serve` finds this module through the `tagsmith.extensions` entry point (pyproject.toml):
the core never imports extension_api.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aiohttp import web

from extension_api.appkeys import EXT_CONFIG, TRENDING
from extension_api.routes import add_routes
from extension_api.trending import TrendingBoost
from inference.runtime.suggester import SuggestResult
from inference.server.appkeys import GATEWAY, OPENAPI_PATHS, POSTPROCESSORS, STORE
from inference.server.cors import parse_origins
from inference.server.errors import error_middleware
from inference.server.gateway import GatewayConfig, setup_gateway


@dataclass(frozen=True)
class ExtensionConfig:
    trending_boost: float = 0.0  # max boost added to a trending tag's score in /v1/suggest; 0 = off
    trending_refresh_s: float = 60.0
    store_post_text: bool = False  # store the raw post text sent with feedback (off: only its hash)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ExtensionConfig":
        """From `tagsmith serve` options (--trending-boost, --store-post-text)."""
        return cls(
            trending_boost=float(getattr(args, "trending_boost", 0.0) or 0.0),
            store_post_text=bool(getattr(args, "store_post_text", False)),
        )


async def _trending_ctx(app: web.Application):
    config = app[EXT_CONFIG]
    trending = TrendingBoost(app[STORE], max_boost=config.trending_boost, refresh_s=config.trending_refresh_s)
    app[TRENDING] = trending
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
