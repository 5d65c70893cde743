"""HTTP routes of the extension API: feedback, trending, per-community settings.

Every handler validates its input into clear 4xx errors (inference/server/errors.py shapes them as JSON)
and does its SQLite work through `Store.run`, off the event loop. The patterns and limits here are
those extension_api/openapi.py documents; null counts as an absent field; values are checked as sent
(a pattern or length holds for the raw string, not a stripped one).
"""

from __future__ import annotations

import json
import re

from aiohttp import web

from inference.server.store import FEEDBACK_ACTIONS, CommunitySettings, Store
from extension_api.appkeys import EXT_CONFIG, TRENDING_CACHE
from inference.server.appkeys import API_KEY_ID, STORE
from inference.limits import MAX_SMALL_BODY_BYTES as MAX_BODY_BYTES
from inference.server.errors import (
    BodyTooLarge,
    InvalidField,
    InvalidJSON,
    MissingInput,
    UnknownLanguage,
    parse_json_object,
    parse_query_int,
)
from inference.text.tags import LANGUAGES, normalize_tag as tag_words

MAX_TAG_CHARS = 100
MAX_POST_TEXT_CHARS = 10_000
MAX_BLOCKED_TAGS = 1000
MAX_COUNT_RANGE = (1, 50)
HEX_PATTERN = "^[0-9a-fA-F]{32,128}$"
ID_PATTERN = "^[A-Za-z0-9._:-]{1,128}$"
# 1m to 30d: 1-43200 minutes, 1-720 hours or 1-30 days, no leading zero
WINDOW_PATTERN = (
    "^(?:(?:[1-9][0-9]{0,3}|[1-3][0-9]{4}|4[0-2][0-9]{3}|43[01][0-9]{2}|43200)m"
    "|(?:[1-9][0-9]?|[1-6][0-9]{2}|7[01][0-9]|720)h|(?:[1-9]|[12][0-9]|30)d)$"
)
_HEX_RE = re.compile(HEX_PATTERN)
_ID_RE = re.compile(ID_PATTERN)
_WINDOW_RE = re.compile(WINDOW_PATTERN)
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}
FEEDBACK_FIELDS = ("suggestion_id", "tag", "text_hash", "action", "client", "lang", "community_id", "text")
SETTINGS_FIELDS = ("blocked_tags", "max_count", "lang")


# -- validation helpers ------------------------------------------------------------------------------
async def read_json_object(request: web.Request, allowed: tuple[str, ...]) -> dict:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body has {request.content_length} bytes; at most {MAX_BODY_BYTES} allowed")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if request.content_length is not None and len(raw) < request.content_length:
        raise ConnectionResetError("the client closed the connection before its whole body was read")
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"body is over {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        raise InvalidJSON("body is empty: send a JSON object")
    body = parse_json_object(raw)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidField(f"unknown field(s) {unknown}; allowed: {list(allowed)}")
    return body


def optional_str(body: dict, name: str, max_chars: int, pattern: re.Pattern | None = None, what: str = "") -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(f"'{name}' must be a string, not {type(value).__name__}")
    if pattern is not None:
        if not pattern.fullmatch(value):
            raise InvalidField(f"'{name}' must be {what}")
        return value
    if not value.strip() or len(value) > max_chars:
        raise InvalidField(f"'{name}' must be 1 to {max_chars} characters, not blank")
    return value.strip()


def parse_lang(value) -> str | None:
    if value is None:
        return None
    if value not in LANGUAGES:
        raise UnknownLanguage(f"unknown lang {value!r}; supported: {list(LANGUAGES)}")
    return value


def normalize_tag(raw: str, field_name: str = "tag") -> str:
    """'#AusOpen', 'ausopen', 'Aus Open' -> 'aus open' (the canonical words form). Blocking (segmenter)."""
    raw = raw.strip().lstrip("#").strip()
    words = raw.lower().split() if any(c.isspace() for c in raw) else tag_words(raw).split()
    words = [w for w in words if w]
    if not words:
        raise InvalidField(f"'{field_name}' has no letters or digits")
    return " ".join(words)


def parse_community_id(request: web.Request) -> str:
    community_id = request.match_info["community_id"]
    if not _ID_RE.fullmatch(community_id):
        raise InvalidField("community id must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (e.g. 'discord:1234', 'telegram:-100987')")
    return community_id


