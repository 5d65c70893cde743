"""Topic tags: the broad everyday topic a post is about (#BoardGames under a Catan night, #Commute under a
bike ride to work), which the post's own words and the training vocabulary often lack.

inference/data/topics_<lang>.txt (English, Chinese) lists the topics, each with a description of what a
post about it talks of and eight example posts written for the purpose; a topic's vector is the
mean of its lines' vectors in the grounding stage's encoder space (`prototypes`), kept in the derived cache.
A post gets the topic its post + thread vector is closest to when that cosine is at least the language's
MIN_COSINE and beats every topic not RELATED to it by MIN_MARGIN (a post between two unrelated topics gets
neither; #Books beside #Reading is one subject); one CLEAR_MARGIN above them stands past the relevance floor,
which reads the tag word's own vector (#Moving, #WorkLife sit far from the posts they name). A post that
writes one of a topic's cue words ("strava", "aeropress", "瑞幸"; a phrase of two content words in any
inflection: "putting up a shelf" writes "put up shelves") is CUE_BONUS closer to it for each (CUE_WORDS at most: 翘嘴 and
亮片 say #路亚 more surely than either alone), and one that
writes a description or cue word of the topic then closest ("Catan", "sourdough", "年夜饭") NAMED_BONUS closer
to that one: the encoder's vector of a short or joking post is often unsure of what the post plainly names.
Where the language has a judged gate (runtime/topic_gate.py), the others of the post's nearest topics that labellers
would likely add join it (#Family beside #Birthday, #Pets under a vet visit; `picked`). A cue the post writes as a name
("Baby Reindeer", a rare "Minecraft" inside a sentence, 《哪吒之魔童闹海》, or an emoji such as 🚲) makes its topic very clear
whatever the vector says (`named_in`), and so do two distinct cue words of one topic ("bowl gouge", "lathe"; rare
Chinese ones: 打投, 控评: CUE_TOPIC). A very clear topic brings the tags people add beside it ("running + runner,
running community" lines: `read_companions`; grounding_rules.add_topic). A topic of a "! hangover, 脱发" line stands only where the post writes one of
its description or cue words (`read_needs`): a misfortune, or a narrow topic whose vector draws posts about something
else (#Haircut under hair lost to chemo, #InLaws nearest to family and grief posts). The words of a "cricket ~ overs,
skipper" line say little alone; PAIR_WORDS of them in one post count as one cue word of the topic and as its words
(`read_pairs`: "2 for 30 off my 6 overs, skipper kept me on"). The bounds were read on posts written
for the purpose (export/judged/en_fresh/en_dev.jsonl, en_fresh2/posts.jsonl, export/judged/zh/zh_dev.jsonl); judged side
by side on others (docs/results.md).
"""

from __future__ import annotations

import functools
import hashlib
import re
from itertools import chain
from pathlib import Path

import numpy as np

from inference.runtime.derived_cache import cached_arrays
from inference.runtime.named_occasions import occasions
from inference.runtime.named_titles import topics_named
from inference.text.idioms import plainly
from inference.text.tags import tag_key
from inference.runtime.topic_gate import FEATURES as GATE_FEATURES, JOIN, NEAREST, RAISED, TOPICS_A_POST, TopicGate, gate_file
from inference.runtime.topic_terms import (TermIndex, counts_toward_topic, is_latin, loose_words, matcher, named_in,
                                           padded_words, rare_cue, reading, written)
from inference.text.segment_data import PACKAGE_DATA

