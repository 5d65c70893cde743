"""The gateway every /v1/* route passes: CORS preflight, API-key auth and per-key rate limits.

`setup_gateway(app, GatewayConfig(...))` adds the guard middleware, CORS headers on every response,
the per-key token buckets and the SQLite store (its file holds the API keys) in a cleanup context.
/, /healthz, /readyz, /metrics and /openapi.json stay public (they carry no user data), but still get
CORS headers for allowed origins.

Keyless local use: a request without a key is let through only when the server binds to 127.0.0.1,
localhost or ::1, no active key exists AND no key was ever created (or the operator passed
--allow-keyless): creating the first key closes it, and revoking every key does not reopen it.
Binding anywhere else always requires a key. Keyless requests are rate limited per peer address.

Web pages cannot use a local server: on a loopback bind (or wherever --allowed-host is given) the Host
header must name an allowed host (403 otherwise: DNS rebinding), and every /v1/* write must be
declared JSON (415 for a cross-site form or text/plain post, which a browser sends without a preflight).
Every response says `Server: tagsmith`, no version.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from inference.limits import RATE_BURST, RATE_PER_S
from inference.server.appkeys import API_KEY_ID, GATEWAY, LIMITER, STORE
from inference.server.cors import add_cors_headers, is_preflight, parse_origins, preflight_response
from inference.server.errors import HostNotAllowed, OriginNotAllowed, RateLimited, Unauthorized, UnsupportedMediaType
from inference.server.keys import verify_key
from inference.server.ratelimit import TokenBucketLimiter
from inference.server.store import Store, default_data_dir

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PROTECTED_PREFIX = "/v1/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SERVER_HEADER = "tagsmith"


@dataclass(frozen=True)
class GatewayConfig:
    data_dir: Path = default_data_dir()  # the SQLite file (keys, and the extension API's data)
    host: str = "127.0.0.1"  # the address the server binds to: decides whether keyless use is possible
    cors_origins: tuple[str, ...] = ()
    rate_per_s: float = RATE_PER_S
    rate_burst: int = RATE_BURST
    allow_keyless: bool = False  # keyless use again once every key is revoked (still loopback binds only)
    allowed_hosts: tuple[str, ...] = ()  # Host header names accepted besides the loopback ones (a proxy's name)
    form_paths: tuple[str, ...] = ("/v1/suggest",)  # writes that may also come as multipart/form-data

    @property
    def keyless_possible(self) -> bool:
        return self.host in LOCAL_HOSTS

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "GatewayConfig":
        """From `tagsmith serve` options; raises ValueError on a bad --cors-origin."""
        return cls(
            data_dir=Path(args.data_dir),
            host=args.host,
            cors_origins=parse_origins(getattr(args, "cors_origin", [])),
            rate_per_s=getattr(args, "rate_limit", cls.rate_per_s),
            rate_burst=getattr(args, "rate_burst", cls.rate_burst),
            allow_keyless=bool(getattr(args, "allow_keyless", False)),
            allowed_hosts=tuple(h.strip().lower().rstrip(".") for h in getattr(args, "allowed_host", None) or () if h.strip()),
        )


def host_name(host_header: str) -> str:
    """'Example.org:8080' -> 'example.org', '[::1]:8080' -> '::1'."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    return (name if colon and port.isdigit() and ":" not in name else host).rstrip(".")


def _is_loopback(name: str) -> bool:
    if name in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host(request: web.Request, config: GatewayConfig) -> None:
    """On a loopback bind, or with --allowed-host, the Host header must name an allowed host."""
    if not (config.keyless_possible or config.allowed_hosts):
        return
    name = host_name(request.headers.get("Host", ""))
    if not (_is_loopback(name) or name in config.allowed_hosts):
        raise HostNotAllowed(f"host {name[:100]!r} is not allowed: this server answers to localhost names"
                             " (a proxy's public name is added with --allowed-host NAME)")


def check_content_type(request: web.Request, config: GatewayConfig) -> None:
    """A /v1/* write must be JSON (multipart too where `form_paths` says so)."""
    if request.method not in WRITE_METHODS:
        return
    allowed = ("application/json", "multipart/form-data") if request.path in config.form_paths else ("application/json",)
    if request.content_type not in allowed:
        raise UnsupportedMediaType(f"send the body as {' or '.join(allowed)} (Content-Type), not {request.content_type[:100]}")


@web.middleware
async def guard_middleware(request: web.Request, handler):
    config = request.app[GATEWAY]
    if is_preflight(request):
        problem = preflight_response(request, frozenset(config.cors_origins))
        if isinstance(problem, str):
            raise OriginNotAllowed(problem)
        return problem
    if request.path.startswith(PROTECTED_PREFIX):
        check_host(request, config)
        key_id = await authenticate(request, config)
        request[API_KEY_ID] = key_id
        # keyless requests share a bucket per peer address
        wait_s = request.app[LIMITER].acquire(f"key:{key_id}" if key_id is not None else f"peer:{request.remote}")
        if wait_s > 0:
            raise RateLimited(
                f"rate limit of {config.rate_per_s:g} requests/s (burst {config.rate_burst}) exceeded; retry in {wait_s:.2f} s",
                wait_s,
            )
        check_content_type(request, config)
    return await handler(request)


def keyless_refusal(store: Store, allow_keyless: bool) -> str | None:
    """Blocking: None if keyless use is open on a loopback bind, else why not."""
    if store.active_key_count() > 0:
        return "this server has API keys"
    if store.keys_ever_created() and not allow_keyless:
        return "every API key was revoked; keyless use stays closed unless the server runs with --allow-keyless"
    return None


async def authenticate(request: web.Request, config: GatewayConfig) -> int | None:
    """The verified key id, or None for keyless local use; raises Unauthorized."""
    store: Store = request.app[STORE]
    header = request.headers.get("Authorization")
    if header is None:
        why = f"the server binds to {config.host}, not to localhost"
        if config.keyless_possible:
            why = await store.run_auth(keyless_refusal, store, config.allow_keyless)
            if why is None:
                return None
        raise Unauthorized(f"missing API key ({why}): send 'Authorization: Bearer <key>'; an operator creates one with `tagsmith keys create --name NAME`")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    check = await store.run_auth(verify_key, store, key.strip())
    if check.key_id is None:
        raise Unauthorized(check.problem)
    return check.key_id


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    add_cors_headers(request, response, frozenset(request.app[GATEWAY].cors_origins))
    response.headers["Server"] = SERVER_HEADER


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
