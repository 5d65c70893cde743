"""Whether a tag is supported by a post's own words: the names it holds (people, places, teams,
brands, events) and the content words it shares with the post. The service's grounding stage drops a
tag the post did not give when it names something the post never mentions."""

from __future__ import annotations

import re

from inference.text.phrases import STOP_WORDS, english_lists, jieba_tables

_NAME_FLAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})  # jieba: people, places, organisations, other proper


def proper_names(tag_words: str, lang: str) -> list[str]:
    """The words of a tag that name someone or something (people, places, teams, brands, events):
    English words missing from the dictionary (it has no proper nouns), Chinese words jieba tags
    as names. "kamala harris" -> ["kamala"], "陪 李易峰 过 中秋" -> ["李易峰"], "hot chocolate" -> []."""
    if lang == "zh":
        jieba, tags, _, _, name_start = jieba_tables()
        words = jieba.lcut("".join(tag_words.split()))
        # a word missing from the dictionary that starts like a name (李易峰, 柯震东) is taken as one
        return [w for w in words if tags.get(w) in _NAME_FLAGS or (w not in tags and 2 <= len(w) <= 4 and w[0] in name_start)]
    dictionary, _ = english_lists()
    return [w for w in tag_words.lower().split() if w.isalpha() and len(w) >= 3 and w not in dictionary]


def shares_a_word(tag_words: str, text: str, lang: str) -> bool:
    """Whether a tag and a text share a content word: a Chinese word of two or more characters, or an
    English word that is not a stop word ("重庆 火锅" and a post about 火锅; "bike lane" and "new bike")."""
    if lang == "zh":
        jieba = jieba_tables()[0]
        words = [w for w in jieba.lcut("".join(tag_words.split())) if len(w) >= 2]
        return any(w in text for w in words)
    found = set(re.findall(r"[a-z0-9]+", text.lower()))
    return any(w in found for w in tag_words.lower().split() if w not in STOP_WORDS)
