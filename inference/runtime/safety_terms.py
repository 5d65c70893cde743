"""The safety lexicon's words: tokens, light stemming, and groups of terms a post is checked against
(shared by inference/runtime/safety.py and safety_tone.py)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)  # a link's letters ("t.co") are not the post's words
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# a simile's object is no subject of the post: "carrying the tomatoes in like it's an evacuation", "as if we were at war"
_SIMILE = re.compile(r"\b(?:like|as if|as though) (?:it's|it is|it was|it were|we're|we are|we were|i'm|i am|i was|"
                     r"they're|they are|you're|he's|she's) (?:in |at )?(?:a |an |the )?([^\W_]+)", re.IGNORECASE)
# nor is a kill said of a performance or a pain: "kills everything off the back wall", "killing it", "my knees are killing me"
# or a crime said of a score or a price: "the crown on the green tonight was criminal"
_FIGURATIVE = re.compile(r"\b(?:(?:kill|kills|killing|killed|murdered|murdering) (?:it|everything|me)|"
                         r"(?:was|is|were|are|so|absolutely|honestly|genuinely|that's) criminal)\b", re.IGNORECASE)
# a fire named only by its service is no fire: "fire brigade were out til 3am" under a flood (a fire pit, a fire alarm stay)
_SERVICE = re.compile(r"\bfire (brigade|service|station|department|truck|engine)(s?)\b", re.IGNORECASE)
COMPACT_MIN = 6  # a Latin term this long may match inside a tag written together ("prayforboston")
PIECE_MIN = 3  # the rest of a written-together tag counts as an event name from this length


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Light English stemming (plurals, -ing, -ed); other scripts are returned unchanged."""
    if not word.isascii() or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            base = word[: -len(suffix)]
            if base[-1] == base[-2] and base[-1] not in "lsz" and len(base) > 4:
                base = base[:-1]
            return base
    if word.endswith("es") and word[-3] in "xz" or word.endswith(("ches", "shes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


@dataclass(frozen=True)
class Group:
    """Terms that make a tag sensitive and the words that show a post is about them."""

    name: str
    category: str
    policy: str
    event: bool
    word_triggers: tuple[tuple[str, ...], ...]
    compact_triggers: tuple[str, ...]
    cjk_triggers: tuple[tuple[str, ...], ...]  # all parts of one trigger must appear
    support: "Group | None" = None  # an event's own triggers, without its names


class Context:
    """A post, its thread and any OCR text or caption, prepared once for many tag checks."""

    def __init__(self, text: str, cjk_safe: tuple[str, ...] = ()):
        text = _SERVICE.sub(r"fire\1\2", _FIGURATIVE.sub(" ", _URL.sub(" ", text)))
        words = tokens(_SIMILE.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)], text))
        self.stems = frozenset(stem(w) for w in words)
        self.sequence = " " + " ".join(stem(w) for w in words) + " "  # the stems in order, for a phrase
        # longer words, where a hashtag written together ("#prayforboston") hides its words
        self.words = " " + " ".join(w for w in words if len(w) >= 5 and not has_cjk(w)) + " "
        cjk = "".join(words)
        for safe in cjk_safe:
            cjk = cjk.replace(safe, "")
        self.cjk = cjk
        self._about: dict[str, bool] = {}

    def about_also(self, group: Group) -> "Context":
        """A copy of this context that is about `group` too (the cached one stays as its words say)."""
        other = copy.copy(self)
        other._about = {**self._about, group.name: True}
        return other

    def has_word(self, word: str) -> bool:
        return stem(word) in self.stems or (len(word) >= PIECE_MIN and word in self.words)

    def is_about(self, group: Group) -> bool:
        if group.name not in self._about:
            self._about[group.name] = (
                any(all(w in self.stems for w in t) for t in group.word_triggers)
                or any(c in self.words for c in group.compact_triggers)
                or any(all(c in self.cjk for c in t) for t in group.cjk_triggers)
            )
        return self._about[group.name]


def compact(text: str) -> str:
    return "".join(tokens(text))


def make_group(name: str, category: str, policy: str, event: bool, triggers: list[str],
           support: Group | None = None) -> Group:
    latin = [t for t in triggers if not has_cjk(t)]
    return Group(
        name=name, category=category, policy=policy, event=event,
        word_triggers=tuple({tuple(stem(w) for w in tokens(t)) for t in latin if tokens(t)}),
        compact_triggers=tuple({compact(t) for t in latin if len(compact(t)) >= 5}),
        # one character says little about a post (打 is in 打卡, 火 in 火锅): a trigger has two or more
        cjk_triggers=tuple({tuple(t.lower().split()) for t in triggers if has_cjk(t) and len(t.replace(" ", "")) >= 2}),
        support=support,
    )


class Kinds(dict):
    """The lexicon's `kinds` (compact tag -> kind): a plural the data found no kind for holds its singular's (#Guns as
    #Gun, a stance: #Guns came under a pigeon basket "loaded" for liberation)."""

    def get(self, key, default=None):
        kind = super().get(key)
        if kind is None and len(key) > 3 and key.endswith("s") and not has_cjk(key):
            kind = super().get(key[:-1]) or (super().get(key[:-2]) if key.endswith("es") else None)
        return default if kind is None else kind

    def __contains__(self, key) -> bool:
        return self.get(key) is not None
