"""Sensitive kinds of vocabulary tags, found from data (read by `export/safety_lexicon.py` into the
lexicon's `kinds`; applied by `inference/runtime/safety.py`: a tag of a kind stands only under a post
that says the tag's own words).

Seven general rules, none a list of tags:
- stance: most of the tag's training posts (runs/corpus/en_train.jsonl; at least 2) come from a
  political source (`export/safety_kind_seeds.POLITICAL_ORIGINS`: TweetEval's stance, hate and offensive
  tasks, collected on political keywords): #TCOT, #Brexit, #LoveWins;
- crisis: most of its training posts come from the crisis data sets (CrisisLex, MediaEval, RumourEval),
  it names no place or person (every word in the English dictionary) and, in the sentence encoder's
  space, it lies within CRISIS_CLOSENESS of a harm term of the curated lexicon (crime, death, terror,
  disaster): #Meteor (the 2013 Russian meteor; 0.92 from "meteorite") is a disaster tag there, not an
  astronomy one; #NYC, #Sardegna, #Boston (0.45) are the places the crises happened in;
- event: EVENT_SHARE of its training posts (EVENT_POSTS or more) come from one CrisisLex event: the crisis owns
  it, a place or name of that crisis (#LAX, 88% of whose posts are the 2013 airport shooting's, #Cleopatra,
  the Sardinian cyclone), which stands only under a post that says it, not under another shooting or storm;
- harm: the tag's head word is an English noun whose first two WordNet senses include one under a harm
  synset (`seeds.WORDNET_HARM`: wrongdoing, mistreatment, immorality, disease, infection, misfortune,
  death, violence, an unfortunate person...): #Harassment, #Corruption, #AIDS, #Survivors;
- clause (Chinese): the tag is a clause that speaks to someone, the one addressed its subject (a
  second-person pronoun, 老子, 你妹, with words after it): the 2014 Weibo mocking and fan memes
  #是你工资低, #老子明天不上班, #张戴维你不装逼会死的 (a title ending on 你, #来自星星的你, is not one).
- judgement: every word of the tag is a strongly negative word of vaderSentiment's lexicon (mean valence
  at most JUDGEMENT_VALENCE; the `vadersentiment` wheel's own copy) that WordNet knows only as an
  adjective: #Horrific, #Pathetic, #Disgusting, #Sad judge the post for its writer, so they stand only
  under a post that says them; topic words of the same valence (#Cancer, #Grief, #Hate: nouns and verbs)
  are left to the other rules;
- mood: every word of the tag is a negative word of vaderSentiment's lexicon (mean valence at most
  MOOD_VALENCE), whatever WordNet calls it, and no rule above marks it: #Sadness, #Depressing, #Ugh, #Pain,
  #Fail, #Tired under posts that never say so (a football result, a film, a run) are a guess at the
  writer's mood: judges found 10 of 851 such candidates usable where the post did not say its words, 2 of 66
  where it did (`python -m export.safety_lexicon kind --kind mood`, export/judged's label files; 9 of 634 and
  0 of 51 at MOOD_VALENCE -1.5, which left #Nervous, #Anxious, #Bored and #Worried out). A support
  kind (`inference/runtime/safety.py` SUPPORT_KINDS): asked under the service's floor only.
A tag the curated lexicon already covers (a term, event or never tag) keeps the lexicon's rule.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from export import safety_seeds as seeds
from export.wordnet_tags import parse_data_noun
from inference.runtime.safety_terms import stem, tokens
from export.unseen_events import event_of
from inference.text.names import proper_names

MIN_POSTS = 2  # a tag's source share is read from this many training posts or more
EVENT_POSTS, EVENT_SHARE = 5, 0.8  # "event": this share of this many training posts or more from one CrisisLex event
SHARE = 0.5  # the share of its posts a source kind needs (more than half... or exactly half of 2+)
HEAD_MIN = 4  # a shorter head word is mostly an abbreviation (#ED, #MS, #TB), not the noun
CRISIS_CLOSENESS = 0.65  # cosine of USE vectors (untuned) between a crisis tag and its nearest harm term
SENSES = 2  # WordNet senses of a head word looked at, most frequent first
JUDGEMENT_VALENCE = -2.0  # vaderSentiment's mean valence (-4..4) of a strongly negative word
MOOD_VALENCE = -1.0  # ... of a negative one (sadness -1.9, tired -1.9, boring -1.3, nervous -1.1, anxious -1.0; awkward -0.6)


def origin(record: dict) -> str:
    """The data a post comes from: `tweeteval-stance`, `instagram-aamaadmiparty`, `crisislex`…"""
    rid = str(record.get("id", ""))
    if rid.startswith(("tweeteval-", "instagram-")):
        return "-".join(rid.split("-")[:2])
    return str(record.get("source", ""))


def tag_sources(train: Path) -> tuple[Counter, Counter, Counter, dict[str, Counter]]:
    """Per tag of the training posts: its posts, those from political sources, those from crisis
    sources, and its posts per CrisisLex event."""
    posts, political, crisis = Counter(), Counter(), Counter()
    events: dict[str, Counter] = {}
    with train.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            where, event = origin(record), event_of(record)
            for tag in set(record.get("hashtags", ())):
                posts[tag] += 1
                political[tag] += where in seeds.POLITICAL_ORIGINS
                crisis[tag] += where in seeds.CRISIS_ORIGINS
                if event is not None:
                    events.setdefault(tag, Counter())[event] += 1
    return posts, political, crisis, events


def source_kinds(train: Path) -> dict[str, str]:
    """tag words -> "stance" or "crisis" from the shares of its training posts' sources."""
    posts, political, crisis, _ = tag_sources(train)
    kinds = {}
    for tag, n in posts.items():
        if n < MIN_POSTS:
            continue
        if political[tag] >= SHARE * n:
            kinds[tag] = "stance"
        elif crisis[tag] >= SHARE * n and not proper_names(tag, "en"):
            kinds[tag] = "crisis"
    return kinds


