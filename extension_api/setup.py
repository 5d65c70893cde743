"""Mount the extension API on the core app: `create_app(config, extensions=[setup])`.

What it adds: the /v1/feedback, /v1/trending and /v1/communities/{id}/settings routes; a guard
middleware for every /v1/* route (the core's /v1/suggest included) doing CORS preflight, API-key
auth and per-key rate limiting; CORS headers on every response; the SQLite store and the trending
refresher in a cleanup context. /, /healthz, /readyz, /metrics and /openapi.json stay public (they
carry no user data), but still get CORS headers for allowed origins.

Keyless local use: a request without a key is let through only when the server binds to 127.0.0.1,
localhost or ::1 AND no active key exists; creating the first key closes it. Binding anywhere else
always requires a key. Keyless requests are not rate limited (the limits are per key).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from inference.server.cors import add_cors_headers, is_preflight, parse_origins, preflight_response
from extension_api.errors import OriginNotAllowed, RateLimited, Unauthorized
from inference.server.keys import verify_key
from inference.server.ratelimit import TokenBucketLimiter
from extension_api.routes import add_routes
from inference.server.store import Store, default_data_dir
from extension_api.trending import TrendingBoost
from inference.server.appkeys import API_KEY_ID, CONFIG, EXT_CONFIG, LIMITER, OPENAPI_PATHS, STORE, TRENDING

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PROTECTED_PREFIX = "/v1/"


@dataclass(frozen=True)
class ExtensionConfig:
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"  # the address the server binds to: decides whether keyless use is possible
    cors_origins: tuple[str, ...] = ()
    rate_per_s: float = 10.0
    rate_burst: int = 20
    trending_boost: float = 0.0  # max boost added to a trending tag's score in /v1/suggest; 0 = off
    trending_refresh_s: float = 60.0
    store_post_text: bool = False  # store the raw post text sent with feedback (off: only its hash)

    @classmethod
    def from_service_config(cls, config) -> "ExtensionConfig":
        """From the core ServiceConfig: host, data_dir, trending_boost, and `extra` keys cors_origins,
        rate_per_s, rate_burst, store_post_text (TAGSMITH_CORS_ORIGINS is added to cors_origins)."""
        extra = getattr(config, "extra", {}) or {}
        return cls(
            data_dir=Path(getattr(config, "data_dir", None) or default_data_dir()),
            host=config.host,
            cors_origins=parse_origins(extra.get("cors_origins", ())),
            rate_per_s=float(extra.get("rate_per_s", cls.rate_per_s)),
            rate_burst=int(extra.get("rate_burst", cls.rate_burst)),
            trending_boost=float(getattr(config, "trending_boost", 0.0)),
            store_post_text=bool(extra.get("store_post_text", False)),
        )

    @property
    def keyless_possible(self) -> bool:
        return self.host in LOCAL_HOSTS


@web.middleware
async def guard_middleware(request: web.Request, handler):
    config = request.app[EXT_CONFIG]
    if is_preflight(request):
        problem = preflight_response(request, frozenset(config.cors_origins))
        if isinstance(problem, str):
            raise OriginNotAllowed(problem)
        return problem
    if request.path.startswith(PROTECTED_PREFIX):
        key_id = await authenticate(request, config)
        request[API_KEY_ID] = key_id
        # Keyless local use (loopback, no key exists) is the operator's own machine: not limited.
        wait_s = request.app[LIMITER].acquire(f"key:{key_id}") if key_id is not None else 0.0
        if wait_s > 0:
            raise RateLimited(
                f"rate limit of {config.rate_per_s:g} requests/s (burst {config.rate_burst}) exceeded; retry in {wait_s:.2f} s",
                wait_s,
            )
    return await handler(request)


async def authenticate(request: web.Request, config: ExtensionConfig) -> int | None:
    """The verified key id, or None for keyless local use; raises Unauthorized."""
    store: Store = request.app[STORE]
    header = request.headers.get("Authorization")
    if header is None:
        if config.keyless_possible and await store.run_read(store.active_key_count) == 0:
            return None
        why = (
            "this server has API keys" if config.keyless_possible
            else f"the server binds to {config.host}, not to localhost"
        )
        raise Unauthorized(f"missing API key ({why}): send 'Authorization: Bearer <key>'; an operator creates one with `tagsmith keys create --name NAME`")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    check = await store.run_read(verify_key, store, key.strip())
    if check.key_id is None:
        raise Unauthorized(check.problem)
    return check.key_id


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    add_cors_headers(request, response, frozenset(request.app[EXT_CONFIG].cors_origins))


async def _store_ctx(app: web.Application):
    config = app[EXT_CONFIG]
    store = await asyncio.get_running_loop().run_in_executor(None, Store, config.data_dir)
    app[STORE] = store
    trending = TrendingBoost(store, max_boost=config.trending_boost, refresh_s=config.trending_refresh_s)
    app[TRENDING] = trending
    task = asyncio.create_task(trending.run_forever()) if trending.max_boost > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    store.close()


def setup(app: web.Application, config: ExtensionConfig | None = None) -> None:
    """Mount everything; without `config` it is read from the core's ServiceConfig (app[CONFIG])."""
    if config is None:
        try:
            config = ExtensionConfig.from_service_config(app[CONFIG])
        except ValueError as exc:  # a bad --cors-origin or limit: a message, not a traceback
            raise SystemExit(f"error: {exc}") from None
    app[EXT_CONFIG] = config
    try:
        app[LIMITER] = TokenBucketLimiter(config.rate_per_s, config.rate_burst)
    except ValueError as exc:
        raise SystemExit(f"error: {exc} (--rate-limit, --rate-burst)") from None
    app.middlewares.append(guard_middleware)
    app.on_response_prepare.append(_on_prepare)
    app.cleanup_ctx.append(_store_ctx)
    add_routes(app)
    if OPENAPI_PATHS in app:
        from extension_api.openapi import PATHS

        app[OPENAPI_PATHS].update(PATHS)


def make_standalone_app(config: ExtensionConfig) -> web.Application:
    """The extension API without the core models (tests and the kill test's subprocess)."""
    from inference.server.errors import error_middleware

    app = web.Application(middlewares=[error_middleware])
    setup(app, config)
    return app


def main(argv: list[str] | None = None) -> int:
    """`python -m extension_api.setup --port P --data-dir D`: the extension routes alone."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--data-dir", default=os.environ.get("TAGSMITH_DATA_DIR") or "var")
    parser.add_argument("--rate-per-s", type=float, default=10.0)
    parser.add_argument("--rate-burst", type=int, default=20)
    args = parser.parse_args(argv)
    config = ExtensionConfig(Path(args.data_dir), args.host, parse_origins([]), args.rate_per_s, args.rate_burst)
    web.run_app(make_standalone_app(config), host=args.host, port=args.port, print=lambda *a: print(*a, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
