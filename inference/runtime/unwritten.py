"""What a tag says that the post does not write (the grounding stage's support rules, `grounding.Grounder._unsupported`):
a saying or a sentence, a Chinese lexicon tag that shares one word with the post, a centroid's broad tag that shares none,
and an English "The X" of one word X."""

from __future__ import annotations

import re

from inference.text.english_words import FUNCTION_WORDS
from inference.text.names import content_overlap

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words_of(text: str) -> list[str]:
    """The text's lowercase words, in order."""
    return _WORD.findall(text.lower())


# a tag that is a sentence or a saying (#SheIsTheFirst, #MayTheFourthBeWithYou, #ILoveMyJob: three words or more, two
# of them function words) stands under the floor only where the post writes it: judges found 17 of the 217 shown
# usable (export/judged/en_labels*.jsonl), most of those the post's own words ("asking for a friend")
SENTENCE_WORDS, SENTENCE_FUNCTION_WORDS = 3, 2
ZH_SAYING_CHARS = 4
_SAYING_ZH = re.compile("[我你咱了吗吧呢把被不]")  # a person speaking, or a clause: 把姐姐煮了, 明天妈妈不在


def unwritten_saying(words: str, text: str, lang: str = "en") -> bool:
    """A tag of SENTENCE_WORDS or more, SENTENCE_FUNCTION_WORDS of them function words, that the text does not
    write word for word; in Chinese, a tag of ZH_SAYING_CHARS or more that speaks as 我, 你 or 咱 (the old Weibo
    trends #我觉得我室友喜欢我, #我的相亲对象是极品, #我们结婚了 under a friend's wedding) or is a clause (a particle,
    把, 被 or 不: #把姐姐煮了, #明天妈妈不在 under a child's first words) that the text does not write; in English, a cheer
    too (#GoHawks under a hawk taking a fancier's pigeons, #GoForGold under a game's gold rank), but #GoPro or a "Go Pies"."""
    if lang == "zh":
        chars = "".join(words.split())
        return len(chars) >= ZH_SAYING_CHARS and bool(_SAYING_ZH.search(chars)) and chars not in "".join(text.split())
    mine = words_of(words)
    if len(mine) >= 2 and mine[0] == "go":
        said = words_of(text)
        return f" {' '.join(mine)} " not in f" {' '.join(said)} " and "".join(mine) not in said
    if len(mine) < SENTENCE_WORDS or sum(w in FUNCTION_WORDS for w in mine) < SENTENCE_FUNCTION_WORDS:
        return False
    return f" {' '.join(mine)} " not in f" {' '.join(words_of(text))} "


def unwritten_overlap(entry: dict, text: str, lang: str) -> bool:
    """A Chinese tag the lexicon proposed for sharing a word with the text (source "overlap") that the text does not
    write whole: an old Weibo trend that shares one word with it (#走廊医生 under a night on a hospital corridor,
    #下班分享 under working late, #玻璃鞋 under cleaning the windows, #太平轮 under 太平歌词)."""
    return lang == "zh" and entry["source"] == "overlap" and "".join(entry["words"].split()) not in "".join(text.split())


def loose_centroid(entry: dict, text: str, lang: str) -> bool:
    """An English tag only the retrieval centroids proposed that shares no content word with the text: a broad tag's
    centroid of training posts sits near many long posts it has nothing to do with (#Science under a trident maple's
    back-budding, a keyboard's lubed switches, a quarter peal; #Love), while #HappyDiwali and #Books come with their words."""
    return lang == "en" and entry["source"] == "centroid" and content_overlap(entry["words"], text, "en")[0] == 0


def unwritten_title(words: str, text: str, lang: str) -> bool:
    """An English "The X" of one word X the text does not write as such: a show or a place whose word the post uses
    plainly (#TheVoice under "lost my voice", #TheBay, #TheStrip under "monday. again.")."""
    parts = words.split()
    return (lang == "en" and len(parts) == 2 and parts[0].lower() == "the"
            and not re.search(rf"\bthe {re.escape(parts[1])}\b", text, re.IGNORECASE))


_WORKDAY_GREETING = re.compile(r"happy ?(monday|tuesday|wednesday|thursday)", re.IGNORECASE)


def unwritten_greeting(words: str, text: str, lang: str) -> bool:
    """An English workday greeting (#HappyMonday) under a post that does not write "happy": a bare "monday. again." is
    weariness, and the greeting reads as mockery of it; a weekend's (#HappySaturday under "saturday plans: nothing. bliss")
    stays."""
    return lang == "en" and bool(_WORKDAY_GREETING.fullmatch(words)) and "happy" not in text.lower()


def unwritten(entry: dict, text: str, lang: str) -> bool:
    """A saying, a Chinese lexicon tag, an `unwritten_title` or `unwritten_greeting` the text does not write whole, or a
    `loose_centroid`."""
    words = entry["words"]
    return (unwritten_saying(words, text, lang) or unwritten_overlap(entry, text, lang) or loose_centroid(entry, text, lang)
            or unwritten_title(words, text, lang) or unwritten_greeting(words, text, lang))