def event_owned(train: Path) -> set[str]:
    """The tags EVENT_SHARE of whose training posts (EVENT_POSTS or more) come from one CrisisLex event."""
    posts, _, _, events = tag_sources(train)
    return {t for t, c in events.items() if posts[t] >= EVENT_POSTS and c.most_common(1)[0][1] >= EVENT_SHARE * posts[t]}


class WordNetHarm:
    """Whether an English word is, in one of its commonest noun senses, a harm (see the docstring)."""

    def __init__(self, wordnet: Path):
        if not (wordnet / "data.noun").exists():
            raise FileNotFoundError(f"{wordnet}/data.noun: install Debian wordnet-base (WordNet 3.0)")
        self.synsets = parse_data_noun(wordnet / "data.noun")
        self.index = _senses(wordnet)
        self.roots = {off for off, s in self.synsets.items() if (s.words(), s.lex_filenum) in seeds.WORDNET_HARM}
        self._cache: dict[str, str | None] = {}

    def kind(self, word: str) -> str | None:
        """The harm root a word's commonest senses reach ("wrongdoing", "disease"…), or None."""
        if word not in self._cache:
            self._cache[word] = self._kind(word)
        return self._cache[word]

    def _kind(self, word: str) -> str | None:
        offsets = self.index.get(word) or self.index.get(stem(word)) or []
        for offset in offsets:
            seen, stack = set(), [offset]
            while stack:
                off = stack.pop()
                if off in seen or off not in self.synsets:
                    continue
                seen.add(off)
                if off in self.roots:
                    return self.synsets[off].words()
                stack += self.synsets[off].hypernyms
        return None


