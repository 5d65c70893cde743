"""Chinese tags in the post's own script. The Chinese model's tags are simplified (its training posts are Weibo's); a
post written in traditional characters (Taiwan, Hong Kong) gets them converted by OpenCC's `s2tw` (characters only:
发型 -> 髮型, 好歌推荐 -> 好歌推薦; no phrase is replaced, so 软件 stays 軟件), two tags that become one kept once. A
post in simplified characters, or one that writes no character only the traditional script has, keeps them as they are.
A traditional post is read in simplified characters (`as_simplified`), the script jieba and the model know."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from typing import TypeVar

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
TRADITIONAL_MIN = 2  # characters only the traditional script writes, and more of them than simplified-only ones

T = TypeVar("T")


@functools.lru_cache(maxsize=None)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def _changed(text: str, config: str) -> int:
    """How many of the text's characters `config` converts (one by one where the conversion changes its length)."""
    converted = _converter(config).convert(text)
    if len(converted) != len(text):
        return sum(_converter(config).convert(c) != c for c in text)
    return sum(a != b for a, b in zip(text, converted))


def traditional(text: str) -> bool:
    """The text is written in traditional characters: TRADITIONAL_MIN or more that only the traditional script has
    (t2s changes them), and more of them than characters only the simplified script has (s2tw changes them)."""
    han = "".join(_HAN.findall(text or ""))
    if not han:
        return False
    only_traditional, only_simplified = _changed(han, "t2s"), _changed(han, "s2tw")  # both tables load on the first post
    return only_traditional >= TRADITIONAL_MIN and only_traditional > only_simplified


def _as_written(words: str, text: str, simplified: str) -> str:
    """Simplified words in the traditional text's script: as the text writes them where its `simplified` form (t2s) holds
    them (露台 stays 露台, where s2tw writes 露臺), else by `s2tw`."""
    at = simplified.find(words) if len(simplified) == len(text) else -1
    return text[at:at + len(words)] if at >= 0 else _converter("s2tw").convert(words)


def as_simplified(request):
    """A request (runtime/suggester.SuggestRequest) whose post is traditional, its texts in simplified characters (OpenCC
    `t2s`): jieba's dictionary, the phrase rules and the model read the script they were made for (頭髮 as 头发, 兩個 as 两个);
    `in_post_script` writes the tags back in the post's script. Any other request as it is."""
    if not traditional(request.text):
        return request
    convert = _converter("t2s").convert
    return dataclasses.replace(request, text=convert(request.text), thread=tuple(map(convert, request.thread)),
                               photo_text=convert(request.photo_text), hashtags=tuple(map(convert, request.hashtags)))


def in_post_script(text: str, items: Iterable[T], lang: str = "zh", service: bool = True,
                   words=lambda item: item.words) -> list[tuple[str, T]]:
    """(words in the post's script, item) for each item, in order: under a traditional post (`lang` "zh") each item's
    Chinese words converted, and an item whose converted words an earlier one has left out. Only the service's lists
    (`service`: the request's relevance floor): `tagsmith predict`, the benchmark interface, writes the model's own
    script, as Weibo's gold does under traditional posts too (converted, Weibo dev read F1@1 28.49 for 28.73)."""
    items = list(items)
    if not items or lang != "zh" or not service or not traditional(text):
        return [(words(item), item) for item in items]
    seen: set[str] = set()
    out = []
    simplified = _converter("t2s").convert(text)
    for item in items:
        converted = _as_written(words(item), text, simplified) if _HAN.search(words(item)) else words(item)
        if converted not in seen:
            seen.add(converted)
            out.append((converted, item))
    return out
