"""English verb forms: which words of a post are verbs (past tenses, gerunds: `verb_like`), which opens a
sentence before a name (`opening_verb`), and the activities a post's verbs name (`activities`: "ran" ->
running, "biked" -> biking, "baked" -> baking), which the grounding stage proposes as tags where the
vocabulary knows them as tags (inference/runtime/grounding.py)."""

from __future__ import annotations

import re
from collections.abc import Container

# past tenses that no -ed rule finds, and their base forms
IRREGULAR = dict(pair.split(":") for pair in """
bought:buy brought:bring built:build caught:catch drove:drive ate:eat fell:fall fought:fight found:find flew:fly
forgot:forget froze:freeze gave:give grew:grow hid:hide held:hold hit:hit kept:keep knew:know laid:lay led:lead
left:leave lent:lend lost:lose met:meet paid:pay ran:run rode:ride rang:ring rose:rise sang:sing sank:sink sat:sit
sent:send shot:shoot showed:show shut:shut slept:sleep sold:sell spent:spend spoke:speak stole:steal stood:stand
struck:strike swam:swim taught:teach thought:think threw:throw told:tell understood:understand woke:wake wore:wear
won:win wrote:write broke:break chose:choose took:take heard:hear began:begin blew:blow drank:drink dug:dig
hung:hang meant:mean shook:shake stuck:stick swept:sweep tore:tear wept:weep bent:bend
""".split())
IRREGULAR_VERBS = frozenset(IRREGULAR)
# irregular pasts that tell of an activity people tag (ran: #Running); not broke (#Breaking news), met
# (#Meeting), shot (#Shooting), gave, left, lost...
ACTIVITY_PASTS = frozenset("ran swam rode drove flew sang wrote taught built won slept froze".split())
_WORD = re.compile(r"[a-z]+")
_WRITTEN = re.compile(r"[A-Za-z]+")  # _WORD's words as the text writes them
_SIMILE = frozenset({"like", "if", "though"})  # "like I swam", "as if we ran", "as though she flew"
_SUBJECTS = frozenset({"i", "we", "you", "he", "she", "they", "someone"})
_ONE_SYLLABLE_CVC = re.compile(r"[^aeiou]*[aeiou][^aeiouwxy]")  # run, swim, shop: the last letter doubles


def verb_like(word: str, dictionary: Container[str]) -> bool:
    """Past tenses, gerunds and -ly adverbs of dictionary words (approved, watching, finally)."""
    if word in IRREGULAR_VERBS:
        return True
    for suffix, stems in (("ed", (1, 2, 3)), ("ing", (3, 4)), ("ly", (2,))):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and word in dictionary:
            for cut in stems:
                stem = word[:-cut]
                if len(stem) >= 3 and (stem in dictionary or stem + "e" in dictionary):
                    return True
    return False


def opening_verb(word: str, dictionary: Container[str]) -> bool:
    """A verb that opens a sentence before a name ("Watching Elden Ring", "Saw Chappell Roan", "Tried Olive
    Garden", "Rewatched Paddington", "Got Electric Picnic tickets"): `verb_like`, "saw", "got", a past tense in -ied,
    or a re- form of one. Only
    there: inside a sentence "chain saw", "deep fried oreos" and "rewatching" stay phrases."""
    if verb_like(word, dictionary) or word in ("saw", "got"):
        return True
    if word.endswith("ied") and word in dictionary and word[:-3] + "y" in dictionary:
        return True
    return word.startswith("re") and len(word) > 6 and word not in dictionary and opening_verb(word[2:], dictionary)


def gerund(base: str) -> str:
    """run -> running, bake -> baking, lie -> lying, cook -> cooking."""
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        return base[:-1] + "ing"
    if _ONE_SYLLABLE_CVC.fullmatch(base):
        return base + base[-1] + "ing"
    return base + "ing"


def _bases(word: str, dictionary: Container[str]) -> list[str]:
    """The base forms a past tense may have (biked: bike, bik; shopped: shop; studied: study)."""
    if word in IRREGULAR:
        return [IRREGULAR[word]] if word in ACTIVITY_PASTS else []
    if not word.endswith("ed") or len(word) < 5:
        return []
    bases = [word[:-1], word[:-2]]
    if word[-3] == word[-4]:
        bases.append(word[:-3])
    if word.endswith("ied"):
        bases.append(word[:-3] + "y")
    return [b for b in bases if b in dictionary]


# "ran" tells of a run where a person ran (no "sap ran", "it ran til 5:40") and not someone or something they ran ("ran
# Meg at Bala", a sheepdog; "ran the club's Britannia", a locomotive; "ran the B9TL back to the depot"), unless a run's
# measure follows ("ran my first 10k", read as "k"; "ran the whole 8 minutes"); nor "ran out of", "ran into", "ran over"
_RUNNERS = _SUBJECTS | frozenset("finally just actually also then and today literally".split())
_NOT_A_RUN = frozenset("out into over late off away the a an my our his her their your this that".split())
_A_RUN = re.compile(r"k|km|kms|miles?|mins?|minutes?|hours?|marathon|half|ultra|parkrun|race|laps?|hills?|"
                    r"intervals|sprints|pb|whole|stopping")


def _a_run(words: list[str], i: int, named: bool) -> bool:
    """Whether the "ran" at words[i] tells of a run (see _RUNNERS); named: the word after it is capitalised ("ran Meg")."""
    if i and words[i - 1] not in _RUNNERS:
        return False
    after = words[i + 1] if i + 1 < len(words) else ""
    return (after not in _NOT_A_RUN and not named) or any(_A_RUN.fullmatch(w) for w in words[i + 2:i + 6])


def activities(text: str, dictionary: Container[str]) -> list[str]:
    """The -ing forms of a text's past tenses, in order, each once: candidates for the activity a post
    tells of ("ran my first 10k" -> running, "biked to work" -> biking), not one it likens something to
    ("looking like I swam here"); the caller keeps those that are tags (a -ing word the text writes itself is
    a phrase of it already)."""
    found: dict[str, None] = {}
    words, written = _WORD.findall(text.lower()), _WRITTEN.findall(text) if "ran" in text.lower() else []
    for i, word in enumerate(words):
        if i >= 2 and words[i - 2] in _SIMILE and words[i - 1] in _SUBJECTS:
            continue  # "arrived looking like I swam here": a likeness, not what the post did
        if word == "ran" and not _a_run(words, i, i + 1 < len(written) and written[i + 1][:1].isupper()):
            continue
        if (i and words[i - 1] == "who") or words[i + 1:i + 2] in (["me"], ["us"]):
            continue  # someone else's doing: "Margaret, who taught half this band", "he taught me to ring"
        for base in _bases(word, dictionary):
            found.setdefault(gerund(base))
    return list(found)


_INFLECTIONS = ("ing", "ed", "es", "s")


def inflection_key(word: str) -> str:
    """A word with its inflection cut, the same for its forms: putting, put -> put; turned, turning -> turn;
    candles, candle -> candl; shopping -> shop; shelves, shelf -> shelf. Crude (no dictionary): only for comparing
    phrases word by word."""
    word = IRREGULAR.get(word, word)
    if len(word) > 4 and word.endswith("ves"):  # shelves, shelf -> shelf
        return word[:-3] + "f"
    for suffix in _INFLECTIONS:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[:-len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word
