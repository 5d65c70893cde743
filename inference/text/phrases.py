"""Open-vocabulary hashtag candidates taken from the words of a post and its reply thread.

`extract_phrases(post, thread, lang)` proposes what the post itself names, for the ranking to score:
`Phrase`s whose `words` follow the tag convention (English lowercase words joined by single spaces,
"elden ring"; Chinese without spaces, "中秋节"), with a `score` in [0, 1] and a `kind`:
"title": capitalised spans of 2-4 words (Great North Run, The Last of Us), Chinese festivals; "work": 《titles》;
"entity": one capitalised word that is no sentence-initial common word (Malenia, SpaceX, NASA), jieba's
people/places/organisations/proper nouns/abbreviations (nr ns nt nz j), Latin names in Chinese (Mate60);
"keyphrase": lowercase English 1-3 word phrases between stop words, verbs and punctuation (RAKE-like);
"topic": Chinese nouns (n vn l) weighted by jieba.analyse's IDF table, and words jieba's dictionary
lacks (国足, 雾霾); the Chinese rules live in `inference/text/phrases_zh.py`. Titles > entities > keyphrases/topics; rarer words (wordsegment's web counts), known
collocations and repetition score higher, phrases only in the thread lower. URLs, @mentions, inline
#hashtags, emoji and numbers go first; stop words, time words and fragments (third, double) never stand
alone. jieba's global
dictionary is only read (the model's tokeniser shares it). Word lists load lazily, once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from inference.text import phrases_zh
from inference.text.english_words import (CARDINALS, CONNECTORS, FRAGMENT_WORDS, FUNCTION_WORDS, NUMBER_WORDS,  # noqa: F401
                                          STOP_WORDS, UNITS)  # re-exported: names.py, grounding.py read them here
from inference.text.verbs import opening_verb, verb_like
from inference.text.list_cache import cached_lines
from inference.text.segment_data import cache_dir
from inference.text.tags import MENTION as _MENTION, URL as _URL
from inference.text.word_hashes import WordRanks, WordSet


@dataclass(frozen=True)
class Phrase:
    words: str
    score: float
    kind: str  # "work" | "entity" | "title" | "keyphrase" | "topic"


_TRIMMED = FUNCTION_WORDS | CONNECTORS

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HASHTAG = re.compile(rf"#[^#\s]{{1,40}}#|#[\w{_CJK}]+")  # Weibo's #话题# first, then #tag
_EMOTE = re.compile(r"\[[^\[\]\s]{1,8}\]")  # Weibo's [哈哈]
_CJK_RUN = re.compile(rf"[{_CJK}]+")
# English tokens: words (a letter, then letters/digits, inner ' - &), numbers, sentence ends, other marks.
_TOKEN = re.compile(r"(?P<w>[^\W\d_](?:\w|['’\-&](?=[^\W_]))*)|(?P<n>\d[\w.,:]*)|(?P<s>[.!?;:\n…]+)|(?P<p>[^\w\s])")
_EMOJI_LIKE = re.compile(r"[^\x00-\u024f\u2000-\u206f]")  # outside Latin and general punctuation
_SPLIT_WORD = re.compile(r"['’\-&]+")
DETERMINERS = frozenset("a an the my your his her our their".split())
_CONTRACTION = re.compile(r"'(?:ll|re|ve|d|m)$")  # it'll, they're, we've: a pronoun and its verb, no phrase
_ELONGATED = re.compile(r"([^\W\d_])\1\1")  # gooo, yesss, 啊啊啊: a shout, not a tag (Planet Earth III is)


@functools.lru_cache(maxsize=1)
def english_lists() -> tuple[WordSet, WordRanks]:
    """(dictionary words: no proper nouns, so "chicago" is absent; word -> rank in web counts), as hashes
    (text/word_hashes.py: 5 MB where a frozenset and a dict held 42)."""
    import wordsegment

    folder = Path(wordsegment.__file__).resolve().parent
    with open(folder / "words.txt", encoding="utf-8") as lines:
        dictionary = WordSet(w for line in lines for w in line.split())
    with open(folder / "unigrams.txt", encoding="utf-8") as lines:  # most frequent first
        ranks = WordRanks(line.split("\t", 1)[0] for _, line in zip(range(200_000), lines))
    return dictionary, ranks


COLLOCATIONS_VERSION = 1  # bump when _collocations' rule changes (the stop words are in the cache key)


@functools.lru_cache(maxsize=1)
def _collocations() -> frozenset[str]:
    """Two-word phrases frequent on the web, neither word a stop word: "heat wave", "city council".
    Filtered from wordsegment's bigrams once, then read from the cache folder (text/list_cache.py)."""
    import wordsegment

    source = Path(wordsegment.__file__).resolve().parent / "bigrams.txt"

    def build() -> list[str]:
        with open(source, encoding="utf-8") as lines:
            pairs = (line.split("\t", 1)[0] for line in lines)
            return [p for p in pairs if all(w.isalpha() and w not in STOP_WORDS for w in p.split(" "))]

    version = (COLLOCATIONS_VERSION, hashlib.sha256(" ".join(sorted(STOP_WORDS)).encode()).hexdigest())
    return frozenset(cached_lines("collocations", version, [source], build))


