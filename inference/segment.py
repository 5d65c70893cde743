"""Hashtag segmentation (hashtag -> words) and formatting (words -> hashtag).

Placeholder on `wordsegment` until the Viterbi segmenter lands; the public API stays the same.
"""

from __future__ import annotations

import re

import wordsegment

_loaded = False


def segment(tag: str) -> list[str]:
    """Split a hashtag (with or without '#') into lowercase words."""
    global _loaded
    if not _loaded:
        wordsegment.load()
        _loaded = True
    tag = tag.lstrip("#")
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff]", tag):
        return [tag]
    return wordsegment.segment(tag)


def format_tag(words: list[str] | str, lang: str | None = None) -> str:
    """Words -> the hashtag a person would write, e.g. "aus open" -> "#AusOpen"."""
    if isinstance(words, str):
        words = words.split()
    if lang == "zh" or any(re.search(r"[\u3400-\u9fff]", w) for w in words):
        return "#" + "".join(words)
    return "#" + "".join(w[:1].upper() + w[1:] for w in words)
