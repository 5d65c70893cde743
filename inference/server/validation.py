"""Validation of a /v1/suggest request (JSON or multipart) into a SuggestRequest, against
inference/limits.py; every problem is a 4xx domain error (inference/server/errors.py)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Sequence

from aiohttp import web

from inference.limits import (
    DEFAULT_K,
    MAX_HASHTAG_CHARS,
    MAX_HASHTAGS,
    MAX_K,
    MAX_TEXT_CHARS,
    MAX_THREAD_MESSAGE_CHARS,
    MAX_THREAD_MESSAGES,
    MIN_K,
)
from inference.runtime.suggester import SuggestRequest
from inference.server.errors import (
    InputTooLarge,
    InvalidField,
    MissingInput,
    NotImplementedYet,
    UnknownLanguage,
    parse_json_object,
)
from inference.server.openapi import SCHEMAS
from inference.text.tags import LANGUAGES

_FIELDS = set(SCHEMAS["SuggestRequest"]["properties"])


def _string_list(body: dict, name: str, max_items: int | None = None, max_chars: int | None = None) -> tuple[str, ...]:
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidField(f"'{name}' must be a list of strings")
    if max_items is not None and len(value) > max_items:
        raise InputTooLarge(f"'{name}' has {len(value)} messages; at most {max_items} allowed")
    if max_chars is not None:
        for i, v in enumerate(value):
            if len(v) > max_chars:
                raise InputTooLarge(f"'{name}[{i}]' has {len(v)} characters; at most {max_chars} allowed")
    return tuple(value)


def parse_suggest_request(
    raw: bytes, languages: Sequence[str], images_supported: bool = False
) -> tuple[SuggestRequest, bytes | None]:
    """Validate a /v1/suggest JSON body; returns the request and the decoded image (or None)."""
    return validate_suggest_body(parse_json_object(raw), languages, images_supported)


def _part_bytes(value: Any) -> bytes:
    """A `request.post()` value: str (text part), bytearray (other content types) or a FileField."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return value.file.read()


def _part_text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return _part_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidField(f"form field {name!r} must be UTF-8 text") from None


async def parse_multipart_request(
    request: web.Request, languages: Sequence[str], images_supported: bool
) -> tuple[SuggestRequest, bytes | None]:
    """multipart/form-data: an `image` file part plus the JSON fields as form fields (`text`,
    `lang`, `k`; `thread` and `hashtags` repeated), or a `request` part holding the JSON body."""
    try:
        form = await request.post()  # bounded by client_max_size (413 beyond)
    except web.HTTPException:
        raise
    except Exception as exc:  # a malformed multipart body
        raise InvalidField(f"the multipart body could not be read: {exc}") from None
    body: dict[str, Any] = {}
    if "request" in form:
        body = parse_json_object(_part_bytes(form["request"]), "the 'request' part")
    for name in set(form) - {"request", "image"}:
        values = [_part_text(name, v) for v in form.getall(name)]
        if name in ("thread", "hashtags"):
            body[name] = list(values)
        elif name == "k":
            try:
                body["k"] = int(values[0])
            except ValueError:
                raise InvalidField(f"'k' must be an integer from {MIN_K} to {MAX_K}, got {values[0]!r}") from None
        else:
            body[name] = values[0]
    if "image" in body:
        raise InvalidField("send the image as the 'image' file part of a multipart body, not inside it")
    image = None
    if "image" in form:
        image = _part_bytes(form["image"])
    request_, _ = validate_suggest_body(body, languages, images_supported, has_image=image is not None)
    return request_, image


def validate_suggest_body(
    body: dict, languages: Sequence[str], images_supported: bool = False, has_image: bool = False
) -> tuple[SuggestRequest, bytes | None]:
    """The checks shared by JSON and multipart bodies. has_image: an image came beside the body."""
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidField(f"unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}")

    text = body.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InvalidField(f"'text' must be a string, not {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise InputTooLarge(f"'text' has {len(text)} characters; at most {MAX_TEXT_CHARS} allowed")
    thread = _string_list(body, "thread", MAX_THREAD_MESSAGES, MAX_THREAD_MESSAGE_CHARS)
    hashtags = _string_list(body, "hashtags", max_items=MAX_HASHTAGS, max_chars=MAX_HASHTAG_CHARS)

    k = body.get("k", DEFAULT_K)
    if not isinstance(k, int) or isinstance(k, bool) or not MIN_K <= k <= MAX_K:
        raise InvalidField(f"'k' must be an integer from {MIN_K} to {MAX_K}, got {json.dumps(k)}")

    lang = body.get("lang")
    if lang is not None:
        if not isinstance(lang, str):
            raise InvalidField(f"'lang' must be a string, not {type(lang).__name__}")
        if lang not in LANGUAGES:
            raise UnknownLanguage(f"unknown lang {lang!r}; supported: {list(LANGUAGES)} (or omit it to detect)")
        if lang not in languages:
            raise UnknownLanguage(f"no model loaded for lang {lang!r}; loaded: {list(languages)}")

    image = None
    if body.get("image") not in (None, ""):  # null and "" are no image, as the OpenAPI document says
        if not isinstance(body["image"], str):
            raise InvalidField("'image' must be a base64 string")
        encoded = body["image"]
        if encoded.startswith("data:") and ";base64," in encoded[:200]:  # a browser FileReader's data: URL
            encoded = encoded.split(",", 1)[1]
        try:
            image = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidField("'image' is not valid base64") from None

    has_image = has_image or image is not None
    if not text.strip() and not (has_image and images_supported):
        if has_image:
            raise NotImplementedYet(
                "image-only suggestions are not available: no image model is loaded; send 'text' (the caption) with the image"
            )
        raise MissingInput("send 'text' (the post) or 'image'; neither was given")
    return SuggestRequest(text=text, thread=thread, hashtags=hashtags, k=k, lang=lang), image