def collocation(words: str) -> bool:
    """Every two neighbouring words of the phrase are a pair frequent on the web ("carrot juice")."""
    pairs = list(zip(*(lambda w: (w, w[1:]))(words.split(" "))))
    return bool(pairs) and all(" ".join(pair) in _collocations() for pair in pairs)


@functools.lru_cache(maxsize=1)
def jieba_tables():
    """(jieba, word -> part of speech, word -> IDF, median IDF, name-start test for a character)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    if not jieba.dt.initialized:  # its dictionary cache goes with the project's, as the tokeniser's does
        with contextlib.suppress(OSError):
            cache_dir().mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir())
    from inference.text.zh_tables import initialize_jieba, load_tables  # jieba's dictionary and tables, cached

    initialize_jieba(jieba, cache_dir())

    return (jieba, *load_tables(jieba, cache_dir()))


def warm_up(chinese: bool = True) -> None:
    """Load the word lists (and jieba) now rather than on the first post."""
    english_lists()
    _collocations()
    if chinese:
        jieba_tables()


def rarity(word: str) -> float:
    """0 for the thousand commonest web words, 1 for words outside the top 200k."""
    rank = english_lists()[1].get(word, 200_000)
    return min(1.0, max(0.0, math.log(rank / 1000) / math.log(200)))


@dataclass
class _Token:
    text: str
    lower: str
    cap: bool
    initial: bool  # first word of a sentence
    possessive: bool  # Malenia's, grandma's: ends a key phrase
    used: bool = False  # part of an accepted capitalised span
    after_number: bool = False  # right after a number in digits ("3 hour podcast": hour)


def _clauses(text: str, embedded: bool) -> list[list[_Token]]:
    """Text -> clauses of word tokens. `embedded`: Latin words inside Chinese text (none is initial)."""
    clauses: list[list[_Token]] = [[]]
    initial, number = not embedded, False
    for m in _TOKEN.finditer(text):
        if m.lastgroup == "w":
            word = m.group()
            possessive = word.endswith(("'s", "’s"))
            word = word[:-2] if possessive else word
            cap = word[0].isupper() or (any(c.isupper() for c in word[1:]) and not word.isupper())
            clauses[-1].append(_Token(word, word.lower().replace("’", "'"), cap, initial, possessive, after_number=number))
            initial = number = False
            continue
        number = m.lastgroup == "n" or (number and m.group() == "-")  # "a 3-hour podcast": hour is the 3's
        if clauses[-1]:
            clauses.append([])
        if m.lastgroup == "s" or (m.lastgroup == "p" and _EMOJI_LIKE.match(m.group())):
            initial = not embedded
    return [c for c in clauses if c]


def _casing_informative(clauses: list[list[_Token]]) -> None:
    """Shouting (mostly ALL CAPS) and Title Case Headlines: only words a dictionary lacks keep `cap`."""
    words = [t for c in clauses for t in c]
    if len(words) < 4:
        return
    shouting = sum(t.text.isupper() and len(t.text) > 1 for t in words) >= 0.6 * len(words)
    titled = sum(t.cap for t in words) >= 0.8 * len(words)
    if shouting or titled:
        dictionary = english_lists()[0]
        for t in words:
            t.cap = t.cap and t.lower not in dictionary and t.lower not in STOP_WORDS
            t.initial = False


def _words(tokens: Sequence[_Token], titled: bool = False) -> str:
    """The tokens' words; `titled` (a capitalised span): a possessive inside it keeps its s, as the title's
    hashtag writes it (Baldur's Gate: #BaldursGate, Grey's Anatomy: #GreysAnatomy)."""
    words: list[str] = []
    for t in tokens:
        pieces = [w for w in _SPLIT_WORD.split(t.lower) if w]
        if titled and t.possessive and t is not tokens[-1] and pieces:
            pieces[-1] += "s"
        words.extend(pieces)
    return " ".join(words)


def _trim(span: list[_Token]) -> list[_Token]:
    """Function words off a span's ends, but a name's own inside a sentence (The Last of Us, the All Blacks; not I, LOL)."""
    while span and span[0].lower in _TRIMMED and (span[0].initial or len(span) < 2 or not span[0].text.istitle()):
        span = span[1:]
    while span and span[-1].lower in _TRIMMED and (not span[-1].cap or span[-1].text.isupper()):
        span = span[:-1]
    return span


def _rejected_alone(token: _Token, dictionary: Container[str]) -> bool:
    """A capitalised word alone is no entity when it is a stop word or a sentence-initial common word."""
    common = token.lower in dictionary and token.text[1:].islower()
    return token.lower in STOP_WORDS or token.lower in FRAGMENT_WORDS or len(token.lower) < 2 or (token.initial and common)


def _caps_ahead(clause: list[_Token], j: int) -> int:
    """Capitalised words in the run from j (connectors inside): a possessive before two or more ends a
    span (JWST's | Pillars of Creation), before one it is part of a title (Baldur's Gate)."""
    n = 0
    while j < len(clause) and (clause[j].cap or clause[j].lower in CONNECTORS):
        n += clause[j].cap
        j += 1
    return n


# I, I'm, She'd, They'll, It's: capitalised, never a name's ("She'd have hated any fuss" gave #SheD)
_PRONOUN_I = re.compile(r"(?:i|(?:i|you|he|she|it|we|they|there|that|who|what)['’](?:m|ll|ve|d|re|s))$")


def _capitalised_spans(clause: list[_Token]) -> Iterable[tuple[str, float, str]]:
    """Runs of capitalised words (with inner connectors: Bank of America) -> (words, base, kind)."""
    dictionary = english_lists()[0]
    i = 0
    while i < len(clause):
        if not clause[i].cap or _PRONOUN_I.match(clause[i].lower):
            i += 1
            continue
        j = i + 1
        while j < len(clause) and not (clause[j - 1].possessive and _caps_ahead(clause, j) > 1):
            k = j  # connectors (Lord of the Rings) only between capitalised words
            while k < len(clause) and not clause[k].cap and clause[k].lower in CONNECTORS:
                k += 1
            if k == len(clause) or not clause[k].cap or _PRONOUN_I.match(clause[k].lower):  # "Acme I'm": Acme
                break
            j = k + 1
        span = _trim(clause[i:j])
        i = j
        if len(span) > 1 and span[0].initial and not span[0].text.isupper() and opening_verb(span[0].lower, dictionary):
            # (shouted, "GOT THE JOB" is a saying whole: #GotTheJob)
            rest = _trim(span[1:])  # "Watching Elden Ring" -> "Elden Ring"; "Boxing Day" stays whole
            if len(rest) > 1 or (rest and not _rejected_alone(rest[0], dictionary)):
                span = rest
            elif not span[0].lower.endswith("ing"):  # "Spent Saturday", "Finished Tomorrow": no title ("Boxing Day" is)
                span = []
        words = _words(span, titled=True)
        n = words.count(" ") + 1
        if not span or n > 4 or (n == 1 and _rejected_alone(span[0], dictionary)):
            continue
        for t in span:
            t.used = True
        if n == 1:
            yield words, 0.5 + 0.25 * rarity(words), "entity"
        else:
            yield words, 0.78 + 0.04 * min(n, 3) - 0.04 * (n == 4), "title"


def _grams(chunk: list[str], modifiers: frozenset[str] = frozenset()) -> Iterable[tuple[str, float, str]]:
    """One stop-word-bounded chunk -> its 1-3 word sub-phrases, scored by rarity and collocation; a word of
    `modifiers` (a gerund naming the noun after it: "parking" of "a parking ticket") is none alone."""
    for n in (1, 2, 3):
        for k in range(len(chunk) - n + 1):
            gram = chunk[k:k + n]
            if gram[-1] in STOP_WORDS or gram[0] in STOP_WORDS:
                continue
            rare = sum(map(rarity, gram)) / n
            base = (0.1 + 0.3 * rare, 0.38 + 0.22 * rare, 0.3 + 0.2 * rare)[n - 1]
            if n == 2 and " ".join(gram) in _collocations():
                base += 0.1
            if n == 3 and not any(" ".join(pair) in _collocations() for pair in (gram[:2], gram[1:])):
                continue  # three words with no known pair in them cross a boundary: "install updates right"
            if n == 1 and (gram[0] in FRAGMENT_WORDS or gram[0] in modifiers):
                continue
            if n > 1 and gram[0] in CARDINALS and " ".join(gram[:2]) not in _collocations():
                continue  # "hundred ducks": a count (a known pair, "seven wonders", stays)
            if n == 1 and rare < 0.2:  # a single common word: barely a candidate
                base *= 0.5
            yield " ".join(gram), base, "keyphrase"


def _measure(t: _Token, before: str) -> bool:
    """A unit after its number ("3 hour podcast", "two miles from home", "a mile run"): the number's, not
    a phrase's word."""
    return t.lower in UNITS and (t.after_number or before.rsplit("-", 1)[-1] in NUMBER_WORDS)  # twenty-two miles


def _keyphrases(clause: list[_Token]) -> Iterable[tuple[str, float, str]]:
    """Runs of words outside capitalised spans, between stop words, verbs and measures -> _grams (RAKE-like)."""
    dictionary = english_lists()[0]
    chunk: list[str] = []
    measured = False  # the word before was a measure: "3 hours debugging" tells an activity
    modifiers: set[str] = set()
    # an -ing word after an article or a possessive names a thing ("a parking ticket", "my running shoes")
    for before, t in zip(["", *(c.lower for c in clause)], [*clause, None]):
        if t is not None and _measure(t, before):
            while chunk and chunk[-1] in NUMBER_WORDS:
                chunk.pop()  # "tire two miles", "twenty-two miles": the number goes with its unit
            yield from _grams(chunk, frozenset(modifiers))
            chunk, measured, modifiers = [], True, set()
            continue
        gerund = t is not None and t.lower.endswith("ing") and verb_like(t.lower, dictionary)
        if t is not None and not t.used and t.lower not in STOP_WORDS and len(t.lower) > 1 and not _CONTRACTION.search(t.lower) and (
                not verb_like(t.lower, dictionary) or (gerund and (chunk or measured or before in DETERMINERS))):
            if gerund and not chunk and not measured:
                modifiers.add(t.lower)
            chunk.extend(w for w in _SPLIT_WORD.split(t.lower) if w)
            measured = False
            if not t.possessive:
                continue
        measured = False
        yield from _grams(chunk, frozenset(modifiers))
        chunk, modifiers = [], set()


def _english(text: str, embedded: bool = False) -> list[tuple[str, float, str]]:
    clauses = _clauses(text, embedded)
    if not embedded:  # names inside Chinese text are capitalised on purpose
        _casing_informative(clauses)
    spans = [found for clause in clauses for found in _capitalised_spans(clause)]  # first: marks `used`
    return spans + [found for clause in clauses for found in _keyphrases(clause)]


def _latin_in_chinese(text: str) -> list[tuple[str, float, str]]:
    """Product and brand names written in Latin letters inside Chinese text (iPhone, Mate60, NBA)."""
    found = _english(_CJK_RUN.sub("\n", text), embedded=True)
    return [(words, base, kind) for words, base, kind in found
            if (kind != "keyphrase" or re.search(r"\d", words)) and not _MONEY.fullmatch(words)]


def _names(text: str) -> list[tuple[str, float, str]]:
    """A language with no rules here (es, fr, de...): only the names it capitalises inside a sentence
    (titles and entities: Valencia, Champions League). Without its dictionary and stop words, a
    sentence's first word and a shouted or title-cased text tell nothing, and no keyphrase is taken."""
    clauses = _clauses(_CJK_RUN.sub("\n", text), embedded=False)
    words = [t for c in clauses for t in c]
    if len(words) >= 4 and (sum(t.text.isupper() and len(t.text) > 1 for t in words) >= 0.6 * len(words)
                            or sum(t.cap for t in words) >= 0.8 * len(words)):
        return []
    for t in words:
        t.cap = t.cap and not t.initial  # capitalised by grammar, not as a name
    return [found for clause in clauses for found in _capitalised_spans(clause)]


_LETTER = re.compile(r"[^\W\d_]")
_MONEY = re.compile(r"(?:rm|myr|sgd|hkd|hk|ntd|nt|rmb|usd|us|php|inr|rs|aud|cad|gbp|eur|jpy|krw|thb)\s?\d[\d.,]*k?")  # RM19.90


def has_words(text: str) -> bool:
    """The text says something in words: a letter outside its links and @mentions (emoji, numbers and a
    bare link say nothing a tag could be grounded on)."""
    return bool(_LETTER.search(_MENTION.sub(" ", _URL.sub(" ", text))))


def _clean(text: str) -> str:
    """URLs, @mentions, inline hashtags and Weibo's [emotes] -> sentence breaks."""
    for pattern in (_URL, _MENTION, _HASHTAG, _EMOTE):
        text = pattern.sub("\n", text)
    return text


def _candidates(text: str, lang: str) -> list[tuple[str, float, str]]:
    text = _clean(text)
    if not text.strip():
        return []
    if lang and lang not in ("en", "zh") and not lang.startswith("zh"):
        return _names(text)
    cjk = sum(map(len, _CJK_RUN.findall(text)))
    if cjk and ((lang or "").lower().startswith("zh") or cjk > sum(c.isascii() and c.isalpha() for c in text)):
        return phrases_zh.chinese(text, jieba_tables()) + _latin_in_chinese(text)
    return _english(_CJK_RUN.sub("\n", text))


def _elongated(words: str) -> bool:
    """A word of the phrase holds a letter three times running, and is no Roman numeral."""
    return any(_ELONGATED.search(w) and w.strip("ivxlc") for w in words.split())


_KIND_RANK = {"work": 4, "title": 3, "entity": 2, "topic": 1, "keyphrase": 0}


def extract_phrases(post: str, thread: Sequence[str] = (), lang: str = "en", limit: int = 20) -> list[Phrase]:
    """Candidate hashtags named in `post` (and its reply `thread`), best first, at most `limit`.

    lang: "zh" for Chinese (Latin product names inside it are kept too), "en" (or none) English; any
    other language: the names it capitalises inside a sentence alone (`_names`). A phrase's score grows with each repetition (post or thread); one that appears only in
    the thread keeps 60% of its score."""
    best: dict[str, list] = {}  # words -> [base, kind, post count, thread count, order]
    for source, text in [("post", post or ""), *(("thread", t or "") for t in thread)]:
        for words, base, kind in _candidates(text, lang):
            if not words or words.isdigit() or _elongated(words):
                continue
            entry = best.setdefault(words, [0.0, kind, 0, 0, len(best)])
            if (base, _KIND_RANK[kind]) > (entry[0], _KIND_RANK[entry[1]]):
                entry[0], entry[1] = base, kind
            entry[2 if source == "post" else 3] += 1
    phrases = []
    for words, (base, kind, in_post, in_thread, order) in best.items():
        score = 1.0 - (1.0 - (base if in_post else 0.6 * base)) * 0.7 ** (in_post + in_thread - 1)
        phrases.append((-round(min(1.0, max(0.0, score)), 4), order, words, kind))
    phrases.sort()
    return [Phrase(words, -score, kind) for score, _, words, kind in phrases[:max(0, limit)]]
