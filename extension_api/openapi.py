"""OpenAPI path items of the extension API, merged into the core's /openapi.json."""

from __future__ import annotations

_ERROR = {"$ref": "#/components/schemas/Error"}
_SECURITY = [{"bearer": []}]


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_AUTH_ERRORS = {
    "401": _error("missing, unknown or revoked API key"),
    "429": _error("rate limit exceeded (see Retry-After)"),
}

_SETTINGS = {
    "type": "object",
    "properties": {
        "community_id": {"type": "string", "example": "discord:123456789"},
        "blocked_tags": {"type": "array", "items": {"type": "string"}, "example": ["nsfw"]},
        "max_count": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
        "lang": {"type": ["string", "null"], "enum": ["en", "zh", None]},
    },
}

_COMMUNITY_PARAM = {"name": "community_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}}

PATHS = {
    "/v1/feedback": {
        "post": {
            "summary": "Record that a suggestion was accepted or rejected, or that a person typed a hashtag",
            "security": _SECURITY,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["action", "text_hash"],
                            "additionalProperties": False,
                            "properties": {
                                "tag": {"type": "string", "maxLength": 100, "example": "#AusOpen"},
                                "suggestion_id": {"type": "string", "maxLength": 128},
                                "text_hash": {"type": "string", "description": "hex digest (e.g. SHA-256) of the post text", "pattern": "^[0-9a-fA-F]{32,128}$"},
                                "action": {"type": "string", "enum": ["accepted", "rejected", "typed"]},
                                "client": {"type": "string", "maxLength": 64, "example": "chrome-extension/0.1"},
                                "lang": {"type": "string", "enum": ["en", "zh"]},
                                "community_id": {"type": "string", "maxLength": 128},
                                "text": {"type": "string", "description": "the post text: stored only where the deployment opted in"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _json("stored (committed to disk)", {"type": "object", "properties": {"id": {"type": "integer"}, "tag": {"type": ["string", "null"]}, "text_stored": {"type": "boolean"}}}),
                "400": _error("invalid body"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/v1/trending": {
        "get": {
            "summary": "Hashtags ranked by time-decayed counts of accepted and typed feedback",
            "security": _SECURITY,
            "parameters": [
                {"name": "window", "in": "query", "schema": {"type": "string", "default": "24h", "pattern": "^[0-9]+[mhd]$"}},
                {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["en", "zh"], "default": "en"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
            ],
            "responses": {
                "200": _json("ranked tags", {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "object", "properties": {"tag": {"type": "string"}, "score": {"type": "number"}, "count": {"type": "integer"}}}}}}),
                "400": _error("bad window, lang or limit"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/v1/communities/{community_id}/settings": {
        "get": {
            "summary": "A community's settings (defaults when none are stored)",
            "security": _SECURITY,
            "parameters": [_COMMUNITY_PARAM],
            "responses": {"200": _json("settings", _SETTINGS), "400": _error("bad community id"), **_AUTH_ERRORS},
        },
        "put": {
            "summary": "Replace a community's settings",
            "security": _SECURITY,
            "parameters": [_COMMUNITY_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _SETTINGS}}},
            "responses": {"200": _json("the stored settings", _SETTINGS), "400": _error("invalid body"), **_AUTH_ERRORS},
        },
    },
}
