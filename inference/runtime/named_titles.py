"""Works a post names: a game, a show, a film, a book, an artist or a festival of inference/data/titles_en.txt, which
posts often write in lower case ("200 hours in baldurs gate 3", "started the bear on a whim"). The phrase finder saw
no name there and took its pieces (#Baldurs, #Gate, #Bear beside #ChefLife); a title named is a tag of its own
(#BaldursGate3, #TheBear) that stands past the floor, its pieces are none, and its topic (#Gaming, #TVShows) is very
clear (runtime/topics.py `TopicTags.picked`).

A title is named where the post writes its words (or an alias: bg3) in a row, case, apostrophes and "&" aside, and
- one of its words is rare (phrases.rarity DISTINCT or more: Baldur's, Oppenheimer; no number: "inside out 2"), or
- it has two words or more, written with the title's capitals ("The Bear is back"), or
- a word beside it says it is a work: season, episode, finale after it ("the bear season 3"); watching, binged, playing
  before it, where no word but a stop word follows ("started the bear on a whim", not "watching the bear cubs"); a title
  of one ordinary word (Succession, Severance) needs such a word after it, or a binge or rewatch before it; one of two
  words or more is named too where the text writes an episode, a finale or a trailer anywhere (ABOUT_A_WORK), or after
  "season of" ("the last season of the bear")."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from inference.runtime.grounding_rules import _from_the_post
from inference.text.phrases import STOP_WORDS, rarity
from inference.text.segment_data import PACKAGE_DATA
from inference.text.tags import tag_key, unaccented, variant_key

TITLES_FILE = PACKAGE_DATA / "titles_en.txt"
DISTINCT = 0.65  # a word this rare names its work wherever it is written (succession 0.50, severance 0.59: not)
TITLE_SCORE = 0.6  # a named title's phrase score: the post writes it whole
PIECE_WORDS = 4  # the longest run of the post's words, overlapping a title, that is a piece of it
# the words beside a title that say it is a work
BEFORE = frozenset("""watch watched watching rewatch rewatched rewatching binge binged bingeing binging started finished
playing played play replaying replayed beat beating reading read streaming streamed listen listening listened""".split())
PASSED = frozenset("to some more".split())  # a word between the one that says "a work" and the title
STRONG_BEFORE = frozenset("rewatch rewatched rewatching binge binged bingeing binging".split())
AFTER = frozenset("""season seasons episode episodes ep eps finale premiere dlc trailer spoilers spoiler soundtrack ost
sequel remake reboot series show movie film book books game cast fandom album song songs tour concert lyrics s1 s2 s3
s4 s5 s6 s7 s8 s9""".split())
# the words of a text about a work, wherever it writes them: a title of two ordinary words or more is named beside any
# ("the bear really said 'what if a whole episode was just people being stressed in a kitchen'")
ABOUT_A_WORK = frozenset("episode episodes finale premiere trailer spoilers spoiler soundtrack dlc sequel".split())
_WORD = re.compile(r"[\w'’]+|&")
_SENTENCE_END = frozenset(".!?…\"“”(:;-")
_LINE = re.compile(r"^([a-z][a-z -]*?):\s+(.+)$")
_ALIASES = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


class InvalidTitles(ValueError):
    """A titles file line without "topic: Title | Title"."""


@dataclass(frozen=True)
class Title:
    """One work: its words as a tag's (Baldurs Gate 3) and its topic's tag words (gaming)."""

    words: str
    topic: str


@dataclass(frozen=True)
class Named:
    """A title the text names, and where: its first word's index and the index after its last (`words_of`)."""

    title: Title
    start: int
    end: int


def words_of(text: str) -> tuple[tuple[str, str, bool], ...]:
    """(lower case without accents, as written, whether a name's capital: capitalised and not a sentence's first word)
    of each word of the text, apostrophes dropped, "&" read as "and"."""
    out, end, first = [], 0, True
    for m in _WORD.finditer(text):
        gap = text[end:m.start()].rstrip()
        first = (gap[-1] in _SENTENCE_END) if gap else (first and end == 0)  # the text's or a sentence's first word
        written, end = m.group(0).replace("’", "").replace("'", ""), m.end()
        if low := _folded(written):
            out.append((low, written, written[:1].isupper() and not first))
    return tuple(out)


@functools.lru_cache(maxsize=1 << 16)
def _folded(word: str) -> str:
    """A word in lower case without accents ("&" as "and")."""
    if word == "&":
        return "and"
    return unaccented(word.lower())


_text_words = functools.lru_cache(maxsize=256)(words_of)  # a request's text, read by `named`, then by `add_titles`


