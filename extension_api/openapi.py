"""OpenAPI path items of the extension API, merged into the core's /openapi.json.

The schemas state what routes.py checks (the same patterns and limits, imported from there), so a
schema-valid request is never refused for its shape and a schema-invalid one always is.
"""

from __future__ import annotations

from extension_api.routes import (
    ID_PATTERN,
    HEX_PATTERN,
    MAX_BLOCKED_TAGS,
    MAX_COUNT_RANGE,
    MAX_POST_TEXT_CHARS,
    MAX_TAG_CHARS,
    WINDOW_PATTERN,
)
from inference.server.openapi import GATEWAY_ERRORS, SECURITY, WRITE_ERRORS, error_item, json_item, nullable
from inference.server.store import FEEDBACK_ACTIONS
from inference.text.tags import LANGUAGES

_LANG = {"type": "string", "enum": list(LANGUAGES)}
_TAG = {"type": "string", "minLength": 1, "maxLength": MAX_TAG_CHARS, "example": "#AusOpen"}
_SETTINGS_FIELDS = {
    "blocked_tags": nullable({"type": "array", "maxItems": MAX_BLOCKED_TAGS, "items": _TAG, "example": ["nsfw"]}),
    "max_count": nullable({"type": "integer", "minimum": MAX_COUNT_RANGE[0], "maximum": MAX_COUNT_RANGE[1]}),
    "lang": nullable(_LANG),
}
_SETTINGS_REQUEST = {"type": "object", "additionalProperties": False, "properties": _SETTINGS_FIELDS}
_SETTINGS = {
    "type": "object",
    "required": ["community_id", "blocked_tags", "max_count", "lang"],
    "properties": {
        "community_id": {"type": "string", "example": "discord:123456789"},
        "blocked_tags": {"type": "array", "items": {"type": "string"}},
        "max_count": _SETTINGS_FIELDS["max_count"],
        "lang": _SETTINGS_FIELDS["lang"],
    },
}
_ID = {"type": "string", "pattern": ID_PATTERN}
_COMMUNITY_PARAM = {"name": "community_id", "in": "path", "required": True, "schema": _ID}
_FEEDBACK = {
    "type": "object",
    "required": ["action", "text_hash"],
    "additionalProperties": False,
    "description": "'tag' or 'suggestion_id' (a 'typed' action needs 'tag'); null fields count as absent",
    "properties": {
        "tag": nullable(_TAG),
        "suggestion_id": nullable(_ID),
        "text_hash": {"type": "string", "description": "hex digest (e.g. SHA-256) of the post text", "pattern": HEX_PATTERN},
        "action": {"type": "string", "enum": list(FEEDBACK_ACTIONS)},
        "client": nullable({"type": "string", "minLength": 1, "maxLength": 64, "example": "chrome-extension/0.1"}),
        "lang": nullable(_LANG),
        "community_id": nullable(_ID),
        "text": nullable({"type": "string", "maxLength": MAX_POST_TEXT_CHARS, "description": "the post text: stored only where the deployment opted in"}),
    },
}
_TRENDING = {
    "type": "object",
    "properties": {
        "window": {"type": "string"},
        "lang": {"type": "string"},
        "half_life_s": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"tag": {"type": "string"}, "score": {"type": "number"}, "count": {"type": "integer"}}}},
    },
}

PATHS = {
    "/v1/feedback": {
        "post": {
            "summary": "Record that a suggestion was accepted or rejected, or that a person typed a hashtag",
            "security": SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _FEEDBACK}}},
            "responses": {
                "201": json_item("stored (committed to disk)", {"type": "object", "properties": {"id": {"type": "integer"}, "tag": nullable({"type": "string"}), "text_stored": {"type": "boolean"}}}),
                "400": error_item("invalid body"),
                **GATEWAY_ERRORS,
                **WRITE_ERRORS,
            },
        }
    },
    "/v1/trending": {
        "get": {
            "summary": "Hashtags ranked by time-decayed counts of accepted and typed feedback",
            "security": SECURITY,
            "parameters": [
                {"name": "window", "in": "query", "description": "1m to 30d", "schema": {"type": "string", "default": "24h", "pattern": WINDOW_PATTERN}},
                {"name": "lang", "in": "query", "schema": {**_LANG, "default": "en"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
            ],
            "responses": {"200": json_item("ranked tags", _TRENDING), "400": error_item("bad window, lang or limit"), **GATEWAY_ERRORS},
        }
    },
    "/v1/communities/{community_id}/settings": {
        "get": {
            "summary": "A community's settings (defaults when none are stored)",
            "security": SECURITY,
            "parameters": [_COMMUNITY_PARAM],
            "responses": {"200": json_item("settings", _SETTINGS), "400": error_item("bad community id"), **GATEWAY_ERRORS},
        },
        "put": {
            "summary": "Replace a community's settings (the community is the path's)",
            "security": SECURITY,
            "parameters": [_COMMUNITY_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _SETTINGS_REQUEST}}},
            "responses": {"200": json_item("the stored settings", _SETTINGS), "400": error_item("invalid body"), **GATEWAY_ERRORS, **WRITE_ERRORS},
        },
    },
}
