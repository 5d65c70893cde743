"""Suggestion formatting shared by both bots, and the short sentences they answer with.

Copy-friendly: the tags on one line, separated by single spaces, CamelCase (`#AusOpen`), no
trailing punctuation, no duplicates, blocked tags removed.
"""

from __future__ import annotations

import re

from bots.client import Suggestion
from inference.segment import format_tag

UNAVAILABLE = "The suggestion service is unavailable, try again in a moment."
IMAGES_NOT_SUPPORTED = "Images are not supported yet: send the post's text (or a caption) instead."
NO_SUGGESTIONS = "No hashtag suggestions for that post."
EMPTY_POST = "Send some text (or a photo) to get hashtag suggestions."
UNSUPPORTED_CONTENT = "I can suggest hashtags for text and photos only; {what} is not supported."
GENERIC_ERROR = "Something went wrong while suggesting hashtags; it has been logged."


def too_large(limit_bytes: int) -> str:
    return f"That image is too large: the limit is {limit_bytes / 1e6:.1f} MB."


def slow_down(wait_s: float) -> str:
    return f"Slow down: try again in {max(1, round(wait_s))} s."


def tag_key(tag: str) -> str:
    """The comparison key of a tag: "#Aus_Open", "aus open" and "#ausopen" are the same tag."""
    return re.sub(r"[\s_#]+", "", tag).casefold()


def clean_tag(s: Suggestion) -> str:
    """A suggestion -> one well-formed hashtag ("" when nothing usable is left)."""
    tag = (s.tag or "").strip()
    if not tag.lstrip("#") and s.words:
        tag = format_tag(s.words)
    tag = re.sub(r"\s+", "", tag)  # a tag never contains spaces
    tag = re.sub(r"[^\w]+$", "", tag)  # no trailing punctuation ("#Final." -> "#Final")
    tag = "#" + tag.lstrip("#")
    return tag if len(tag) > 1 else ""


def pick_tags(suggestions: list[Suggestion], count: int, blocked: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The first `count` clean, distinct, non-blocked tags, in the core's ranking order."""
    blocked_keys = {tag_key(b) for b in blocked}
    seen: set[str] = set()
    tags = []
    for s in suggestions:
        tag = clean_tag(s)
        key = tag_key(tag)
        if not tag or key in seen or key in blocked_keys:
            continue
        seen.add(key)
        tags.append(tag)
        if len(tags) >= count:
            break
    return tags


def format_tags(tags: list[str]) -> str:
    return " ".join(tags) if tags else NO_SUGGESTIONS
