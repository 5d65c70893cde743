"""The service's request errors and the one middleware that turns every failure into JSON.

Handlers raise a `ServiceError` subclass naming what was wrong; `error_middleware` answers
`{"error": {"code", "message"}}` with the error's status. aiohttp's own HTTP errors (404, 405,
413 from `client_max_size`) get the same shape, and anything unexpected becomes a logged 500 whose
body carries no traceback.
"""

from __future__ import annotations

import json
import logging
import math
import re

from aiohttp import web

from inference.errors import ServiceError

log = logging.getLogger(__name__)


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str):
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="tagsmith"'})


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))})


class OriginNotAllowed(ServiceError):
    status = 403
    code = "origin_not_allowed"


class HostNotAllowed(ServiceError):
    """The Host header names no allowed host: a DNS-rebinding page, or a proxy nobody configured."""

    status = 403
    code = "host_not_allowed"


class UnsupportedMediaType(ServiceError):
    """A write whose body is not declared as JSON (a cross-site form or text/plain post)."""

    status = 415
    code = "unsupported_media_type"


class InvalidJSON(ServiceError):
    code = "invalid_json"


class InvalidField(ServiceError):
    """A field of the body has the wrong type, is out of range, or is unknown."""

    code = "invalid_field"


class MissingInput(ServiceError):
    code = "missing_input"


class InputTooLarge(ServiceError):
    """A text or thread over its length limit (the whole body over the limit is `BodyTooLarge`)."""

    code = "input_too_large"


class UnknownLanguage(ServiceError):
    code = "unknown_lang"


class UnsupportedLanguage(ServiceError):
    """The text reads as a language no model serves (and no vocabulary fallback is loaded)."""

    status = 422
    code = "unsupported_language"


class BodyTooLarge(ServiceError):
    status = 413
    code = "body_too_large"


class NotImplementedYet(ServiceError):
    status = 501
    code = "not_implemented"


class Overloaded(ServiceError):
    """The request queue is full: come back later rather than grow memory without bound."""

    status = 503
    code = "overloaded"

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


class NotReady(ServiceError):
    status = 503
    code = "not_ready"

    def __init__(self, message: str, retry_after_s: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


# aiohttp HTTP exceptions -> (code, message): the reason phrase alone says little.
_HTTP_CODES = {
    404: ("not_found", "no route {method} {path}; see /openapi.json for the routes"),
    405: ("method_not_allowed", "{method} is not allowed on {path}"),
    413: ("body_too_large", "{text}"),
}


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ServiceError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and the like pass through untouched
            raise
        code, template = _HTTP_CODES.get(exc.status, (exc.reason.lower().replace(" ", "_"), exc.reason))
        message = template.format(method=request.method, path=request.path, text=exc.text or exc.reason)
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(exc.status, code, message, headers)
    except ConnectionResetError:  # the client went away mid-upload: nobody reads this answer
        log.info("client disconnected during %s %s", request.method, request.path)
        return error_response(400, "client_disconnected", "the connection closed before the body was read")
    except Exception:  # a bug: log it with its traceback, tell the client nothing internal
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; the server log has the details")


MAX_JSON_DEPTH = 32  # arrays/objects inside one another; no request needs more than 3
MAX_QUERY_INT_DIGITS = 9
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _check_tree(value, where: str) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and lone surrogates ("\\ud800" escapes): both would
    fail later, far from the input (recursion in the runtime, UnicodeEncodeError in SQLite)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            # an ASCII string holds no surrogate (CPython knows it in O(1)): a photo's base64 is never scanned
            if not node.isascii() and _SURROGATE_RE.search(node):
                raise InvalidJSON(f"{where} holds a lone UTF-16 surrogate escape (e.g. \\ud800): not a character")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidJSON(f"{where} nests arrays/objects more than {MAX_JSON_DEPTH} deep")
        if isinstance(node, dict):
            stack.extend((k, depth) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        else:
            stack.extend((v, depth + 1) for v in node)


def parse_json_object(raw: bytes | str, where: str = "body") -> dict:
    """A request body (or multipart part) that must be one JSON object; InvalidJSON saying what is
    wrong otherwise: not JSON, not an object, nested too deep, or holding lone surrogates."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise InvalidJSON(f"{where} nests arrays/objects more than {MAX_JSON_DEPTH} deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJSON(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidJSON(f"{where} must be a JSON object, not {type(body).__name__}")
    _check_tree(body, where)
    return body


def parse_query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A query parameter that must be an integer in [low, high]: ASCII digits only (no '²', no '+1',
    no 5,000-digit number), else InvalidField."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_QUERY_INT_DIGITS) or not low <= int(raw) <= high:
        raise InvalidField(f"'{name}' must be an integer from {low} to {high}, got {raw[:40]!r}")
    return int(raw)
