"""What a hashtag is, in one place: its identity, its normal form, how it is written, its language.

- `tag_key`: identity. "#AusOpen", "Aus Open", "ausopen" and "aus open" are one tag.
- `normalize_tag`: a raw hashtag -> its words, lowercase, separated by one space ("#AusOpen" ->
  "aus open"); Chinese tags keep the words the data gives them.
- `format_tag`: words -> the hashtag a person would write ("aus open" -> "#AusOpen").
- `detect_lang` and `LANGUAGES`: the languages the service has models for, and which one a text is in.
"""

from __future__ import annotations

import functools
import re

from inference.text.segment import format_tag, segment

__all__ = ["LANGUAGES", "detect_lang", "format_tag", "normalize_tag", "tag_key", "tag_lang"]

LANGUAGES = ("en", "zh")  # the languages served, in this order wherever they are listed

_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z]")


def tag_key(tag: str) -> str:
    """Identity of a hashtag: case, spaces and a leading '#' do not matter."""
    return "".join(tag.lstrip("#").split()).casefold()


def detect_lang(text: str) -> str:
    """"zh" when CJK characters make up at least 30% of the letters, else "en"."""
    cjk = len(_CJK_RE.findall(text))
    if cjk == 0:
        return "en"
    latin = len(_LATIN_RE.findall(text))
    return "zh" if cjk >= 0.3 * (cjk + latin / 4) else "en"  # ~4 latin letters per word vs 1-2 chars per CJK word


def tag_lang(tag: str) -> str:
    """The language of a lone tag: "zh" when it holds any CJK (or kana) character."""
    return "zh" if _KANA_CJK_RE.search(tag) else "en"


@functools.lru_cache(maxsize=200_000)
def normalize_tag(raw_tag: str) -> str:
    """Raw hashtag -> lowercase word sequence: "#AusOpen" -> "aus open"; Chinese tags unchanged."""
    tag = raw_tag.strip().strip("#").strip()
    if not tag:
        return ""
    if _CJK_RE.search(tag):
        return " ".join(tag.split())
    return " ".join(w.lower() for w in segment(tag) if w)