# -- handlers ------------------------------------------------------------------------------------------
async def handle_feedback(request: web.Request) -> web.Response:
    body = await read_json_object(request, FEEDBACK_FIELDS)
    action = body.get("action")
    if action is None:
        raise MissingInput(f"'action' is required: one of {list(FEEDBACK_ACTIONS)}")
    if action not in FEEDBACK_ACTIONS:
        raise InvalidField(f"'action' must be one of {list(FEEDBACK_ACTIONS)}, got {json.dumps(action)}")
    tag = optional_str(body, "tag", MAX_TAG_CHARS)
    suggestion_id = optional_str(body, "suggestion_id", 128, _ID_RE, "1 to 128 characters of A-Z a-z 0-9 . _ : -")
    if tag is None and suggestion_id is None:
        raise MissingInput("send 'tag' (the hashtag, e.g. '#AusOpen') or 'suggestion_id'")
    if action == "typed" and tag is None:
        raise MissingInput("'typed' feedback needs 'tag': the hashtag the person wrote")
    text_hash = optional_str(body, "text_hash", 128, _HEX_RE, "a hex digest of the post text (32 to 128 hex digits, e.g. SHA-256)")
    if text_hash is None:
        raise MissingInput("'text_hash' is required: a hex digest (e.g. SHA-256) of the post text, never the text")
    client = optional_str(body, "client", 64) or "unknown"
    lang = parse_lang(body.get("lang"))
    community_id = optional_str(body, "community_id", 128, _ID_RE, "1 to 128 characters of A-Z a-z 0-9 . _ : -")
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_POST_TEXT_CHARS):
        raise InvalidField(f"'text' must be a string of at most {MAX_POST_TEXT_CHARS} characters")
    store_text = request.app[EXT_CONFIG].store_post_text and text is not None
    store: Store = request.app[STORE]

    def write() -> tuple[int, str | None]:
        words = normalize_tag(tag) if tag is not None else None
        feedback_id = store.add_feedback(
            action=action, text_hash=text_hash.lower(), client=client, tag=words, suggestion_id=suggestion_id,
            lang=lang, key_id=request.get(API_KEY_ID), community_id=community_id, post_text=text if store_text else None,
        )
        return feedback_id, words

    feedback_id, words = await store.run(write)  # returns once committed and fsynced
    return web.json_response({"id": feedback_id, "tag": words, "text_stored": store_text}, status=201)


async def handle_trending(request: web.Request) -> web.Response:
    window = request.query.get("window", "24h")
    if not _WINDOW_RE.fullmatch(window):
        raise InvalidField(f"'window' must be from 1m to 30d, written like 30m, 24h or 7d, got {window[:40]!r}")
    window_s = int(window[:-1]) * _UNIT_S[window[-1]]
    lang = parse_lang(request.query.get("lang", "en"))
    limit = parse_query_int(request, "limit", 20, 1, 100)
    rows = await request.app[TRENDING_CACHE].get(window_s, lang, limit)
    return web.json_response({"window": window, "lang": lang, "half_life_s": window_s / 4, "tags": rows})


async def handle_get_settings(request: web.Request) -> web.Response:
    community_id = parse_community_id(request)
    store: Store = request.app[STORE]
    settings = await store.run_read(store.get_community_settings, community_id)
    return web.json_response(settings.to_json())


async def handle_put_settings(request: web.Request) -> web.Response:
    community_id = parse_community_id(request)
    body = await read_json_object(request, SETTINGS_FIELDS)
    blocked = body.get("blocked_tags")
    blocked = [] if blocked is None else blocked
    if not isinstance(blocked, list) or not all(isinstance(t, str) and t.strip() and len(t) <= MAX_TAG_CHARS for t in blocked):
        raise InvalidField(f"'blocked_tags' must be a list of hashtags (strings of 1 to {MAX_TAG_CHARS} characters)")
    if len(blocked) > MAX_BLOCKED_TAGS:
        raise InvalidField(f"'blocked_tags' has {len(blocked)} tags; at most {MAX_BLOCKED_TAGS} allowed")
    max_count = body.get("max_count")
    lo, hi = MAX_COUNT_RANGE
    if max_count is not None and (not isinstance(max_count, int) or isinstance(max_count, bool) or not lo <= max_count <= hi):
        raise InvalidField(f"'max_count' must be an integer from {lo} to {hi} or null, got {json.dumps(max_count)}")
    lang = parse_lang(body.get("lang"))
    store: Store = request.app[STORE]

    def write() -> CommunitySettings:
        tags = list(dict.fromkeys(normalize_tag(t, "blocked_tags") for t in blocked))
        settings = CommunitySettings(community_id, tags, max_count, lang)
        store.put_community_settings(settings)
        return settings

    settings = await store.run(write)
    return web.json_response(settings.to_json())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/feedback", handle_feedback)
    app.router.add_get("/v1/trending", handle_trending)
    app.router.add_get("/v1/communities/{community_id}/settings", handle_get_settings)
    app.router.add_put("/v1/communities/{community_id}/settings", handle_put_settings)
