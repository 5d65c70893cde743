"""One access log line per request, and a request id on every response.

`access_log_middleware` (the outermost middleware of `create_app`) gives each request an id: the
client's `X-Request-Id` when it is a short token, else a new one. The id comes back in the
`X-Request-Id` response header and in every JSON error body (`{"error": {"code", "message",
"request_id"}}`: the error middleware's bodies are post-processed here). Each request logs one line
on the `tagsmith.access` logger: method, route template, status, milliseconds, request id. Never
the body, the query string or a header: no post text, no key.

`configure_logging("text" | "json")` sets up the root logger of `tagsmith serve`; `json` writes one
object a line for log collectors (`time`, `level`, `logger`, `message`, and an access line's fields).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from aiohttp import web

from inference.server.prometheus import route_label

log = logging.getLogger("tagsmith.access")

HEADER = "X-Request-Id"
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a client's own id is kept only when it is a plain token
ACCESS_FIELDS = ("method", "route", "status", "ms", "request_id")
LOG_FORMATS = ("text", "json")


def request_id_for(request: web.Request) -> str:
    given = request.headers.get(HEADER, "")
    return given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex


def _with_request_id(response: web.StreamResponse, request_id: str) -> web.StreamResponse:
    """The id in the header, and inside `{"error": {...}}` of a JSON error body."""
    response.headers[HEADER] = request_id
    body = getattr(response, "body", None)
    if response.status < 400 or response.content_type != "application/json" or not isinstance(body, bytes):
        return response
    try:
        payload = json.loads(body)
    except ValueError:
        return response
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        payload["error"]["request_id"] = request_id
        response.body = json.dumps(payload).encode("utf-8")
    return response


@web.middleware
async def access_log_middleware(request: web.Request, handler) -> web.StreamResponse:
    request_id = request_id_for(request)
    request[REQUEST_ID] = request_id
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return _with_request_id(response, request_id)
    except web.HTTPException as exc:  # redirects and the like, raised past the error middleware
        status = exc.status
        exc.headers[HEADER] = request_id
        raise
    finally:
        fields = {"method": request.method, "route": route_label(request), "status": status,
                  "ms": round((time.perf_counter() - start) * 1000, 1), "request_id": request_id}
        log.info("%(method)s %(route)s %(status)s %(ms).1f ms id=%(request_id)s", fields, extra={"access": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object a line; an access line carries its fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "access", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str = "text", stream=None) -> None:
    """The root handler of `tagsmith serve` (set before it runs: its own basicConfig then does nothing)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
