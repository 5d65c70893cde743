"""CORS for the browser extension: an explicit allow-list of origins, nothing by default.

Origins are exact strings: `chrome-extension://<id>`, `moz-extension://<uuid>` (Firefox gives every
install its own UUID: list each one, or call the API from the extension's background script with
host permissions, which sends no CORS check), `safari-web-extension://<id>`, or a web origin such as
`https://example.org` (scheme, host, optional port; no path, no trailing slash).
"""

from __future__ import annotations

import os
import re

from aiohttp import web

ALLOWED_METHODS = "GET, POST, PUT, OPTIONS"
ALLOWED_HEADERS = ("authorization", "content-type")
MAX_AGE_S = "600"
_ORIGIN_RE = re.compile(
    r"^(?:(?:chrome-extension|moz-extension|safari-web-extension)://[A-Za-z0-9._-]+"
    r"|https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:]+\](?::[0-9]{1,5})?)$"
)


def parse_origins(cli_origins: list[str] | tuple[str, ...] | None, env: str | None = None) -> tuple[str, ...]:
    """`--cors-origin` values plus `TAGSMITH_CORS_ORIGINS` (comma-separated); raises ValueError on a bad one."""
    env = os.environ.get("TAGSMITH_CORS_ORIGINS", "") if env is None else env
    origins: list[str] = []
    for origin in [*(cli_origins or []), *env.split(",")]:
        origin = origin.strip()
        if not origin:
            continue
        if origin == "*" or not _ORIGIN_RE.match(origin):
            raise ValueError(
                f"bad CORS origin {origin!r}: expected chrome-extension://ID, moz-extension://UUID or "
                "https://host[:port] (no path, no trailing slash, no wildcard)"
            )
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def is_preflight(request: web.Request) -> bool:
    return request.method == "OPTIONS" and "Origin" in request.headers and "Access-Control-Request-Method" in request.headers


def preflight_response(request: web.Request, allowed: frozenset[str]) -> web.Response | str:
    """204 with the allow headers for an allowed origin, method and headers; else why it is refused."""
    origin = request.headers["Origin"]
    method = request.headers["Access-Control-Request-Method"].strip().upper()
    asked = [h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()]
    if origin not in allowed:
        return f"origin {origin!r} is not allowed; the operator lists allowed origins with --cors-origin or TAGSMITH_CORS_ORIGINS"
    if method not in ALLOWED_METHODS.split(", "):
        return f"method {method} is not allowed; allowed: {ALLOWED_METHODS}"
    refused = [h for h in asked if h not in ALLOWED_HEADERS]
    if refused:
        return f"request header(s) {refused} are not allowed; allowed: Authorization, Content-Type"
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": MAX_AGE_S,
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
    )


def add_cors_headers(request: web.Request, response: web.StreamResponse, allowed: frozenset[str]) -> None:
    """On every response (errors included, so the extension can read a 401/429 body)."""
    if "Access-Control-Allow-Origin" in response.headers:
        return  # a preflight answer already carries its own
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = "Origin"
    elif "origin" not in vary.lower():
        response.headers["Vary"] = vary + ", Origin"
    origin = request.headers.get("Origin")
    if origin is not None and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
