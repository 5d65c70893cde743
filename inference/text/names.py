"""Whether a tag is supported by a post's own words: the names it holds (people, places, teams,
brands, events), its numbers, and the content words it shares with the post (`supported`). The
service's grounding stage drops a tag the post did not give when it names something the post never
mentions, or is only partly about it; the safety filter asks `place_names` for solidarity tags."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from inference.text.phrases import FUNCTION_WORDS, english_lists, jieba_tables
from inference.text.phrases_zh import ZH_STOP

_NAME_FLAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})  # jieba: people, places, organisations, other proper


@lru_cache(maxsize=16384)
def _zh_cut(text: str) -> tuple[str, ...]:
    """jieba's words of a short Chinese text (a tag's words: the same tags come back post after post)."""
    return tuple(jieba_tables()[0].lcut(text))


def proper_names(tag_words: str, lang: str) -> list[str]:
    """The words of a tag that name someone or something (people, places, teams, brands, events):
    English words missing from the dictionary (it has no proper nouns), Chinese words jieba tags
    as names. "kamala harris" -> ["kamala"], "陪 李易峰 过 中秋" -> ["李易峰"], "hot chocolate" -> []."""
    if lang == "zh":
        _, tags, _, _, name_start = jieba_tables()
        words = _zh_cut("".join(tag_words.split()))
        # a word missing from the dictionary that starts like a name (李易峰, 柯震东) is taken as one
        return [w for w in words if tags.get(w) in _NAME_FLAGS or (w not in tags and 2 <= len(w) <= 4 and w[0] in name_start)]
    dictionary, _ = english_lists()
    return [w for w in tag_words.lower().split() if w.isalpha() and len(w) >= 3 and w not in dictionary]


# words of English tags that say how, not what (#BeachLife, #CoffeeLover): a tag is not "partly" about
# a post for lacking them
GENERIC_TAG_WORDS = frozenset("""
life love lover lovers time day days vibes goals gram addict addicts style mood daily fun photography pic
pics photo photos lovers fan fans nation squad club official news happy merry let go get
""".split())
_NUMBER = re.compile(r"\d+")


def _content_words(tag_words: str, lang: str) -> list[str]:
    """The words of a tag that say what it is about: no stop, time or generic words, no placeholders."""
    if lang == "zh":
        words = _zh_cut("".join(w for w in tag_words.split() if w != "DIGIT"))
        return [w for w in words if len(w) >= 2 and w not in ZH_STOP and not _NUMBER.search(w)]
    # English: only function words are left out, so "first day of class" counts "first" and "day" and is
    # partly about a post on a first day at a new job
    return [w for w in tag_words.lower().split()
            if w.isalpha() and w not in FUNCTION_WORDS and w not in GENERIC_TAG_WORDS and w != "digit"]


_STEM = 4  # letters two words must share, at least, to count as one stem


def _in_english(word: str, found: "EnglishWords") -> bool:
    """A tag word among a post's words, or one sharing its stem with one (rain, rainy; pancake, pancakes):
    one of the two starts the other and both have at least _STEM letters."""
    if word in found.words:
        return True
    if len(word) < _STEM:
        return False
    return word in found.prefixes or any(word[:i] in found.words for i in range(_STEM, len(word)))


def content_overlap(tag_words: str, text: str, lang: str) -> tuple[int, int]:
    """(how many of the tag's content words the text has, how many the tag has)."""
    words = _content_words(tag_words, lang)
    if lang == "zh":
        return sum(w in text for w in words), len(words)
    found = _english_words(text)
    return sum(_in_english(w, found) for w in words), len(words)


class EnglishWords(NamedTuple):
    words: frozenset[str]  # a text's lowercase letter runs
    prefixes: frozenset[str]  # their beginnings of _STEM letters or more (the whole words included)


@lru_cache(maxsize=64)
def _english_words(text: str) -> EnglishWords:
    """A text's words and their stems' beginnings (asked once per candidate of the same post)."""
    words = frozenset(re.findall(r"[a-z]+", text.lower()))
    return EnglishWords(words, frozenset(w[:i] for w in words for i in range(_STEM, len(w) + 1)))


def numbers_supported(tag_words: str, text: str) -> bool:
    """Whether a tag's numbers belong to the post: a number written in the tag, or a DIGIT placeholder
    (filled later from the post's first number), stands in the post right beside one of the tag's words
    next to it (#Eclipse2015 under an eclipse in 2024, #Pier39 on "age 39", #iPhone7 under an iPhone 15:
    no; "iphone DIGIT" on "iPhone 15", "马航 mhDIGIT" on "MH370", "49 ers" on "49ers": yes). A tag that is
    a number alone needs that number in the post."""
    folded = text.lower()
    numbers = set(_NUMBER.findall(folded))
    tokens = [t for t in re.split(r"(DIGIT|\d+)|\s+", tag_words) if t]
    for i, token in enumerate(tokens):
        if token != "DIGIT" and not token.isdigit():
            continue
        if token.isdigit() and token not in numbers:
            return False
        number = r"\d+" if token == "DIGIT" else token
        beside = [tokens[j].lower() for j in (i - 1, i + 1) if 0 <= j < len(tokens) and not _NUMBER.fullmatch(tokens[j])
                  and tokens[j] != "DIGIT"]
        beside = [w for w in beside if len(w) >= 2] or beside
        if token == "DIGIT" and not numbers:
            return False
        if beside and not any(re.search(rf"{re.escape(w)}\W{{0,2}}(?<!\d){number}(?!\d)|(?<!\d){number}(?!\d)\W{{0,2}}\w?{re.escape(w)}", folded)
                              for w in beside):
            return False
    return True


def supported(tag_words: str, text: str, lang: str, lexical: bool = False) -> bool:
    """Whether a tag the post did not give itself (a model's or the vocabulary's) may stand under it:
    every name it holds is in the post (`proper_names`), its numbers belong to the post
    (`numbers_supported`), and it is not partly about the post: an English tag with some of its
    content words in the post has all of them (#PeanutButter, #GayPride, #SnowMonkeys under posts saying
    butter, pride, snow: no), and one of two content words or more has some (#TheWalkingDead,
    #LunarEclipse under posts naming neither: no; #Breakfast under pancakes, a single word, is left to
    the encoder). An English tag of
    one or two letters (#NY, #LA) must be a word of the post. `lexical`
    (Chinese): more than half of its content words are in the post (#感觉今天喋喋哒, #老子明天不上班,
    #昆明加油 under a trip to Kunming: no; #重庆火锅, #七夕快乐: yes)."""
    folded = text.casefold().replace(" ", "")
    if any(name.casefold() not in folded for name in proper_names(tag_words, lang)):
        return False
    if lang == "en" and _abbreviation(tag_words) and tag_words.lower() not in re.findall(r"[a-z]+", text.lower()):
        return False
    if not numbers_supported(tag_words, text):
        return False
    present, total = content_overlap(tag_words, text, lang)
    if lang == "zh":
        if not lexical:
            return True
        return (2 * present > total if total else "".join(tag_words.split()) in text) and _chars_covered(tag_words, text)
    return present == total or (present == 0 and total <= 1)


def _abbreviation(tag_words: str) -> bool:
    """An English tag of one or two letters (#NY, #TX, #LA, #RP): a place, a state or a term whose
    letters say nothing the post does not say itself; `proper_names` leaves such short words alone."""
    return tag_words.isascii() and tag_words.isalpha() and len(tag_words) <= 2


def _chars_covered(tag_words: str, text: str) -> bool:
    """More than half of a Chinese tag's characters, stop and time words left out, are in the text:
    #明天妈妈不在 (妈妈 不在, jieba leaves 不 在 single) under a post about a baby saying 妈妈 is not."""
    kept = "".join(w for w in _zh_cut("".join(w for w in tag_words.split() if w != "DIGIT")) if w not in ZH_STOP)
    chars = [c for c in kept if not c.isdigit()]
    return not chars or 2 * sum(c in text for c in chars) > len(chars)


def place_names(text: str) -> list[str]:
    """The words of a Chinese text that jieba takes for places ("昆明" in 昆明加油; none in 高考加油)."""
    jieba, tags, _, _, _ = jieba_tables()
    return [w for w in jieba.lcut(text) if tags.get(w) == "ns"]