TOPICS_EN = PACKAGE_DATA / "topics_en.txt"
# the cosine a topic needs, per language (Chinese posts sit closer to every description in this space)
MIN_COSINE = {"en": 0.36, "zh": 0.40}
MIN_MARGIN = 0.03
# a topic this far above every unrelated one stands past the relevance floor: its tag word alone may sit far from
# the post in the encoder's space (#Moving is also "touching", #WorkLife under a meeting about meetings)
CLEAR_MARGIN = 0.08
RELATED = 0.6  # topics whose vectors are this close (cosine) are one subject for the margin
NAMED_BONUS = 0.05  # cosine added to the closest topic when the post writes one of its description or cue words
CUE_BONUS = 0.05  # cosine added first to a topic for each of its cue words the post writes (a cue is rarely another topic's)
CUE_WORDS = 3  # cue words that count a topic, at most
# distinct cue words of one topic a text writes that make it very clear whatever the vector says (English: "bowl gouge" and
# "lathe"; Chinese: 打投 and 控评, rare words alone: 楼下 and 物业 are not #邻居, `topic_terms.counts_toward_topic`)
CUE_TOPIC = {"en": 2, "zh": 2}
# and the least raw cosine its topic needs for that: 学员 and 安全员 under a freediver's accident, 瓷砖 and 半包 (榨菜) under a
# trucker's load, at 0.21 and 0.17, are not #学车 and #装修; 打投 and 控评 at 0.26 are #追星
CUE_TOPIC_COSINE = {"zh": 0.25}
PAIR_WORDS = 2  # distinct pair words of one topic (`read_pairs`) a text writes that count as one of its cue words
# a topic that stands only where the post writes its words, else gives way to the commoner one its vector neighbours:
# "football" is soccer to most of the world, and #AmericanFootball came under five-a-side and a Man United defeat
INSTEAD = {"american football": "football"}
MATCHERS_KEPT = 128  # topics whose terms are kept made ready for `written` (`TopicTags._terms`)
_SEP = "\x00"  # between the terms of a packed part (`TopicTags._packed`)
VERSION = 2  # of the cached vectors: bump when how they are computed changes (2: a topic's lines averaged)


def topics_file(lang: str) -> Path | None:
    """inference/data/topics_<lang>.txt, or None for a language without one."""
    path = PACKAGE_DATA / f"topics_{lang}.txt"
    return path if path.is_file() and lang in MIN_COSINE else None


class InvalidTopics(ValueError):
    """A topics file line without "words: description", or cue words for no topic."""


_CUE_LINE = re.compile(r"^([^:=]+?)\s+=\s+(.+)$")  # "gaming = playstation, xbox": cue words, not encoded
_COMPANION_LINE = re.compile(r"^([^:=+]+?)\s+\+\s+(.+)$")  # "running + runner": tags people add beside it
_NEEDS_LINE = re.compile(r"^!\s*(.+)$")  # "! hangover, 脱发": topics that need their words (`read_needs`)
_PAIR_LINE = re.compile(r"^([^:=+~]+?)\s+~\s+(.+)$")  # "cricket ~ overs, skipper": pair words (`read_pairs`)


def read_topics(path: Path) -> list[tuple[str, str]]:
    """(tag words, description) of each line; '#' lines are comments, cue lines (`read_cues`) are skipped."""
    topics = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(("#", "!")) or _CUE_LINE.match(line) or _COMPANION_LINE.match(line) \
                or _PAIR_LINE.match(line):
            continue
        words, sep, description = line.partition(":")
        if not sep or not words.strip() or not description.strip():
            raise InvalidTopics(f"{path}:{number}: expected 'tag words: description', got {line!r}")
        topics.append((words.strip(), description.strip()))
    return topics


def _fingerprint(encoder) -> str:
    """A short digest of the encoder's vector of a probe text: the cached vectors are those of this very
    encoder (another build of it, or a test's stand-in, keys vectors of its own)."""
    probe = np.round(np.asarray(encoder.encode(["topics"]), dtype=np.float32), 3)
    return hashlib.sha256(probe.tobytes()).hexdigest()[:8]


def prototypes(vectors: np.ndarray, owners: list[str], words: list[str]) -> np.ndarray:
    """One unit vector a topic [T, D]: the mean of its lines' vectors [N, D] (its description and the posts
    written as its examples), normalised."""
    rows = {w: i for i, w in enumerate(words)}
    sums = np.zeros((len(words), vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, [rows[w] for w in owners], np.asarray(vectors, dtype=np.float32))
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)


def _listed(path: Path, kind: re.Pattern) -> dict[str, tuple[str, ...]]:
    """tag words -> the comma-separated items of its lines of `kind` ("tag words = a, b" or "tag words + a, b")."""
    out: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = kind.match(line) if not line.startswith("#") else None
        if found:
            words = found.group(1).strip()
            out[words] = out.get(words, ()) + tuple(t.strip() for t in found.group(2).split(",") if t.strip())
    return out


def read_cues(path: Path) -> dict[str, tuple[str, ...]]:
    """tag words -> the cue words of its "tag words = word, word" lines (lower case)."""
    return {words: tuple(t.lower() for t in terms) for words, terms in _listed(path, _CUE_LINE).items()}