def _senses(wordnet: Path) -> dict[str, list[str]]:
    """noun lemma -> the offsets of its common senses: the first (WordNet orders them by frequency),
    and any other tagged at least half as often in SemCor (cntlist.rev); with no counts, the first two."""
    counts: dict[tuple[str, int], int] = {}
    with open(wordnet / "cntlist.rev", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            key, number, count = line.split()
            if "%1:" in key:
                counts[(key.split("%")[0], int(number))] = int(count)
    index = {}
    with open(wordnet / "index.noun", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("  "):
                continue
            parts = line.split()
            offsets = parts[4 + int(parts[3]) + 2:]
            tally = [counts.get((parts[0], i + 1), 0) for i in range(len(offsets))]
            if not any(tally):
                index[parts[0]] = offsets[:SENSES]
            else:
                index[parts[0]] = [o for i, o in enumerate(offsets) if i == 0 or 2 * tally[i] >= tally[0] > 0]
    return index


def harm_kinds(tags: set[str], wordnet: Path) -> dict[str, str]:
    """English tag words -> "harm:ROOT" where the tag's head (its last word, or all of it as one
    WordNet lemma) is a harm noun."""
    net = WordNetHarm(wordnet)
    kinds = {}
    for tag in tags:
        words = tokens(tag)
        if not words or not all(w.isascii() and w.isalpha() for w in words) or len(words[-1]) < HEAD_MIN:
            continue
        root = net.kind("_".join(words)) if len(words) > 1 else None
        root = root or net.kind(words[-1])
        if root:
            kinds[tag] = f"harm:{root}"
    return kinds


def vader_valence() -> dict[str, float]:
    """vaderSentiment's lexicon (word -> mean valence) from the installed wheel."""
    from importlib import resources

    try:
        text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    except ModuleNotFoundError as exc:
        raise FileNotFoundError("pip install vadersentiment==3.3.2 (the judgement kind's lexicon)") from exc
    valence = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isalpha():
            valence[parts[0]] = float(parts[1])
    return valence


def _lemmas(path: Path) -> set[str]:
    """The lemmas of a WordNet index file (index.adj, index.noun, index.verb)."""
    with open(path, encoding="utf-8", errors="replace") as lines:
        return {line.split(" ", 1)[0] for line in lines if not line.startswith("  ")}


def judgement_kinds(tags: set[str], wordnet: Path) -> dict[str, str]:
    """English tag words -> "judgement" where every word is a strongly negative adjective and nothing else."""
    valence = vader_valence()
    adjectives = _lemmas(wordnet / "index.adj")
    other = _lemmas(wordnet / "index.noun") | _lemmas(wordnet / "index.verb")
    judging = {w for w, v in valence.items() if v <= JUDGEMENT_VALENCE and w in adjectives and w not in other}
    return {t: "judgement" for t in tags if tokens(t) and all(w in judging for w in tokens(t))}


def mood_kinds(tags: set[str]) -> dict[str, str]:
    """English tag words -> "mood" where every word is a negative word (MOOD_VALENCE) of any kind."""
    negative = {w for w, v in vader_valence().items() if v <= MOOD_VALENCE}
    return {t: "mood" for t in tags if tokens(t) and all(w in negative for w in tokens(t))}


def clause_kinds(tags: set[str]) -> dict[str, str]:
    """Chinese tags that are clauses speaking to someone: a seeds.ZH_ADDRESS word (by jieba) with words
    after it, the one addressed as the subject (是你工资低, 你歇会儿吧); a title that ends on it
    (来自星星的你, 同桌的你, 我不知会遇见你) is a name, not a clause."""
    from inference.text.phrases import jieba_tables

    jieba = jieba_tables()[0]
    kinds = {}
    for tag in tags:
        words = [w for w in jieba.lcut("".join(tag.split())) if w.strip()]
        if any(w in seeds.ZH_ADDRESS for w in words[:-1]):
            kinds[tag] = "clause"
    return kinds


def close_to(tags: list[str], terms: list[str], threshold: float = CRISIS_CLOSENESS) -> set[str]:
    """The tags whose sentence-encoder vector lies within `threshold` (cosine) of one of the terms'."""
    if not tags or not terms:
        return set()
    from inference.runtime.sentence_encoder import REFERENCE, SentenceEncoder

    encoder = SentenceEncoder.load(kind=REFERENCE)
    best = (encoder.encode(tags) @ encoder.encode(terms).T).max(axis=1)
    return {t for t, b in zip(tags, best) if b >= threshold}


def build_kinds(vocab: dict[str, set[str]], corpus: Path, wordnet: Path, covered,
                harm_terms: list[str]) -> dict[str, dict[str, str]]:
    """{lang: {tag words: kind}} over each language's vocabulary; `covered(tag)`: the curated
    lexicon already has a rule for it (those tags are left out); `harm_terms`: the curated lexicon's
    English terms of harm a crisis tag must lie close to."""
    train = corpus / "en_train.jsonl"
    if not train.exists():
        raise FileNotFoundError(f"{train}: build the corpora first (python -m export.ingest)")
    by_source = source_kinds(train)
    crisis = sorted(t for t, k in by_source.items() if k == "crisis" and t in vocab.get("en", set()))
    near = close_to(crisis, harm_terms)
    by_source = {t: k for t, k in by_source.items() if k != "crisis" or t in near}
    # a tag one crisis owns and no other rule marks: its place or name (#LAX, #Cleopatra)
    by_source.update({t: "event" for t in event_owned(train) if t not in by_source})
    en = mood_kinds(vocab.get("en", set()))
    en.update(judgement_kinds(vocab.get("en", set()), wordnet))
    en.update(harm_kinds(vocab.get("en", set()), wordnet))
    en.update({t: k for t, k in by_source.items() if t in vocab.get("en", set())})
    en.update({t: "stance" for t in seeds.STANCE_TAGS if t in vocab.get("en", set())})
    en.update({t: "taunt" for t in seeds.TAUNT_TAGS if t in vocab.get("en", set())})
    zh = clause_kinds(vocab.get("zh", set()))
    return {lang: dict(sorted((t, k) for t, k in kinds.items() if not covered(t)))
            for lang, kinds in (("en", en), ("zh", zh))}
