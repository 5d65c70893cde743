"""The gateway every /v1/* route passes: CORS preflight, API-key auth and per-key rate limits.

`setup_gateway(app, GatewayConfig(...))` adds the guard middleware, CORS headers on every response,
the per-key token buckets and the SQLite store (its file holds the API keys) in a cleanup context.
/, /healthz, /readyz, /metrics and /openapi.json stay public (they carry no user data), but still get
CORS headers for allowed origins.

Keyless local use: a request without a key is let through only when the server binds to 127.0.0.1,
localhost or ::1 AND no active key exists; creating the first key closes it. Binding anywhere else
always requires a key. Keyless requests are not rate limited (the limits are per key).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from inference.limits import RATE_BURST, RATE_PER_S
from inference.server.appkeys import API_KEY_ID, GATEWAY, LIMITER, STORE
from inference.server.cors import add_cors_headers, is_preflight, preflight_response
from inference.server.errors import OriginNotAllowed, RateLimited, Unauthorized
from inference.server.keys import verify_key
from inference.server.ratelimit import TokenBucketLimiter
from inference.server.store import Store, default_data_dir

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PROTECTED_PREFIX = "/v1/"


@dataclass(frozen=True)
class GatewayConfig:
    data_dir: Path = default_data_dir()  # the SQLite file (keys, and the extension API's data)
    host: str = "127.0.0.1"  # the address the server binds to: decides whether keyless use is possible
    cors_origins: tuple[str, ...] = ()
    rate_per_s: float = RATE_PER_S
    rate_burst: int = RATE_BURST

    @property
    def keyless_possible(self) -> bool:
        return self.host in LOCAL_HOSTS


@web.middleware
async def guard_middleware(request: web.Request, handler):
    config = request.app[GATEWAY]
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


async def authenticate(request: web.Request, config: GatewayConfig) -> int | None:
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
    add_cors_headers(request, response, frozenset(request.app[GATEWAY].cors_origins))


async def _store_ctx(app: web.Application):
    store = await asyncio.get_running_loop().run_in_executor(None, Store, app[GATEWAY].data_dir)
    app[STORE] = store
    yield
    store.close()


def setup_gateway(app: web.Application, config: GatewayConfig) -> None:
    """Guard every /v1/* route of `app`; raises ValueError on a bad rate limit."""
    app[GATEWAY] = config
    app[LIMITER] = TokenBucketLimiter(config.rate_per_s, config.rate_burst)
    app.middlewares.append(guard_middleware)
    app.on_response_prepare.append(_on_prepare)
    app.cleanup_ctx.append(_store_ctx)