def read_companions(path: Path) -> dict[str, tuple[str, ...]]:
    """tag words -> the tags of its "tag words + tag, tag" lines: what people add beside it (#Runner beside
    #Running), which a very clear topic brings along (grounding_rules.add_topic)."""
    return _listed(path, _COMPANION_LINE)


def read_pairs(path: Path) -> dict[str, tuple[str, ...]]:
    """tag words -> the pair words of its "tag words ~ word, word" lines (lower case): an insider's plain words that
    say little alone (overs, skipper; 主公, 内奸) and count as one cue word of the topic PAIR_WORDS at a time."""
    return {words: tuple(t.lower() for t in terms) for words, terms in _listed(path, _PAIR_LINE).items()}


def read_needs(path: Path) -> frozenset[str]:
    """The topics of its "! topic, topic" lines: out of the running where the post writes none of their words."""
    needs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if found := _NEEDS_LINE.match(line):
            needs.update(t.strip() for t in found.group(1).split(",") if t.strip())
    return frozenset(needs)


def description_terms(lines: list[tuple[str, str]], words: list[str],
                      cues: dict[str, tuple[str, ...]] | None = None) -> list[tuple[str, ...]]:
    """Each topic's description words (its first line, comma-separated, lower case) and cue words, in `words`'
    order."""
    first: dict[str, tuple[str, ...]] = {}
    for w, text in lines:
        first.setdefault(w, tuple(t.strip().lower() for t in text.split(",") if t.strip()))
    return [first.get(w, ()) + (cues or {}).get(w, ()) for w in words]


_NOT_ALNUM = re.compile(r"[\W_]+")


def _one_cue(a: str, b: str) -> bool:
    """Two cue words (letters and digits only) that are one: one inside the other, or the same but for an ending of
    three letters at most."""
    short, long = sorted((a, b), key=len)
    return short in long or long.startswith(short[:max(4, len(short) - 3)]) and len(long) - len(short) <= 3


