"""Suggestion formatting shared by both bots, and the short sentences they answer with.

Copy-friendly: the tags on one line, separated by single spaces, CamelCase (`#AusOpen`), no
trailing punctuation, no duplicates, blocked tags removed. The core formats every tag
(`{"tag": "#AusOpen", "words": "aus open"}`); the bots use its `tag` as is and only fall back to
a small local rule when a suggestion carries words alone. Two tags are the same tag when they
are equal ignoring case (`#AusOpen`, `#ausopen`). The bots never show the core's own error text:
people get the sentences below, the core's text goes to the log.
"""

from __future__ import annotations

import re

from bots.client import CoreError, Suggestion

UNAVAILABLE = "The suggestion service is unavailable, try again in a moment."
BUSY = "The suggestion service is busy, try again in a moment."
CORE_REFUSED = "The suggestion service could not handle that post; try a different text."
MISCONFIGURED = "The bot cannot use the suggestion service right now; its admins have been told."
SETTINGS_NOT_STORED = "The settings could not be stored; try again later."
IMAGES_NOT_SUPPORTED = "Images are not supported yet: send the post's text (or a caption) instead."
NO_SUGGESTIONS = "No hashtag suggestions for that post."
EMPTY_POST = "Send some text (or a photo) to get hashtag suggestions."
UNSUPPORTED_CONTENT = "I can suggest hashtags for text and photos only; {what} is not supported."
GENERIC_ERROR = "Something went wrong while suggesting hashtags; it has been logged."
THREAD_NOT_ALLOWED = "I can only use a message link from this server, in a channel you can read."
THREAD_UNREADABLE = "I cannot read that message: check the link and my access to the channel."
THREAD_LINK_EXPECTED = "The thread option takes a message link (Copy Message Link)."

# Scripts written without spaces between words: their words are joined as they are.
_NO_SPACE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def too_large(limit_bytes: int) -> str:
    return f"That image is too large: the limit is {limit_bytes / 1e6:.1f} MB."


def slow_down(wait_s: float) -> str:
    return f"Slow down: try again in {max(1, round(wait_s))} s."


def core_error_sentence(exc: CoreError) -> str:
    """What a person is told about a core error: a fixed sentence, never the core's own text."""
    if exc.status in (401, 403):
        return MISCONFIGURED  # a revoked or wrong API key is the operator's to fix
    if exc.status == 429:
        return BUSY
    if exc.status >= 500:
        return UNAVAILABLE
    return CORE_REFUSED


def words_to_tag(words: str) -> str:
    """Words -> a hashtag when the core sent no tag: "night session" -> "#NightSession"."""
    parts = [p for p in (re.sub(r"[\W_]+", "", w) for w in words.split()) if p]
    if any(_NO_SPACE_SCRIPT.search(p) for p in parts):
        return "#" + "".join(parts)
    return "#" + "".join(p if p != p.lower() else p[:1].upper() + p[1:] for p in parts)


def clean_tag(s: Suggestion) -> str:
    """A suggestion -> one well-formed hashtag ("" when nothing usable is left)."""
    tag = (s.tag or "").strip()
    if not tag.lstrip("#") and s.words:
        tag = words_to_tag(s.words)
    return normalize(tag)


def normalize(tag: str) -> str:
    """One hashtag: a single '#', no spaces, no trailing punctuation ("" when nothing is left)."""
    tag = re.sub(r"\s+", "", tag)  # a tag never contains spaces
    tag = re.sub(r"[^\w]+$", "", tag)  # no trailing punctuation ("#Final." -> "#Final")
    tag = "#" + tag.lstrip("#")
    return tag if len(tag) > 1 else ""


def pick_tags(suggestions: list[Suggestion], count: int, blocked: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The first `count` clean, distinct, non-blocked tags, in the core's ranking order."""
    seen = {normalize(b).casefold() for b in blocked}  # "tennis", "#Tennis" and "#tennis" block "#Tennis"
    tags = []
    for s in suggestions:
        tag = clean_tag(s)
        if not tag or tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        tags.append(tag)
        if len(tags) >= count:
            break
    return tags


def format_tags(tags: list[str]) -> str:
    return " ".join(tags) if tags else NO_SUGGESTIONS
