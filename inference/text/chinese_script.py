"""Chinese tags in the post's own script. The Chinese model's tags are simplified (its training posts are Weibo's); a
post written in traditional characters (Taiwan, Hong Kong) is read in simplified characters (`as_simplified`, OpenCC's
`t2s`: the script jieba and the model know) and gets its tags back in its script (`in_post_script`): as the post writes
them where it does, a character the post writes in traditional form as it writes it (发 as 髮 beside 頭髮), any other by
OpenCC's character table and Taiwan's variants (好歌推荐 -> 好歌推薦; no phrase is replaced, so 软件 stays 軟件). Two tags
that become one are kept once. OpenCC's phrase tables would cost the service 40 MB; its character table and t2s 4 MB.
A post in simplified characters, or one that writes no character only the traditional script has, keeps them as they are.
Under any Chinese post a tag's Latin words are cased as the post writes them (#NAS, #iPhone: `latin_as_written`)."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"(?<![A-Za-z])[a-z]+(?![A-Za-z])")  # a lower-cased Latin word (digits around it are its neighbours)
_LATIN_WORD = re.compile(r"[A-Za-z]+")
TRADITIONAL_MIN = 2  # characters only the traditional script writes, and more of them than simplified-only ones

T = TypeVar("T")


# simplified -> traditional characters, then Taiwan's variants: OpenCC's s2tw without its phrase tables
_S2T_CHARACTERS = {"name": "s2tw, characters only", "conversion_chain": [
    {"dict": {"type": "ocd2", "file": "STCharacters.ocd2"}}, {"dict": {"type": "ocd2", "file": "TWVariants.ocd2"}}]}


@functools.lru_cache(maxsize=None)
def _converter(config: str):
    """OpenCC's converter: a config it ships ("t2s"), or "s2t-characters" (`_S2T_CHARACTERS`, its files found in the package)."""
    import opencc

    if config != "s2t-characters":
        return opencc.OpenCC(config)
    folder = Path(opencc.__file__).resolve().parent / "clib" / "share" / "opencc"
    chain = [{"dict": {**step["dict"], "file": str(folder / step["dict"]["file"])}} for step in _S2T_CHARACTERS["conversion_chain"]]
    with tempfile.TemporaryDirectory() as tmp:  # OpenCC reads a config from a file; it is read whole here
        path = Path(tmp) / "s2t-characters.json"
        path.write_text(json.dumps({**_S2T_CHARACTERS, "conversion_chain": chain}), encoding="utf-8")
        return opencc.OpenCC(str(path))


def _changed(text: str, config: str) -> int:
    """How many of the text's characters `config` converts (one by one where the conversion changes its length)."""
    converted = _converter(config).convert(text)
    if len(converted) != len(text):
        return sum(_converter(config).convert(c) != c for c in text)
    return sum(a != b for a, b in zip(text, converted))


def traditional(text: str) -> bool:
    """The text is written in traditional characters: TRADITIONAL_MIN or more that only the traditional script has
    (t2s changes them), and more of them than characters only the simplified script has (the character table changes them)."""
    han = "".join(_HAN.findall(text or ""))
    if not han:
        return False
    only_traditional, only_simplified = _changed(han, "t2s"), _changed(han, "s2t-characters")  # both load on the first post
    return only_traditional >= TRADITIONAL_MIN and only_traditional > only_simplified


def _as_written(words: str, text: str, simplified: str) -> str:
    """Simplified words in the traditional text's script: as the text writes them where its `simplified` form (t2s) holds
    them (露台 stays 露台), else each character as the text writes it in traditional form (发 as 髮 beside 頭髮), the others by
    the character table (音乐 -> 音樂)."""
    if len(simplified) != len(text):
        return _converter("s2t-characters").convert(words)
    if (at := simplified.find(words)) >= 0:
        return text[at:at + len(words)]
    written = {s: t for s, t in zip(simplified, text) if s != t}
    converted = _converter("s2t-characters").convert(words)
    if len(converted) != len(words):
        return converted
    return "".join(written.get(s, c) for s, c in zip(words, converted))


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
    """(words in the post's script, item) for each item, in order: under a Chinese post (`lang` "zh") each item's Latin
    words as the post writes them (nas -> NAS, iphone -> iPhone: `latin_as_written`), under a traditional one its Chinese
    words converted, and an item whose converted words an earlier one has left out. Only the service's lists
    (`service`: the request's relevance floor): `tagsmith predict`, the benchmark interface, writes the model's own
    script, as Weibo's gold does under traditional posts too (converted, Weibo dev read F1@1 28.49 for 28.73)."""
    items = list(items)
    if not items or lang != "zh" or not service:
        return [(words(item), item) for item in items]
    seen: set[str] = set()
    out = []
    simplified = _converter("t2s").convert(text) if traditional(text) else None
    cased = latin_words(text)
    for item in items:
        converted = latin_as_written(words(item), cased)
        if simplified is not None and _HAN.search(converted):
            converted = _as_written(converted, text, simplified)
        if converted not in seen:
            seen.add(converted)
            out.append((converted, item))
    return out


def latin_words(text: str) -> dict[str, str]:
    """Each Latin word of the text, lower-cased -> as the text first writes it ("nas" -> "NAS" under 折腾了个NAS)."""
    cased: dict[str, str] = {}
    for word in _LATIN_WORD.findall(text):
        cased.setdefault(word.lower(), word)
    return cased


def latin_as_written(words: str, cased: dict[str, str]) -> str:
    """The words with each lower-case Latin word as the post writes it (`latin_words`; the phrase finder reads a post
    lower-cased); a word the post does not write, or writes lower-cased, as it is."""
    if not cased or not _LATIN.search(words):
        return words
    return _LATIN.sub(lambda match: cased.get(match.group(), match.group()), words)