def read_titles(path=TITLES_FILE) -> dict[tuple[str, ...], tuple[Title, tuple[str, ...], bool]]:
    """The lower-case words of each title and alias -> (its Title, the title's words as written, whether one of
    those lower-case words is rare: DISTINCT)."""
    out: dict[tuple[str, ...], tuple[Title, tuple[str, ...], bool]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        found = _LINE.match(line)
        if not found:
            raise InvalidTitles(f"{path}:{number}: expected 'topic: Title | Title', got {line[:60]!r}")
        for item in found.group(2).split(" | "):
            named = _ALIASES.match(item.strip())
            name, aliases = (named.group(1), named.group(2).split(",")) if named else (item.strip(), [])
            written = tuple(w for _, w, _ in words_of(name))
            if not written:
                raise InvalidTitles(f"{path}:{number}: an empty title in {line[:60]!r}")
            title = Title(" ".join(written), found.group(1).strip())
            for key in [tuple(low for low, _, _ in words_of(name))] + [tuple(w[0] for w in words_of(a)) for a in aliases if a.strip()]:
                out.setdefault(key, (title, written, any(not w.isdigit() and rarity(w) >= DISTINCT for w in key)))
    return out


@functools.cache
def titles(path=TITLES_FILE) -> tuple[dict, dict[str, int]]:
    """`read_titles` of the file and, for each first word, its longest title's length in words."""
    table = read_titles(path)
    longest: dict[str, int] = {}
    for key in table:
        longest[key[0]] = max(longest.get(key[0], 0), len(key))
    return table, longest


@functools.lru_cache(maxsize=256)  # a request asks twice (topics.TopicTags.picked, add_titles)
def named(text: str, path=TITLES_FILE) -> tuple[Named, ...]:
    """The titles the text names (see the module docstring), each once, the longest at a place first."""
    table, longest = titles(path)
    words = _text_words(text or "")
    lows = [word[0] for word in words]
    about = not ABOUT_A_WORK.isdisjoint(lows)
    out, seen, i = [], set(), 0
    while i < len(words):
        for n in range(min(longest.get(lows[i], 0), len(words) - i), 0, -1):
            entry = table.get(tuple(lows[i:i + n]))
            if entry and _names_it(entry, words, i, i + n, about):
                if entry[0].words not in seen:
                    out.append(Named(entry[0], i, i + n))
                    seen.add(entry[0].words)
                i += n - 1
                break
        i += 1
    return tuple(out)


def _names_it(entry: tuple[Title, tuple[str, ...], bool], words: list[tuple[str, str, bool]], start: int, end: int,
              about: bool = False) -> bool:
    _, written, distinct = entry
    if start and words[start - 1][2] and words[start][1][:1].isupper():
        return False  # a longer name that ends in the title: the Raiden Shogun, Ala Moana
    before = words[start - 1][0] if start else ""
    if before in PASSED and start > 1:  # "listening to taylor swift"
        before = words[start - 2][0]
    if before == "of" and start > 1 and words[start - 2][0] in AFTER:  # "the last season of the bear"
        return True
    after = words[end][0] if end < len(words) else ""
    if distinct:
        return True
    if end - start == 1:
        return after in AFTER or before in STRONG_BEFORE
    capitals = tuple(w[1] for w in words[start:end]) == written and any(w[:1].isupper() for w in written)
    return capitals or about or after in AFTER or (before in BEFORE and (not after or after in STOP_WORDS))  # not "the bear cubs"


def topics_named(text: str) -> list[str]:
    """The topics' tag words of the titles the text names, in order, each once."""
    return list(dict.fromkeys(n.title.topic for n in named(text)))


def add_titles(pool: dict[str, dict], text: str, sensitive=lambda words: False, path=TITLES_FILE) -> None:
    """Add each title the text names as a candidate taken from the post at TITLE_SCORE that stands past the floor
    ("work_named": none under a post that tells of a death, grounding.Grounder.eligible), and
    drop the pieces of it the pool holds: a run of the text's words that cuts the title (#Bear under "the bear season 3",
    #BearSeason, #Baldurs, #BaldursGate under "baldurs gate 3"); no title that is `sensitive`."""
    found = [n for n in named(text, path) if not sensitive(n.title.words)]
    if not found:
        return
    words = _text_words(text)
    pieces: set[str] = set()
    for n in found:
        for i in range(max(0, n.start - PIECE_WORDS + 1), n.end):
            for j in range(max(i + 1, n.start + 1), min(len(words), i + PIECE_WORDS) + 1):
                if i > n.start or j < n.end:  # it cuts the title (#TheOfficeUK holds it whole)
                    pieces.add(_plain(" ".join(word[0] for word in words[i:j])))
    titled = {variant_key(n.title.words) for n in found}
    plain = {k: _plain(e["words"]) for k, e in pool.items()}
    for key in [k for k, e in pool.items() if plain[k] in pieces and variant_key(e["words"]) not in titled]:
        if not pool[key].get("topical"):  # a topic's own tag stays
            del pool[key]
    for n in found:  # the post's own spelling where the pool holds it (#Pokémon, #Shōgun)
        key, words = next(((k, e["words"]) for k, e in pool.items() if plain.get(k) == _plain(n.title.words)),
                          (tag_key(n.title.words), n.title.words))
        _from_the_post(pool, key, words, TITLE_SCORE)
        pool[key].update(topic=True, topical=True, work_named=True, name=max(pool[key].get("name", 0.0), TITLE_SCORE))


def _plain(words: str) -> str:
    """variant_key with apostrophes, hyphens and accents dropped (its singular: #Baldur is a piece of "baldurs gate 3")."""
    return variant_key(" ".join(word[0] for word in words_of(words.replace("-", ""))))
