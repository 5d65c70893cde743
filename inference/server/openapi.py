"""The OpenAPI 3 document of the service, served at /openapi.json.

Core routes are described here; an extension documents its own routes by adding path items to
`app[OPENAPI_PATHS]` in its `setup(app)`. tests/test_openapi.py walks `app.router` and fails on
any route missing from the document; tests/test_api_fuzz.py runs schemathesis over every route.

OpenAPI 3.0.3 syntax: `nullable: true` (null is taken as the field's absence), never a type list.
Every /v1/* route declares the `bearer` scheme, or none (keyless local use), and its 401/403/429.
"""

from __future__ import annotations

from aiohttp import web

from inference.limits import (
    DEFAULT_K,
    MAX_HASHTAG_CHARS,
    MAX_HASHTAGS,
    MAX_K,
    MAX_OCR_PIXELS,
    MAX_TEXT_CHARS,
    MAX_THREAD_MESSAGE_CHARS,
    MAX_THREAD_MESSAGES,
    MIN_K,
)
from inference.server.appkeys import OPENAPI_PATHS
from inference.text.tags import LANGUAGES


_ERROR = {"$ref": "#/components/schemas/Error"}


def error_item(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def json_item(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# /v1/*: an API key, or none where the server allows keyless local use
SECURITY = [{"bearer": []}, {}]
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API key, tsk_<id>_<secret> (`tagsmith keys create`)"}
}
GATEWAY_ERRORS = {
    "401": error_item("missing, malformed, unknown or revoked API key"),
    "403": error_item("a browser origin or a Host header this server does not allow"),
    "429": error_item("rate limit exceeded (per key, or per address without a key); see Retry-After"),
}
WRITE_ERRORS = {
    "413": error_item("body over its maximum"),
    "415": error_item("the body is not declared as application/json"),
}


def nullable(schema: dict) -> dict:
    """`schema` or null (taken as absent); an enum lists null too, as OpenAPI 3.0.3 asks."""
    out = {**schema, "nullable": True}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "invalid_field"},
                    "message": {"type": "string", "example": "k must be an integer from 1 to 20"},
                },
            }
        },
    },
    "SuggestRequest": {
        "type": "object",
        "additionalProperties": False,
        "description": "a post ('text' with a non-space character) or an image, or both; null fields count as absent",
        "anyOf": [
            {"required": ["text"], "properties": {"text": {"type": "string", "pattern": "\\S"}}},
            {"required": ["image"], "properties": {"image": {"type": "string", "minLength": 1}}},
        ],
        "properties": {
            "text": nullable({"type": "string", "maxLength": MAX_TEXT_CHARS, "description": "the post"}),
            "thread": nullable({
                "type": "array",
                "maxItems": MAX_THREAD_MESSAGES,
                "items": {"type": "string", "maxLength": MAX_THREAD_MESSAGE_CHARS},
                "description": "replies or the messages the post answers, oldest first",
            }),
            "hashtags": nullable({
                "type": "array",
                "maxItems": MAX_HASHTAGS,
                "items": {"type": "string", "maxLength": MAX_HASHTAG_CHARS},
                "description": "hashtags already on the post; never suggested again",
            }),
            "image": {"type": "string", "format": "byte", "nullable": True, "description": "null or '': no image. base64 image (JPEG, PNG, GIF, WebP…; <= 10 MB, <= 50 Mpx; animated: first frame); alone or with text. Also accepted as the `image` file part of a multipart/form-data body whose other fields are text, lang, k, repeated thread/hashtags (or a `request` part with this JSON)"},
            "k": {"type": "integer", "minimum": MIN_K, "maximum": MAX_K, "default": DEFAULT_K},
            "lang": nullable({"type": "string", "enum": list(LANGUAGES), "description": "detected when absent"}),
        },
        "example": {"text": "Watching the final set at the Australian Open tonight", "thread": ["what a match"], "k": 5},
    },
    "Suggestion": {
        "type": "object",
        "properties": {
            "tag": {"type": "string", "example": "#AusOpen"},
            "words": {"type": "string", "example": "aus open"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "source": {"type": "string", "example": "generator"},
        },
    },
    "SuggestResponse": {
        "type": "object",
        "properties": {
            "suggestions": {"type": "array", "items": {"$ref": "#/components/schemas/Suggestion"}},
            "model": {"type": "string", "example": "tagsmith-en@1"},
            "lang": {"type": "string", "description": "the language whose model (or vocabulary search) answered"},
            "detected_lang": {"type": "string", "nullable": True, "description": "what the text reads as (ISO 639-1); null without text"},
            "below_floor": {"type": "boolean", "description": "fewer than k tags cleared the relevance floor: the list is short on purpose"},
            "warnings": {"type": "array", "items": {"type": "string"}, "description": "e.g. a forced lang that contradicts the text"},
            "ocr_text": {"type": "string", "example": "GREAT NORTH\nRUN 2026", "description": (
                "the text read in the photo (OCR), one line per text line: the tags are grounded on the post and it together; "
                f"'' without an image, with OCR off, or when the photo shows no readable text (read at <= {MAX_OCR_PIXELS:,} pixels)")},
            "took_ms": {"type": "number"},
        },
    },
}

CORE_PATHS = {
    "/": {"get": {"summary": "a page to try suggestions by hand", "responses": {"200": {"description": "HTML"}}}},
    "/v1/suggest": {
        "post": {
            "summary": "hashtag suggestions for a post, its thread, or an image",
            "security": SECURITY,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SuggestRequest"}}},
            },
            "responses": {
                "200": json_item("suggestions, best first", {"$ref": "#/components/schemas/SuggestResponse"}),
                "400": error_item("malformed request: the message says what was wrong"),
                **GATEWAY_ERRORS,
                **WRITE_ERRORS,
                "413": error_item("body over the configured maximum, or an image over 10 MB / 50 Mpx"),
                "422": error_item("the text is in a language no model serves (unsupported_language)"),
                "501": error_item("an image alone while no image model is loaded"),
                "503": error_item("queue full or models not loaded; see Retry-After"),
            },
        }
    },
    "/healthz": {"get": {"summary": "the process is alive", "responses": {"200": json_item("alive", {"type": "object"})}}},
    "/readyz": {
        "get": {
            "summary": "models loaded, ready for traffic",
            "responses": {"200": json_item("ready, with the models", {"type": "object"}), "503": error_item("not ready")},
        }
    },
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Prometheus text format"}}}},
    "/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3"}}}},
}


def build_openapi(app: web.Application, version: str = "0.1.0") -> dict:
    paths = {path: dict(item) for path, item in CORE_PATHS.items()}
    for path, item in app.get(OPENAPI_PATHS, {}).items():
        paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.0.3",
        "info": {"title": "tagsmith", "version": version, "description": "Hashtag suggestions for posts, threads and images."},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }


async def handle_openapi(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app))