class TopicTags:
    """best(contexts [B, D]) -> the topic's tag words, or None, for each row."""

    def __init__(self, words: list[str], vectors: np.ndarray, min_cosine: float = MIN_COSINE["en"],
                 terms: list[tuple[str, ...]] | None = None, cues: list[tuple[str, ...]] | None = None,
                 needs: frozenset[str] = frozenset(), pairs: list[tuple[str, ...]] | None = None):
        self.words = words
        self.vectors = vectors  # [T, D], L2-normalised rows
        self.min_cosine = min_cosine
        self.related = vectors @ vectors.T >= RELATED  # [T, T], the diagonal included (`best`)
        self.terms = terms or [()] * len(words)  # each topic's description and cue words (`writes`)
        self.cues = cues or [()] * len(words)  # each topic's cue words alone
        # topic j's terms made ready for `written`, each part one string (a tuple of them a topic weighed 8 MB), split when asked
        self._packed = [tuple(_SEP.join(part) for part in matcher(t)) for t in self.terms]
        self._terms = functools.lru_cache(maxsize=MATCHERS_KEPT)(
            lambda j: tuple(tuple(part.split(_SEP)) if part else () for part in self._packed[j]))
        self._rare = [tuple(filter(None, map(rare_cue, c))) for c in self.cues]  # each topic's `rare_cue`s, padded
        self._needs = [i for i, w in enumerate(words) if w in needs]  # out of the running unless written (`read_needs`)
        self._needed = {tag_key(words[i]): i for i in self._needs}  # such a topic's tag -> its index (`unwritten`)
        # each cue word of each topic (a topic that needs its words counts its own name among them: a post that writes
        # "多肉" or "hangover"), then the terms of each topic that needs its words, then each pair word of each topic
        # (`read_pairs`): one look-up a post for all three
        needed = set(self._needs)
        evidence = [(i, c) for i in range(len(words))
                    for c in dict.fromkeys(self.cues[i] + ((words[i].lower(),) if i in needed else ()))]
        self._evidence = [c for _, c in evidence]  # the k-th evidence word, of topic `_owner[k]` (a list and an array:
        self._owner = np.array([i for i, _ in evidence], dtype=np.int32)  # tens of thousands of pairs weigh megabytes)
        paired = [(i, w) for i, ws in enumerate(pairs or ()) for w in dict.fromkeys(ws)]
        self._pair_words = [_NOT_ALNUM.sub("", w) for _, w in paired]  # the k-th pair word's letters (`_paired`)
        self._pair_owner = np.array([i for i, _ in paired], dtype=np.int32)
        self._pair_first = len(self._evidence) + len(self._needs)  # the cue index's first pair word
        self._cue_index = TermIndex(chain((matcher((c,)) for c in self._evidence),  # one pass: no list of them held
                                          (matcher(self.terms[i] + (words[i],)) for i in self._needs),
                                          (matcher((w,)) for _, w in paired)))
        self.gate: TopicGate | None = None  # the judged gate (`picked`), where the language has one
        self.join = JOIN["en"]  # the gate's probability for another topic to join (`load` sets the language's)
        self.companions: dict[str, tuple[str, ...]] = {}  # topic -> the tags people add beside it (`read_companions`)
        self.cue_topic: int | None = None  # the language's CUE_TOPIC (`load`)
        self.cue_topic_cosine = -1.0  # and its CUE_TOPIC_COSINE

    @classmethod
    def load(cls, encoder, lang: str = "en", inputs: list[Path] | None = None, kind: str = "") -> "TopicTags | None":
        """The language's topics embedded by `encoder`; None for a language without a topics file. With
        `inputs` (the files the encoder's vectors derive from) and `kind` (its precision), the vectors are
        kept in the derived cache: a start reads them back, and the encoder's arena never grows for
        the descriptions' batch in the server (a first start's child builds them)."""
        path = topics_file(lang)
        if path is None:
            return None
        lines = read_topics(path)
        words = list(dict.fromkeys(w for w, _ in lines))  # each topic once, in the file's order

        def build() -> dict[str, np.ndarray]:
            return {"vectors": prototypes(encoder.encode([text for _, text in lines]), [w for w, _ in lines], words)}

        arrays = build() if inputs is None else cached_arrays(f"topics-{lang}-{kind}-{_fingerprint(encoder)}", VERSION,
                                                              [path, *inputs], build)
        cues, companions, needs, pairs = read_cues(path), read_companions(path), read_needs(path), read_pairs(path)
        for what, listed in (("cue words", cues), ("companion tags", companions), ("'!' lines", dict.fromkeys(needs)),
                             ("pair words", pairs)):
            if set(listed) - set(words):
                raise InvalidTopics(f"{path}: {what} for no topic: {', '.join(sorted(set(listed) - set(words)))}")
        tags = cls(words, arrays["vectors"], MIN_COSINE[lang], description_terms(lines, words, cues),
                   [cues.get(w, ()) for w in words], needs, [pairs.get(w, ()) for w in words])
        tags.gate, tags.join, tags.cue_topic = TopicGate.load(gate_file(lang), path, words), JOIN[lang], CUE_TOPIC.get(lang)
        tags.cue_topic_cosine = CUE_TOPIC_COSINE.get(lang, -1.0)
        tags.companions = companions
        return tags

    def best(self, contexts: np.ndarray, texts: list[str] | None = None) -> list[str | None]:
        """The topic of each row of contexts [B, D], or None (`chosen`)."""
        return [words for words, _ in self.chosen(contexts, texts)]

    def unwritten(self, words: str, text: str) -> bool:
        """A tag (from the vocabulary, the model) that is a topic needing its words which the text does not write: the topic
        itself would never stand there (#Glassblowing, near "glass out" of a banger's windows)."""
        j = self._needed.get(tag_key(words))
        return j is not None and not written(matcher(self.terms[j] + (self.words[j],)), text, *reading(text))

    def chosen(self, contexts: np.ndarray, texts: list[str] | None = None) -> list[tuple[str | None, bool]]:
        """(topic or None, whether it is very clear) of each row of contexts [B, D]: the topic is at least
        min_cosine, and MIN_MARGIN above every topic not related to it (a topic whose vector is RELATED or
        closer to its own: #Books beside #Reading, #Dogs beside #Pets does not make a post unclear); very
        clear at CLEAR_MARGIN above them. texts: the rows' post + thread; a topic is CUE_BONUS closer to a
        text for each of its cue words it `writes` (CUE_WORDS at most), then the closest one NAMED_BONUS closer to a text that writes
        one of its description or cue words."""
        if len(self.words) < 2:
            return [(None, False)] * len(contexts)
        return [self._choose(row) for row, *_ in self._bonused(contexts, texts)]

    def picked(self, contexts: np.ndarray, texts: list[str] | None = None) -> list[list[tuple[str, bool]]]:
        """The topics of each row of contexts [B, D] as (tag words, very clear) pairs: the one `chosen`
        topic (very clear too at RAISED), a topic whose cue the text writes as a name (`named_in`: "Baby Reindeer",
        "Stardew Valley", very clear), an occasion it names in a set phrase (runtime/named_occasions.py: "6 years today with
        this goofball", #Anniversary, very clear), the topic of a work it names where no topic read is very clear
        (runtime/named_titles.py: "started the bear", #TVShows; very clear where none was read at all; a Bluey costume at
        Halloween, read as one, is no #TVShows), and where the language has a judged gate (runtime/topic_gate.py), the others
        of the nearest whose probability is the language's JOIN or more (very clear), TOPICS_A_POST at most; a topic that
        needs its words (`read_needs`) only where the text writes one of them."""
        if len(self.words) < 2:
            return [[] for _ in range(len(contexts))]
        out, texts = [], None if texts is None else [plainly(t) for t in texts]  # "a piece of cake": very easy, no #Birthday
        for bonused in self._bonused(contexts, texts):
            topic, clear = self._choose(bonused[0])
            if self.gate is None:
                out.append([(topic, clear)] if topic else [])
                continue
            indices, rows = self._features(*bonused)
            p = dict(zip((self.words[i] for i in indices), self.gate.probabilities(rows, indices)))  # topic -> [NEAREST]
            kept = [(topic, clear or bool(p.get(topic, 0.0) >= RAISED))] if topic else []
            text, read = bonused[4], bonused[5]
            kept = [(w, True) for w in occasions(text) if w in self.words and w != topic] + kept  # "6 years today with him"
            works, unread = ([] if kept and kept[-1][1] else topics_named(text)), not kept  # "started the bear"
            kept += [(self.words[j], True) for j, hit in enumerate(bonused[3])  # a cue written as a name, a rare cue, or CUE_TOPIC cues
                     if hit and self.words[j] != topic and (self._named_cue(j, text, read[0]) or self._rare_cue(j, read[0])
                                                            or self._cue_topic(j, hit, text, read, bonused[1][j]))]
            kept += [(w, unread) for w in works if w in self.words and all(w != k for k, _ in kept)]
            kept += [(w, True) for w, q in sorted(p.items(), key=lambda item: -item[1])
                     if q >= self.join and all(w != k for k, _ in kept)]
            out.append(self._instead(kept, text, read)[:TOPICS_A_POST])  # (`read_needs`: `_bonused` left them out)
        return out

    def _instead(self, kept: list[tuple[str, bool]], text: str, read: tuple[str, str]) -> list[tuple[str, bool]]:
        """`kept` with each INSTEAD topic whose words the text does not write given way to its commoner one."""
        out: list[tuple[str, bool]] = []
        for w, c in kept:
            if w in INSTEAD and INSTEAD[w] in self.words and not (text and written(self._terms(self.words.index(w)), text, *read)):
                w = INSTEAD[w]
            if all(w != k for k, _ in out):
                out.append((w, c))
        return out

    def nearest(self, contexts: np.ndarray, texts: list[str] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each row's NEAREST topics after the bonuses: (their indices [N], their topic_gate.FEATURES [N, F])."""
        return [self._features(*bonused) for bonused in self._bonused(contexts, texts)]

    def _choose(self, row: np.ndarray) -> tuple[str | None, bool]:
        """`chosen` of one row of bonused cosines [T]."""
        first = int(np.argmax(row))
        margin = self._margin(row, first)
        clear = row[first] >= self.min_cosine and margin >= MIN_MARGIN
        return (self.words[first], bool(margin >= CLEAR_MARGIN)) if clear else (None, False)

    def _features(self, row, raw, named, cues, text, read) -> tuple[np.ndarray, np.ndarray]:
        """`nearest` of one row of `_bonused`."""
        order = np.argsort(-row, kind="stable")[:NEAREST]
        rows = [[row[j], raw[j], self._margin(row, j), float(k == 0), float(k == 1), float(cues[j] > 0),
                 float(named and k == 0), float(bool(text) and written(self._terms(j), text, *read)),
                 row[j] - row[order[0]]] for k, j in enumerate(order)]
        return order, np.asarray(rows, dtype=np.float64).reshape(-1, len(GATE_FEATURES))

    def _named_cue(self, j: int, text: str, padded: str) -> bool:
        """The text writes one of topic j's cues as a name (`named_in`)."""
        return any((not is_latin(c) or (f" {c.split()[0]}" in padded and f" {' '.join(padded_words(c).split())} " in padded))
                   and named_in(c, text, self.words[j]) for c in self.cues[j])

    def _rare_cue(self, j: int, padded: str) -> bool:
        """The text writes one of topic j's `rare_cue`s, in any case (mispunched: #Orienteering)."""
        return any(f" {c} " in padded for c in self._rare[j])

    def _cue_topic(self, j: int, count: int, text: str, read: tuple[str, str], cosine: float = 1.0) -> bool:
        """The text writes CUE_TOPIC or more of topic j's cue words, spellings or forms of one counted once (hole-in-the-wall
        and hole in the wall, walmart and walmart+, parallel park and parallel parking, run club and running club), and its
        raw cosine with the topic is CUE_TOPIC_COSINE or more."""
        if self.cue_topic is None or count < self.cue_topic or cosine < self.cue_topic_cosine:
            return False
        keys: list[str] = []
        for cue in self.cues[j]:
            if not (written(matcher((cue,)), text, *read) and counts_toward_topic(cue)):
                continue
            key = _NOT_ALNUM.sub("", loose_words(padded_words(cue)))  # "ran the club's": "run club" once, not "running club" too
            if not any(_one_cue(key, other) for other in keys):
                keys.append(key)
        return len(keys) >= self.cue_topic

    def _margin(self, row: np.ndarray, j: int) -> float:
        others = row[~self.related[j]]
        return float(row[j] - others.max()) if others.size else 1.0

    def _cue_counts(self, hit: set[int]) -> np.ndarray:
        """How many of each topic's evidence words (`_evidence`) the hits hold [T], one inside another of the same
        topic's counted once (万宁日月湾 writes 日月湾)."""
        found: dict[int, list[str]] = {}
        for k in sorted(k for k in hit if k < len(self._evidence)):
            found.setdefault(int(self._owner[k]), []).append(self._evidence[k])
        count = np.zeros(len(self.words), dtype=np.int64)
        for i, terms in found.items():
            count[i] = sum(not any(t != u and (f" {t} " in f" {u} " if is_latin(t) else t in u) for u in terms) for t in terms)
        return count

    def _paired(self, hit: set[int]) -> set[int]:
        """The topics PAIR_WORDS or more of whose pair words (`read_pairs`) a text's cue index hits hold, spellings of one
        counted once."""
        found: dict[int, list[str]] = {}
        for k in sorted(k - self._pair_first for k in hit if k >= self._pair_first):
            keys = found.setdefault(int(self._pair_owner[k]), [])
            if not any(_one_cue(self._pair_words[k], other) for other in keys):
                keys.append(self._pair_words[k])
        return {i for i, keys in found.items() if len(keys) >= PAIR_WORDS}

    def _bonused(self, contexts: np.ndarray, texts: list[str] | None):
        """Per row: its cosines with every topic, cue and named bonuses added, -1 for a topic that needs its words the text
        does not write (#Hangover drew posts about knitting and jollof, crowding their topics out of the nearest) [T],
        the same without them [T], whether the named bonus was given, how many of each topic's cue words it writes [T],
        its text and its (`padded_words`, `loose_words`)."""
        sims = np.asarray(contexts, dtype=np.float32) @ self.vectors.T  # [B, T]
        for b, raw in enumerate(sims):
            text = texts[b] if texts is not None else ""
            read = reading(text)
            row = raw.copy()
            hit = self._cue_index.hits(text, *read) if text else set()
            paired = self._paired(hit)
            count = self._cue_counts(hit)
            count[list(paired)] += 1
            cues = count.tolist()  # how many of each topic's cue words it writes (nested ones once, pair words a pair)
            row += CUE_BONUS * np.minimum(count, CUE_WORDS).astype(np.float32)
            row[[i for k, i in enumerate(self._needs, len(self._evidence)) if k not in hit and i not in paired]] = -1.0
            first = int(np.argmax(row))
            named = bool(text) and written(self._terms(first), text, *read)
            if named:
                row[first] += NAMED_BONUS
            yield row, raw, named, cues, text, read
