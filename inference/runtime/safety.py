"""Safety filter for suggested hashtags, shared by text and image suggestions.

A tag about a disaster, crime, death, terror attack or sexual content is kept only when the post
(plus its thread, OCR text or caption) is about that topic: one of the tag's trigger words appears
in the context, or the caller passes an encoder closeness at or above the lexicon's threshold.
Political slogans, insults, slurs and escalating tags ("massacre", "rot in hell") are never kept.
A vocabulary tag of a sensitive kind found from data (the lexicon's `kinds`, export/safety_kinds.py: a
stance or crisis source's tag, a harm noun by WordNet, a Chinese clause speaking to someone) is kept only
when the post says the tag's own words: #Harassment, #AIDS, #TCOT, #是你工资低 never stand on a post
about something else.
Terms of every language in the lexicon apply to every post (posts and tags mix languages); ``lang``
only names the post's language in the verdict. The lexicon is built by ``export/safety_lexicon.py``
into ``inference/models/safety.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

from inference.runtime.safety_schema import FORMAT_VERSION, POLICIES, InvalidSafetyLexicon, validate
from inference.runtime.named_occasions import CELEBRATIONS, occasions
from inference.runtime.safety_terms import (COMPACT_MIN, PIECE_MIN, Context, Group, Kinds, compact, has_cjk, make_group,
                                            stem, tokens)
from inference.runtime.safety_tone import Tone

__all__ = ["FORMAT_VERSION", "POLICIES", "Context", "Group", "InvalidSafetyLexicon", "SafetyFilter", "SafetyLexicon",
           "Verdict", "has_cjk", "stem", "tokens", "validate"]
T = TypeVar("T")
# kinds of the lexicon a tag's own words must back only where the grounding stage's support rules apply
# (under the service's floor), not everywhere the filter runs: a crisis's own place or name (#LAX) is fine on
# that crisis's posts that do not say it, wrong under every other post; a mood (#Sadness, #Depressing) is a
# guess at the writer under a post that does not say it, yet a data set's gold on emotion tweets
SUPPORT_KINDS = frozenset({"event", "mood"})
# kinds that name the writer's feelings or a verdict on something (#Hate, #Sucks, #Pain): under a post about an illness
# or a death they read the writer's grief for them, even where the post writes the word ("she'd have hated any fuss")
FEELING_KINDS = frozenset({"mood", "judgement"})


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    category: str | None
    reason: str


@dataclass(frozen=True)
class TagMatch:
    never: str | None
    groups: tuple[Group, ...]
    extras: tuple[str, ...]
    event: bool
    term: str


class SafetyLexicon:
    """Categories -> groups of terms and triggers per language, plus never and event tag lists."""

    def __init__(self, data: dict):
        validate(data)
        self.data = data
        self.threshold = float(data["closeness_threshold"])
        self.stopwords = frozenset(w for ws in data["stopwords"].values() for w in ws)
        self.safe = frozenset(compact(t) for ts in data["safe"].values() for t in ts)
        self.safe_pieces = tuple(sorted(self.safe, key=len, reverse=True))
        # whether a text holds any safe piece at all (most do not: then no piece is replaced)
        self.safe_re = re.compile("|".join(map(re.escape, self.safe_pieces))) if self.safe_pieces else None
        self.cjk_safe = tuple(t for t in self.safe_pieces if has_cjk(t))
        self.groups: dict[str, Group] = {}
        self.named: dict[str, Group] = {}  # an event group's name -> a group of the event's own names (no triggers)
        self.word_terms: dict[tuple[str, ...], list[Group]] = {}
        self.compact_terms: dict[str, list[Group]] = {}
        self.exact: dict[str, tuple[str | None, Group | None]] = {}
        for name, cat in data["categories"].items():
            for g in cat["groups"]:
                self._add(g, name, cat["policy"], event=False)
        for ev in data["events"]:
            policy = data["categories"][ev["category"]]["policy"]
            group = self._add(ev, ev["category"], policy, event=True)
            for tag in (t for ts in ev["tags"].values() for t in ts):
                self.exact.setdefault(compact(tag), (None, group))
        for tags in data["never"].values():
            for tag, category in tags.items():
                self.exact[compact(tag)] = (category, None)
        self.max_n = max((len(k) for k in self.word_terms), default=1)
        # slogans of three words or more also match with words put in (#BuildThatDamnWallNow)
        self.gapped = tuple((k, next(g for g in gs if g.policy == "never")) for k, gs in self.word_terms.items()
                            if len(k) >= 3 and any(g.policy == "never" for g in gs))
        self.corroborate = frozenset(data.get("corroborate", ()))
        self.support = tuple(sorted({compact(t) for ts in data.get("support", {}).values() for t in ts}, key=len, reverse=True))
        self.tone = Tone(data.get("tone", {}), data.get("grief_reader"))
        self.kinds = Kinds({compact(t): k for ts in data.get("kinds", {}).values() for t, k in ts.items()})
        # a safe name that holds a sensitive word (#SuicideSquad, #BathBomb, #KillerWhale): no harm where the post says it
        self.safe_named = frozenset(compact(t) for ts in data["safe"].values() for t in ts
                                    if any((stem(w),) in self.word_terms for w in tokens(t)))
        longest = sorted(self.compact_terms, key=len, reverse=True)
        self.compact_re = re.compile("|".join(map(re.escape, longest))) if longest else None

    @classmethod
    def load(cls, path: str | Path) -> "SafetyLexicon":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidSafetyLexicon(f"{path}: {exc}") from exc
        try:
            return cls(data)
        except InvalidSafetyLexicon as exc:
            raise InvalidSafetyLexicon(f"{path}: {exc}") from exc

    def _add(self, entry: dict, category: str, policy: str, event: bool) -> Group:
        terms = [t for ts in entry["terms"].values() for t in ts]
        own = [t for ts in entry.get("triggers", {}).values() for t in ts]
        name = ("event:" if event else "") + entry["name"]
        support = make_group(name + ":triggers", category, policy, event, own) if event else None
        group = make_group(name, category, policy, event, terms + own, support)
        self.groups[group.name] = group
        if event:
            self.named[group.name] = make_group(name + ":named", category, policy, event, terms)
        compact_ok = entry.get("compact", True)
        for term in terms:
            key = compact(term)
            if has_cjk(term) or (compact_ok and len(key) >= COMPACT_MIN):
                self.compact_terms.setdefault(key, []).append(group)
            if not has_cjk(term) and tokens(term):
                self.word_terms.setdefault(tuple(stem(w) for w in tokens(term)), []).append(group)
            if not compact_ok:  # a written-together profanity matches only as the whole tag
                self.exact.setdefault(key, (category if policy == "never" else None, group))
        return group

    def match(self, tag_words: str) -> TagMatch:
        """Which never category, sensitive groups and leftover (event-naming) words a tag has."""
        return _match(self, tag_words)


@lru_cache(maxsize=65536)
def _match(lexicon: SafetyLexicon, tag_words: str) -> TagMatch:
    words = tokens(tag_words)
    compact = "".join(words)
    if not compact or compact in lexicon.safe:
        return TagMatch(None, (), (), False, "")
    never, group = lexicon.exact.get(compact, (None, None))
    if never:
        return TagMatch(never, (), (), False, compact)
    if group is not None and group.policy == "never":
        return TagMatch(group.category, (), (), False, compact)
    found: dict[str, Group] = {group.name: group} if group else {}
    stems = [stem(w) for w in words]
    covered = [False] * len(words)
    terms: list[str] = [compact] if group else []
    for n in range(min(lexicon.max_n, len(stems)), 0, -1):
        for i in range(len(stems) - n + 1):
            for g in lexicon.word_terms.get(tuple(stems[i : i + n]), ()):
                found.setdefault(g.name, g)
                covered[i : i + n] = [True] * n
                terms.append(" ".join(words[i : i + n]))
    left = [w for w, c in zip(words, covered) if not c]
    extras, pieces = _compact_hits(lexicon, left, found, terms)
    never = next((g.category for g in found.values() if g.policy == "never"), None) or _gapped(lexicon, stems, terms)
    extras = [e for e in extras + pieces if e not in lexicon.stopwords and not e.isdigit()
              and (len(e) >= PIECE_MIN or has_cjk(e))]
    event = any(g.event for g in found.values())
    term = ", ".join(dict.fromkeys(terms))
    return TagMatch(never, tuple(found.values()), tuple(extras), event, term)


def _gapped(lexicon: SafetyLexicon, stems: list[str], terms: list[str]) -> str | None:
    """The category of a never slogan whose words a tag holds in order with at most two words put in."""
    for key, group in lexicon.gapped if len(stems) > 3 else ():
        for start in (i for i, s in enumerate(stems) if s == key[0]):
            at, gaps = start, 0
            for word in key[1:]:
                nxt = next((j for j in range(at + 1, len(stems)) if stems[j] == word), None)
                if nxt is None:
                    break
                gaps, at = gaps + nxt - at - 1, nxt
            else:
                if gaps <= 2:
                    terms.append(" ".join(key))
                    return group.category
    return None


def _compact_hits(lexicon: SafetyLexicon, words: list[str], found: dict[str, Group],
                  terms: list[str]) -> tuple[list[str], list[str]]:
    """Terms inside written-together words (Chinese across words too): (words left, pieces)."""
    spans, text = [], ""
    for word in words:
        if text and not (has_cjk(word) and has_cjk(text[-1])):
            text += " "
        spans.append((len(text), len(text) + len(word), word))
        text += word
    if lexicon.safe_re is not None and lexicon.safe_re.search(text):
        for safe in lexicon.safe_pieces:  # longest first; the regex only tells whether any is there
            text = text.replace(safe, "\0" * len(safe))
    hit = bytearray(len(text))
    starts, ends = {a for a, _, _ in spans}, {b for _, b, _ in spans}
    for m in lexicon.compact_re.finditer(text) if lexicon.compact_re else ():
        inside = any(a <= m.start() and m.end() <= b for a, b, _ in spans)
        if not inside and m.start() not in starts and m.end() not in ends:
            continue  # across words, aligned with neither: 白色 情人节 holds no 色情
        hit[m.start() : m.end()] = b"\1" * (m.end() - m.start())
        terms.append(m.group())
        for g in lexicon.compact_terms[m.group()]:
            found.setdefault(g.name, g)
    whole, pieces = [], []
    for start, end, word in spans:
        if not any(hit[start:end]):
            whole.append(stem(word))
            continue
        rest = "".join(" " if hit[i] else text[i] for i in range(start, end))
        pieces += rest.replace("\0", " ").split()
    return whole, pieces


class SafetyFilter:
    """Keeps a suggested tag only when it is harmless for this post (see the module docstring)."""

    def __init__(self, lexicon: SafetyLexicon):
        self.lexicon = lexicon
        self._context = lru_cache(maxsize=256)(lambda text: Context(text, lexicon.cjk_safe))
        self._general: dict[str, list[Group]] = {}  # category -> its groups that name no event
        for group in lexicon.groups.values():
            if not group.event and not group.name.endswith(":triggers"):
                self._general.setdefault(group.category, []).append(group)

    @classmethod
    def load(cls, path: str | Path) -> "SafetyFilter":
        return cls(SafetyLexicon.load(path))

    def context(self, context: str) -> Context:
        return self._context(context)

    def context_for(self, text: str, vector=None, lang: str = "en") -> Context:
        """The text's context, read as a grief post also when the lexicon's grief reader finds one in
        the sentence encoder's vector of the post, in a language it reads (runtime/safety_tone.py), unless the post names
        a celebration in a set phrase ("6 years today with this goofball" read as grief: runtime/named_occasions.py)."""
        ctx = self._context(text)
        reader, grief = self.lexicon.tone.reader, self.lexicon.tone.grief
        if (vector is not None and reader is not None and not ctx.is_about(grief) and not CELEBRATIONS.intersection(occasions(text))
                and reader.reads(vector, lang)):
            ctx = ctx.about_also(grief)
        return ctx

    def check(self, tag_words: str, context: str | Context, lang: str,
              closeness: float | None = None, threshold: float | None = None, kinds: bool = True) -> Verdict:
        """closeness: how close the post is to the tag (an encoder's relevance); `threshold`: what it
        must reach (default: the lexicon's, for raw cosines; a caller with its own relevance scale
        passes the threshold calibrated on that scale). Close enough is not enough alone: the post
        must also be about that kind of thing (a term or trigger of the tag's category), so #Sandy may follow "shark swimming down a flooded street" but never "sandy toes at the beach"."""
        ctx = context if isinstance(context, Context) else self._context(context)
        threshold = self.lexicon.threshold if threshold is None else threshold
        if why := self.lexicon.tone.objection(tag_words, ctx):
            return Verdict(False, "grief", why)
        if self._solidarity(tag_words) and not self.about_harm(ctx):
            return Verdict(False, "disaster", "a place's solidarity tag (昆明加油) on a post about no disaster or crime")
        m = self.lexicon.match(tag_words)
        if m.never:
            return Verdict(False, m.never, f"{m.never} tag ({m.term}): never suggested")
        if not m.groups:
            # a kind is about a tag standing under a text it is foreign to: a photo's own tag with no text
            # (#Helicopter, #Ruins on Corel photos) has none; `kinds=False`: a photo tagger's tags
            kind = self.lexicon.kinds.get(compact(tag_words)) if kinds and (ctx.stems or ctx.cjk) else None
            kind = None if kind in SUPPORT_KINDS else kind  # the grounding stage's support rules apply those
            if kind and not self.says(tag_words, ctx, phrase=kind == "stance"):
                return Verdict(False, kind, f"{kind} tag on a post that does not say its words")
            return Verdict(True, None, "no sensitive term" if not kind else f"{kind} tag the post says")
        category = m.groups[0].category
        # closeness stands in for the words of a kind of thing (#earthquake), never for a named event's
        # or place's words (#NepalEarthquake, #NSWFires): those the post must say itself
        if (closeness is not None and closeness >= threshold and not m.event and not m.extras
                and self._about_category(ctx, category)):
            return Verdict(True, category, f"closeness {closeness:.2f} >= {threshold} on a post about {category}")
        # a post about the event (its own trigger words, not only its name) covers the
        # event tag's generic words too: "马航 飞机 失联" on a post about 马航 that never says 失联
        supported = any(g.support and ctx.is_about(g.support) for g in m.groups)
        for g in m.groups:
            if not ctx.is_about(g) and (g.event or not supported):
                return Verdict(False, g.category,
                               f"{g.category} tag ({m.term}) on a {lang} post not about {g.name}")
        if m.extras and not m.event and not any(_present(ctx, e) for e in m.extras):
            return Verdict(False, category,
                           f"{category} tag names what the post does not: {' '.join(m.extras)}")
        if category in self.lexicon.corroborate and not m.event and not self._corroborated(tag_words, ctx, category):
            return Verdict(False, category, f"{category} tag ({m.term}) on a post saying only the tag's own word "
                                            "(a figure of speech: 'this price is a crime')")
        return Verdict(True, category, f"post is about {', '.join(g.name for g in m.groups)}")

    def sombre(self, text: str, vector=None, lang: str = "en") -> bool:
        """The post tells of an illness in its words, or of a death both in its words and to the grief reader
        (runtime/safety_tone.py): each alone also reads grief into "we lost a friendship" (Catan) or a moon that
        follows the car; of the English posts of export/judged/en_fresh*/ and docs/panel/en.jsonl, the 4 that both
        read as grief all tell of a death."""
        return self._context(text).is_about(self.lexicon.tone.worry) or self.mourning(text, vector, lang)

    def mourning(self, text: str, vector=None, lang: str = "en") -> bool:
        """The post tells of a death both in its words and to the grief reader, or in words that mean nothing else
        ("passed away": `Tone.names_a_death`; `sombre`'s second half), and names no
        celebration in a set phrase (a Tamagotchi that died on an anniversary): no word of the post that only names a
        quality stands as a tag under it, the "insufferable" of a late father (text/english_words.names_a_quality), and
        it takes #RIP (runtime/safety_tone.py `add_condolence`; `grounding.Grounder.eligible`)."""
        ctx, tone = self._context(text), self.lexicon.tone
        read = tone.names_a_death(text) or (vector is not None and tone.reader is not None and tone.reader.reads(vector, lang))
        return ctx.is_about(tone.grief) and read and not CELEBRATIONS.intersection(occasions(text))

    def sensitive(self, tag_words: str) -> bool:
        """The tag is of a category of the lexicon (disaster, crime...), a never tag or of a kind (#Flooding,
        #Crying): whatever the post, not one for a rule to add on its own."""
        m = self.lexicon.match(tag_words)
        return bool(m.never or m.groups or compact(tag_words) in self.lexicon.kinds)

    def unnamed_holiday(self, tag_words: str, context: str | Context) -> str | None:
        """The day of the calendar the tag names and the post does not (runtime/safety_tone.py), or None: the
        grounding stage's support rules keep it off the service's list."""
        ctx = context if isinstance(context, Context) else self._context(context)
        return self.lexicon.tone.unnamed_holiday(tag_words, ctx)

    def unnamed_event(self, tag_words: str, context: str | Context) -> bool:
        """The tag is one crisis's of the training data (an event of the lexicon: #Sandy, #PrayForBoston) and the post
        names that crisis nowhere, its triggers only: #Sandy under the floods of Valencia. The grounding stage's support
        rules keep it off the service's list; a benchmark's crisis tweets ("flooded streets in Hoboken") keep it."""
        ctx = context if isinstance(context, Context) else self._context(context)
        named = [self.lexicon.named[g.name] for g in self.lexicon.match(tag_words).groups if g.event]
        return bool(named) and not any(ctx.is_about(n) for n in named)

    def needs_its_words(self, tag_words: str) -> bool:
        """The tag is of a kind the grounding stage's support rules ask the post's words for under the floor
        (`grounding.Grounder`): one crisis of the training data owns it (kind "event": #LAX, #Cleopatra, a name
        of it), it is a mood (#Sadness), or a safe name holding a sensitive word (#SuicideSquad under a novel)."""
        key = compact(tag_words)
        return self.lexicon.kinds.get(key) in SUPPORT_KINDS or key in self.lexicon.safe_named

    def feeling(self, tag_words: str) -> bool:
        """The tag names a feeling or a verdict (FEELING_KINDS), or holds a word of a mood (#DadCry, #LossHun): none stands
        under a sombre post (`grounding.Grounder.eligible`; #BrokenBone, holding a verdict's word, does)."""
        kinds = self.lexicon.kinds
        return kinds.get(compact(tag_words)) in FEELING_KINDS or any(kinds.get(w) == "mood" for w in tokens(tag_words))

    def says(self, tag_words: str, context: str | Context, phrase: bool = False) -> bool:
        """The post says the tag's own words: a Chinese tag whole, an English tag's every word but its
        stopwords (a plural or -ing form will do), or the tag written together; with `phrase`, a tag of
        several words only as a phrase (a stance's #LoveIsLove is not said by "15 years of love")."""
        ctx = context if isinstance(context, Context) else self._context(context)
        words = tokens(tag_words)
        joined = "".join(words)
        if has_cjk(joined):
            return joined in ctx.cjk
        if phrase and len(words) > 1:
            return f" {' '.join(stem(w) for w in words)} " in ctx.sequence or ctx.has_word(joined)
        content = [w for w in words if w not in self.lexicon.stopwords and not w.isdigit()] or words
        return all(ctx.has_word(w) for w in content) or ctx.has_word(joined)

    def about_harm(self, context: str | Context) -> bool:
        """The post is about a disaster, crime, death or attack (a general group's terms or triggers)."""
        ctx = context if isinstance(context, Context) else self._context(context)
        return any(self._about_category(ctx, c) for c in ("disaster", "crime", "death", "terror"))

    def _corroborated(self, tag_words: str, ctx: Context, category: str) -> bool:
        """The post says a word of the tag's category other than the tag's own: "police" beside "crime"."""
        own, joined = {stem(w) for w in tokens(tag_words)}, compact(tag_words)
        for g in self._general.get(category, ()):
            if (any(all(w in ctx.stems for w in t) and not own.issuperset(t) for t in g.word_triggers)
                    or any(c in ctx.words and c not in joined for c in g.compact_triggers)
                    or any(all(c in ctx.cjk for c in t) and not all(c in joined for c in t) for t in g.cjk_triggers)):
                return True
        return False

    def _solidarity(self, tag_words: str) -> bool:
        """A place's name and a word of support (昆明加油, 四川挺住): a tag for a place after a disaster."""
        joined = compact(tag_words)
        suffix = next((s for s in self.lexicon.support if joined.endswith(s) and len(joined) > len(s)), None)
        if suffix is None:
            return False
        from inference.text.names import place_names

        rest = joined[: -len(suffix)]
        return "".join(place_names(rest)) == rest

    def _about_category(self, ctx: Context, category: str) -> bool:
        """The post names something of this category (any of its general groups' terms or triggers)."""
        return any(ctx.is_about(g) for g in self._general.get(category, ()))

    def filter(self, items: list[T], key: Callable[[T], str], context: str, lang: str,
               closeness: Callable[[T], float | None] | None = None) -> list[T]:
        """The items whose tag (``key(item)``) passes ``check``, in their order."""
        ctx = self._context(context)
        return [item for item in items
                if self.check(key(item), ctx, lang, closeness(item) if closeness else None).allowed]


def _present(ctx: Context, extra: str) -> bool:
    return extra in ctx.cjk if has_cjk(extra) else ctx.has_word(extra)
