"""How a text writes a topic's terms (runtime/topics.py): a topic's description and cue words made ready to look
up (`matcher`), whether a text writes one (`written`, `writes`), every topic's at once (`TermIndex`), and whether it
writes a cue as a name (`named_in`: "Baby Reindeer", a rare "Minecraft" inside a sentence, 《哪吒之魔童闹海》, an emoji)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from inference.text.english_words import FUNCTION_WORDS
from inference.text.phrases import DETERMINERS, jieba_tables, rarity
from inference.text.verbs import inflection_key

_NOT_WORD = re.compile(r"[^\w']+")
_QUOTING = re.compile(r"(?<!\w)'|'(?!\w)(?<!s')")  # 'just a trim': quotes, not a word's (players', ha'penny keep theirs)
# juniper's, players', DNF'd, PB'd: a possessive or a verb's 'd, the text read without them too (`padded_words`)
_POSSESSIVE = re.compile(r"(?<=\w)'[sd]\b|(?<=s)'(?!\w)")
_BARE = "|"  # between a text's words and the same words without their possessives: no term holds it
_SCRIPT_EDGE = re.compile(r"(?<=[a-z0-9])(?=[\u3040-\u30ff\u3400-\u9fff])|(?<=[\u3040-\u30ff\u3400-\u9fff])(?=[a-z0-9])")


_NO_CONTENT = FUNCTION_WORDS | {"like"}  # "feels like" is no cue phrase in "feeling like a nap"
Matcher = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # (Latin terms as " words ", Chinese, `loose`)


def matcher(terms: tuple[str, ...]) -> Matcher:
    """Terms made ready for `written`: a Latin one padded as whole words, a Chinese one of two characters or more,
    and a Latin one of two content words or more also in its `loose_words` (put up shelves: putting up shelves)."""
    latin = tuple(f" {w} " for t in terms if is_latin(t) for w in _with_plural(_plain(t).strip()))
    loose = tuple(loose_words(t) for t in latin if sum(w not in _NO_CONTENT for w in t.split()) >= 2)
    return latin, tuple(t for t in terms if not is_latin(t) and (len(t) >= 2 or is_emoji(t))), loose


def is_latin(term: str) -> bool:
    """A term of Latin letters, accented ones too (mölkky, café, pōwhiri), read as words in any case; not one of Chinese
    or Japanese characters, nor an emoji (read as written)."""
    return all(c.isascii() or (c.isalpha() and ord(c) < 0x2E80) for c in term)


def _with_plural(term: str) -> tuple[str, ...]:
    """A term, and its plural where it is one word of letters whose plural is as rare as RARE_PLURAL: a cue of one word
    is written in either number ("my KTB hives", "41 QSOs", "dovetails"), but "nurses", "degrees" and "goes" (of the
    skater's GOE) are everyday words that name no topic."""
    if " " in term or not term.isalpha() or len(term) < 3 or term.endswith("s"):
        return (term,)
    plural = term[:-1] + "ies" if term.endswith("y") and term[-2] not in "aeiou" else \
        term + ("es" if term.endswith(("x", "ch", "sh", "z")) else "s")
    return (term, plural) if rarity(plural) >= RARE_PLURAL else (term,)


def padded_words(text: str, bare: bool = False) -> str:
    """The text lower-cased, its runs of non-word characters one space, a space at each end, and one between Latin
    letters or digits and Chinese or Japanese characters ("周五FNM用红快攻" writes "fnm"); with bare, a text that writes a
    possessive (or a 'd) is followed by its words without them ("wiring the juniper's first branch" writes the cue
    "juniper", "DNF'd" the pair word "dnf", "Domino's" still the cue "domino's")."""
    padded = f" {_SCRIPT_EDGE.sub(' ', _plain(text.lower()))} "
    if bare and _POSSESSIVE.search(padded):
        return f"{padded}{_BARE}{_POSSESSIVE.sub('', padded)}"
    return padded


def reading(text: str) -> tuple[str, str]:
    """A text's (`padded_words` without possessives too, `loose_words`): how `written` and `TermIndex.hits` read it."""
    return (padded := padded_words(text, bare=True)), loose_words(padded)


def _plain(text: str) -> str:
    """Runs of non-word characters one space, a curly apostrophe a straight one (Domino’s, Domino's), and one that
    quotes rather than joins (asked for 'just a trim') a space."""
    return _NOT_WORD.sub(" ", _QUOTING.sub(" ", text.replace("\u2018", "'").replace("\u2019", "'")))


def loose_words(padded: str) -> str:
    """`padded_words` with each word's inflection cut (text/verbs.inflection_key) and no article or possessive
    (`DETERMINERS`): "turned 30" writes "turning 30", "put up a shelf" writes "put up shelves"."""
    return f" {' '.join(inflection_key(w) for w in padded.split() if w not in DETERMINERS)} "


def written(found: Matcher, text: str, padded: str, loose: str = "") -> bool:
    """The text (its `padded_words`, its `loose_words`) writes one of the matcher's terms."""
    return (any(t in padded for t in found[0]) or any(t in text for t in found[1])
            or any(t in loose for t in found[2]))


class TermIndex:
    """The topics whose terms a text writes (`written` for every topic at once): a Latin term looked up among the
    text's word n-grams, a Chinese one among the terms that start with each two characters of the text. Thousands
    of cue words cost a post a few hundred lookups."""

    def __init__(self, matchers: Iterable[Matcher]):
        # a Latin term -> its matcher, or a list of them where several share it (most terms have one: a list each
        # weighed megabytes over tens of thousands of cue words)
        self.latin: dict[str, int | list[int]] = {}
        self.loose: dict[str, int | list[int]] = {}
        self.chinese: dict[str, list[tuple[str, int]]] = {}  # a term's first two characters -> (term, matcher)
        self.single: dict[str, list[int]] = {}  # a term of one character (an emoji: `matcher`) -> matchers
        for i, (latin, chinese, loose) in enumerate(matchers):
            for term in latin:
                _add(self.latin, term.strip(), i)
            for term in loose:  # matched among the text's `loose_words`
                _add(self.loose, term.strip(), i)
            for term in chinese:  # two characters or more, or an emoji of one (`matcher`)
                if len(term) == 1:
                    self.single.setdefault(term, []).append(i)
                else:
                    self.chinese.setdefault(term[:2], []).append((term, i))
        self.lengths = sorted({term.count(" ") + 1 for term in (*self.latin, *self.loose)})

    def hits(self, text: str, padded: str, loose: str = "") -> set[int]:
        """The indices of the matchers one of whose terms the text (its `padded_words`, its `loose_words`) writes."""
        out: set[int] = set()
        for words, terms in ((padded.split(), self.latin), (loose.split(), self.loose)):
            for n in self.lengths:
                for k in range(len(words) - n + 1):
                    found = terms.get(" ".join(words[k:k + n]))
                    if found is not None:
                        out.update(found) if isinstance(found, list) else out.add(found)
        for k in range(len(text) - 1):
            out.update(i for term, i in self.chinese.get(text[k:k + 2], ()) if text.startswith(term, k))
        for char in self.single.keys() & set(text):  # an emoji of one character (🚲)
            out.update(self.single[char])
        return out


def _add(table: dict[str, int | list[int]], term: str, i: int) -> None:
    """`TermIndex`'s table with matcher i for term: the index alone, a list once a second matcher shares it."""
    found = table.get(term)
    if found is None:
        table[term] = i
    elif isinstance(found, list):
        found.append(i)
    else:
        table[term] = [found, i]


WORKS = frozenset({"电影", "追剧", "综艺", "读书", "动漫", "游戏", "音乐"})  # what a 《title》 names: a film, a show, a book...
RARE_NAME = 0.9  # a cue of one word counts as a name this rare (phrases.rarity: Minecraft, Valorant, Hadestown; not Tesco)
# a Chinese cue word this rare (jieba's IDF; one its dictionary lacks is rarer) counts toward topics.CUE_TOPIC: 打投, 吧唧,
# 老班章, 盒装本; not 楼下 (8.0), 物业 (6.7), 敲门 (8.4), which posts about anything write
ZH_CUE_IDF = 9.0
RARE_PLURAL = 0.5  # a cue of one word is also written in its plural this rare (`_with_plural`; phrases.rarity)
RARE_CUE = 0.99  # a cue of one word this rare names its topic in any case (mispunched, anagrind: outside the web's top 200k)
ZH_NAMED_CHARS = 5  # a Chinese cue this long names one thing (半程马拉松, 图书馆占座; 凌晨三点 is any night)
_SMALL_WORDS = frozenset("of the and a an in on at to for by &".split())  # a name's words that stay lower case


def rare_cue(cue: str) -> str | None:
    """A Latin cue that `padded_words` reads as one word of letters alone, as rare as RARE_CUE: a word only the
    topic's insiders write, which names the topic lower-cased too; None for any other cue ("nobody:" is "nobody", f1 no word)."""
    word = padded_words(cue).strip() if is_latin(cue) else ""
    if not word.isalpha() or rarity(word) < RARE_CUE:
        return None
    return word


def counts_toward_topic(cue: str) -> bool:
    """A cue word that counts toward topics.CUE_TOPIC: any Latin one, a Chinese one as rare as ZH_CUE_IDF."""
    return is_latin(cue) or jieba_tables()[2].get(cue, float("inf")) >= ZH_CUE_IDF


def named_in(cue: str, text: str, topic: str = "") -> bool:
    """The text writes a Latin cue of two words or more as a name, its words capitalised ("Baby Reindeer", "Phoebe
    Bridgers", "SHE SAID YES"; not "packing up"): a show, a person or a product the topic's cue list names, which
    the encoder's vector of the post often misses (#TVShows under "Just finished Baby Reindeer"). Of the posts of
    export/judged/ that write one and got no such topic before, about 5 in 6 are about that topic. A Chinese cue
    counts at ZH_NAMED_CHARS characters or more (半程马拉松 -> #跑步), or inside 《》 for a topic of WORKS
    (《哪吒之魔童闹海》 -> #电影; 《晴天》, a song, is no #天气)."""
    if not is_latin(cue):
        return cue in text and (len(cue) >= ZH_NAMED_CHARS or is_emoji(cue) or (topic in WORKS and f"《{cue}" in text))
    words = cue.split()
    if len(words) < 2:
        return rarity(cue) >= RARE_NAME and _capitalised_inside(cue, text)
    for found in _name_pattern(cue).finditer(text):
        shown = [w for w in re.findall(r"[^\W_][\w.']*", found.group(0)) if w.lower() not in _SMALL_WORDS]
        if any(w[0].isupper() for w in shown) and all(w[0].isupper() or w[0].isdigit() for w in shown):
            return True
    return False


@functools.lru_cache(maxsize=100_000)
def _name_pattern(cue: str) -> re.Pattern:
    """A Latin cue of two words or more as a pattern, its words apart by spaces, hyphens, apostrophes or dots; compiled
    once a cue (the re module's own cache holds 512, and a post's cues can be thousands)."""
    return re.compile(r"(?<!\w)" + r"[\s\-'.]+".join(map(re.escape, cue.split())) + r"(?!\w)", re.IGNORECASE)


_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def is_emoji(term: str) -> bool:
    """A cue of emoji alone (🚲, 🧗): a sport's or a pet's picture, which posts add where their words leave it out
    ("18 miles this morning in the rain ... 🏃"); named wherever the post or thread shows it (`named_in`)."""
    return bool(term) and all(_EMOJI.match(c) for c in term)


def _capitalised_inside(word: str, text: str) -> bool:
    """The text writes the word capitalised inside a sentence ("built a calculator in Minecraft"), not first in one."""
    for found in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE):
        shown, before = found.group(0), text[:found.start()].rstrip()
        if shown[0].isupper() and not shown.isupper() and before and before[-1] not in ".!?:\n":
            return True
    return False


def writes(text: str, terms: tuple[str, ...]) -> bool:
    """The text writes one of the terms: a Latin one as whole words, a Chinese one (two characters or more)
    anywhere."""
    padded = padded_words(text, bare=True)
    return written(matcher(terms), text, padded, loose_words(padded))
