"""Grounding: is this tag about this post? Candidates from the post itself, relevance, safety, a floor.

The model's ranked list (reranker or fusion) knows what was popular in an old corpus; grounding asks
whether each tag is about *this* post, in the space of a pretrained sentence encoder
(inference/runtime/sentence_encoder.py):

    post + thread --encode--> p [512]
    candidates: the model's list (score m), phrases taken from the post (score q, source "phrase"),
                the tag vocabulary's nearest tags to p (source "vocab"),
                tags voted by the training posts nearest to p (score d, source "dense": dense_index.npz,
                inference/runtime/dense_retrieval.py; only in folders that hold it)
    relevance r = (cos(p, tag) - mean) / std / RELEVANCE_SCALE, the mean and std of p's cosines over the
        whole vocabulary: a short or vague text (emoji, "good morning") is near everything in this
        space and a long specific one near little, so raw cosines are not comparable across posts
        (tag vectors: tag_index.npz, embedded at export, or encoded now for tags not in it; a folder's
        encoder_head.json, the encoder tuned for hashtags, maps them at load: runtime/encoder_head.py); a phrase
        of the post that its thread drew under the floor is judged against the post alone too (`raise_drawn_phrases`)
    score = model_weight * m + relevance_weight * r + phrase_weight * q + dense_weight * d
    safety filter (inference/runtime/safety.py) -> existing and blocked tags out -> sort; a folder
        with tag_ranker.json reorders the RANKED_BY_JUDGES best by how likely a person would add each tag
        (inference/runtime/tag_ranker.py)
    floor (the service's default): only tags with r >= floor; fewer than k, or none, rather than filler

Tags proposed by no source but the popularity prior never appear. The folder's grounding.json holds the weights and the
floor (chosen on dev data by export/grounding.py)."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from inference.runtime.dense_retrieval import DENSE_INDEX, DenseIndex
from inference.runtime.encoder_head import EncoderHead, TunedEncoder
from inference.runtime.grounding_config import GROUNDING_JSON, GroundingConfig, InvalidGrounding  # noqa: F401 (re-exported)
from inference.runtime.grounding_rules import (GENERIC_ALONE, add_activities, add_topic, clear_topic_placed, demote_loose_guesses,
    distinct_first, few_guesses, mark_post_words, other_script, past_the_floor, raise_drawn_phrases, says_little, says_nothing, unwritten)
from inference.runtime.named_titles import add_titles
from inference.runtime.ranking import Ranked
from inference.runtime.safety_tone import add_condolence
from inference.runtime.tag_ranker import TagRanker, features as tag_features, with_head
from inference.runtime.tag_index import TagIndex
from inference.runtime.topics import TopicTags
from inference.runtime.shown_vectors import ShownVectors, embed_text
from inference.runtime.vector_cache import VectorCache
from inference.text.english_words import names_a_quality
from inference.text.idioms import drop_idiom_words, plainly
from inference.text.names import supported
from inference.text.phrases import extract_phrases, has_words
from inference.text.tags import tag_key

TAG_INDEX = "tag_index.npz"
ENCODED_CACHE = 8_000  # vectors of tags outside the index kept (1 kB each as float16, plus overhead): models repeat their tags
RANKED_BY_JUDGES = 15  # of a list's best by the weighted sum, reordered by the judged ranker (export/tag_ranker.py --top)
NAME_KINDS = frozenset({"work", "title", "entity"})  # phrases.py kinds that name something (`title_weight`)
RELEVANCE_SCALE = 4.0  # standard deviations: a tag this far above the post's mean cosine scores 1


class LookedUp(NamedTuple):
    """A batch's post + thread vectors [B, D], their vocabulary cosine (mean, std) [B, 2], nearest
    vocabulary tags and dense neighbours' votes (`Grounder.look_up`)."""

    contexts: np.ndarray
    stats: np.ndarray
    nearest: list[list[tuple[str, float]]]
    votes: list[list[tuple[str, float]]]

    def rows(self, indices: Sequence[int]) -> "LookedUp":
        return LookedUp(self.contexts[list(indices)], self.stats[list(indices)],
                        [self.nearest[i] for i in indices], [self.votes[i] for i in indices])


@dataclass
class Prepared:
    """One request's candidates with their scores, and the text they are judged against."""

    pool: dict[str, dict]
    text: str
    context: np.ndarray | None = None  # the post + thread vector [D] (the judged ranker's shown cosine)


@dataclass(frozen=True)
class Grounded:
    """One request's grounded list, best first, and whether the floor removed any candidate."""

    ranked: list[Ranked]
    floored: bool


def context_text(post: str, thread: Sequence[str]) -> str:
    """What is embedded for a request: the post, then its thread."""
    return "\n".join([post, *thread]).strip()


class Grounder:
    """Grounds the ranked lists of one language (see the module docstring)."""

    def __init__(self, encoder, index: TagIndex, config: GroundingConfig, lang: str, safety=None):
        self.encoder, self.index = encoder, index  # sentence_encoder.SentenceEncoder (shared by languages), tag_index.npz
        self.rows = {tag_key(t): i for i, t in enumerate(index.tags)}
        self.encoded = VectorCache(ENCODED_CACHE)  # tags outside the index, encoded once
        self.shown = ShownVectors(None, {}, lang, ENCODED_CACHE)  # tags as shown, for the judged ranker (shown_vectors.py)
        self.config, self.lang, self.safety = config, lang, safety  # safety: inference.runtime.safety.SafetyFilter or None
        self.dense: DenseIndex | None = None  # the training posts' vectors (attach_grounders), or none
        self.ranker: TagRanker | None = None  # the folder's tag ranker (tag_ranker.py), or none
        self.topics: TopicTags | None = None  # the language's topic tags (runtime/topics.py), or none

    def for_language(self, lang: str) -> "Grounder":
        """This grounder for texts in another language: the vocabulary search and the names the text capitalises (phrases.py
        `_names`), under English's loose-guess rules only, no dense neighbours; it shares this one's rows and vector cache."""
        other = copy.copy(self)
        other.lang, other.dense, other.ranker, other.topics = lang, None, None, None
        return other

    def phrases(self, post: str, thread: Sequence[str]) -> list:
        """The phrases taken from one request's post and thread (inference/text/phrases.py)."""
        limit = self.config.phrase_limit
        return extract_phrases(post, list(thread), self.lang, limit=limit) if limit else []

    def phrase_jobs(self, phrases: list[list], parts: int = 2, extra: Sequence[str] = ()) -> list[Callable[[], np.ndarray]]:
        """Jobs that put the vectors of a batch's phrases, then of the `extra` tags (`model_words`), into the
        vector cache for `relevance`; at most `parts` of them, for a request's two threads to share."""
        words = [p.words for found in phrases for p in found] + list(extra)
        new = self._uncached((key, w) for key, w in zip(map(tag_key, words), words) if key)
        keys = sorted(new)
        return [functools.partial(self._encode_into_cache, [(k, new[k]) for k in keys[i::parts]])
                for i in range(min(parts, len(keys)))]

    def model_words(self, ranked: list[Ranked]) -> list[str]:
        """The words of a request's model candidates that enter its pool (`candidates`)."""
        return [r.words for r in ranked[: self.config.model_pool] if r.source != "prior"]

    def encode_missing(self, items: Iterable[tuple[str, str]]) -> None:
        """Put the vectors of the (key, words) items neither in the vocabulary nor cached into the cache."""
        if new := self._uncached(items):
            self._encode_into_cache(sorted(new.items()))

    def _uncached(self, items: Iterable[tuple[str, str]]) -> dict[str, str]:
        """key -> words (the first spelling given) of the items outside the vocabulary and the cache."""
        new: dict[str, str] = {}
        for key, w in items:
            if key not in new and key not in self.rows and self.encoded.get(key) is None:
                new[key] = w
        return new

    def _encode_into_cache(self, items: list[tuple[str, str]]) -> np.ndarray:
        """The vectors of (tag_key, words) items [N, D], also put into the vector cache."""
        shown = self.shown if self.ranker is not None else None  # the judged ranker's vectors too
        beside = shown.texts_beside(items) if shown is not None else []
        out = self.encoder.encode([embed_text(words, self.lang) for _, words in items] + beside)
        raw = out[: len(items)]  # the encoder's own vectors [N, D]; a head maps them to keys
        vectors = self.encoder.head.fold_tags(raw) if isinstance(self.encoder, TunedEncoder) else raw
        if shown is not None:
            shown.keep(items, out[len(items):] if beside else raw)
        for (key, _), vector in zip(items, vectors):
            self.encoded.put(key, vector)
        return vectors

    def candidates(self, ranked: list[Ranked], post: str, thread: Sequence[str], nearest: list,
                   votes: Sequence[tuple[str, float]] = (), phrases: list | None = None) -> dict[str, dict]:
        """tag_key -> {"words", "model", "phrase", "dense", "source"} of one request (phrases: its
        `phrases`, when the caller took them)."""
        pool: dict[str, dict] = {}
        model = ranked[: self.config.model_pool]
        best = max((r.score for r in model if r.source != "prior"), default=0.0)  # how sure the model is of this post
        top = max((r.score for r in model), default=0.0) or 1.0
        for r in model:
            if r.source == "prior":  # a popular fallback is never a suggestion on its own
                continue
            pool.setdefault(tag_key(r.words), {"words": r.words, "model": r.score / top, "model_p": r.score, "source": r.source})
        for p in self.phrases(post, thread) if phrases is None else phrases:
            entry = pool.setdefault(tag_key(p.words), {"words": p.words, "model": 0.0, "source": "phrase"})
            entry["phrase"] = max(entry.get("phrase", 0.0), p.score)
            if p.kind in NAME_KINDS:
                entry["name"] = max(entry.get("name", 0.0), p.score)
            if p.kind == "work":  # a 《title》 the post writes: past the floor
                entry["work"] = True
        for words, cos in nearest:
            pool.setdefault(tag_key(words), {"words": words, "model": 0.0, "source": "vocab"})
        for words, vote in votes:  # already cut to dense_limit by dense_votes
            entry = pool.setdefault(tag_key(words), {"words": words, "model": 0.0, "source": "dense"})
            entry["dense"] = max(entry.get("dense", 0.0), vote)
        for entry in pool.values():
            entry["model_best"] = best
        return pool

    def dense_votes(self, contexts: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per context, the dense_limit tags its nearest training posts vote for most (none without an index)."""
        c = self.config
        if self.dense is None or c.dense_limit <= 0 or c.dense_k <= 0:
            return [[] for _ in contexts]
        return [v[: c.dense_limit] for v in self.dense.neighbours(contexts, c.dense_k, c.dense_min_cos)]

    def nearest(self, contexts: np.ndarray) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Per context: (mean, std) of its cosines over the vocabulary [B, 2], and its vocab_k nearest tags."""
        scores = contexts @ self.index.columns  # [B, V]
        stats = np.stack([scores.mean(axis=1), scores.std(axis=1) + 1e-6], axis=1)
        k = min(self.config.vocab_k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.zeros((len(scores), 0), dtype=int)
        nearest = []
        for row, cand in zip(scores, top):
            best = cand[np.argsort(-row[cand], kind="stable")]
            nearest.append([(self.index.tags[i], float(row[i])) for i in best])
        return stats, nearest

    def relevance(self, pools: list[dict[str, dict]], contexts: np.ndarray, stats: np.ndarray) -> None:
        """Fill each candidate's "cos" (a table lookup, or one encoder call for the rest) and its
        "relevance" (the cosine standardised over the post's vocabulary cosines)."""
        # a tag in two pools of the batch is encoded as the last one writes it
        self.encode_missing((key, entry["words"]) for pool in reversed(pools) for key, entry in pool.items())
        for i, pool in enumerate(pools):
            for key, entry in pool.items():
                entry["cos"] = float(self.vector(key, entry["words"]) @ contexts[i])
        for (mean, std), pool in zip(stats, pools):
            for entry in pool.values():
                entry["relevance"] = (entry["cos"] - mean) / std / RELEVANCE_SCALE

    def vector(self, key: str, words: str) -> np.ndarray:
        """A candidate's tag vector [D]: the index's, or the cache's once `encode_missing` put it there (encoded again
        where a batch of more new tags than the cache holds, or another thread's, pushed it out since)."""
        if (row := self.rows.get(key)) is not None:
            return self.index.vectors[row]
        return cached if (cached := self.encoded.get(key)) is not None else self._encode_into_cache([(key, words)])[0].astype(np.float16)

    def score(self, entry: dict) -> float:
        """The weighted sum (a name's title_weight bonus on top), divided by the sum of the weights, in [0, 1]."""
        c = self.config
        total = (c.model_weight * entry["model"] + c.relevance_weight * entry["relevance"]
                 + c.phrase_weight * entry.get("phrase", 0.0) + c.dense_weight * entry.get("dense", 0.0)
                 + c.title_weight * entry.get("name", 0.0) + c.post_word_weight * entry.get("post_word", 0.0))
        return min(1.0, max(0.0, total / ((c.model_weight + c.relevance_weight + c.phrase_weight + c.dense_weight) or 1.0)))

    def ground_batch(self, ranked: list[list[Ranked]], posts: list[str], threads: list[Sequence[str]],
                     excluded: list[set[str]], blocklist: set[str] | frozenset[str], floors: Sequence[bool],
                     looked_up: LookedUp | None = None, phrases: list[list] | None = None) -> list[Grounded]:
        """Per request: its candidates re-scored, filtered and sorted (all of them, not cut to k).
        looked_up, phrases: `look_up` and `phrases` of the same requests, when the caller has them."""
        blocked = {tag_key(b) for b in blocklist}
        prepared = self.prepare(ranked, posts, threads, looked_up, phrases)
        return [self._finish(p, {tag_key(e) for e in exclude} | blocked, floor)
                for p, exclude, floor in zip(prepared, excluded, floors)]

    def encode_contexts(self, posts: list[str], threads: list[Sequence[str]]) -> np.ndarray:
        """The requests' post + thread vectors [B, D], an English idiom read in its plain meaning (text/idioms.py)."""
        read = plainly if self.lang == "en" else str
        return self.encoder.encode([read(context_text(p, t)) or " " for p, t in zip(posts, threads)])

    def look_up(self, posts: list[str], threads: list[Sequence[str]], contexts: np.ndarray | None = None) -> LookedUp:
        """What the requests' post + thread vectors (`encode_contexts`, unless given) find before any model candidate."""
        contexts = self.encode_contexts(posts, threads) if contexts is None else contexts  # [B, D]
        stats, nearest = self.nearest(contexts)
        return LookedUp(contexts, stats, nearest, self.dense_votes(contexts))

    def prepare(self, ranked: list[list[Ranked]], posts: list[str], threads: list[Sequence[str]],
                ahead: LookedUp | np.ndarray | None = None, phrases: list[list] | None = None) -> list[Prepared]:
        """Per request: its candidates (model list, phrases, nearest vocabulary tags) with relevance.
        ahead: `look_up` of the same requests, or their `encode_contexts`, when the caller has it;
        phrases: their `phrases`, when the caller has them."""
        texts = [context_text(p, t) for p, t in zip(posts, threads)]
        looked_up = ahead if isinstance(ahead, LookedUp) else self.look_up(posts, threads, ahead)
        contexts, stats, nearest, votes = looked_up
        phrases = phrases if phrases is not None else [None] * len(posts)
        pools = [self.candidates(r, p, t, n, v, ph) for r, p, t, n, v, ph in zip(ranked, posts, threads, nearest, votes, phrases)]
        for pool, text in zip(pools, texts) if self.lang == "en" else ():  # "ran my first 10k" -> #Running, a tag of training;
            add_activities(pool, text, self.tag_count, self._sensitive)  # "baldurs gate 3" -> #BaldursGate3, not #Baldurs
            add_titles(pool, text, self._sensitive)  # (runtime/named_titles.py)
        for pool, picked in zip(pools, self.topics.picked(contexts, texts) if self.topics is not None else ()):
            for topic, clear in picked:  # the post's broad topics (#BoardGames), which its words may lack
                add_topic(pool, topic, self._sensitive, clear, self.topics.companions.get(topic, ()), self.tag_count)
        for pool, text in zip(pools, texts) if self.lang == "en" else ():
            drop_idiom_words(pool, text)  # "on thin ice": no #Ice, no #ThinIce (text/idioms.py)
        self.relevance(pools, contexts, stats)
        if self.lang == "en":  # the post's own phrases a thread drew under the floor, judged against the post alone too
            raise_drawn_phrases(pools, posts, threads, lambda texts: self.encode_contexts(texts, [()] * len(texts)), self.vector,
                                stats, self.config.floor, RELEVANCE_SCALE)
        if self.lang == "en" and self.config.post_word_weight:
            for pool, text in zip(pools, texts):
                mark_post_words(pool, text, self.tag_count, GENERIC_ALONE)
        return [Prepared(pool, text, context) for pool, text, context in zip(pools, texts, contexts)]

    def _sensitive(self, words: str) -> bool:
        return self.safety is not None and self.safety.sensitive(words)

    def tag_count(self, key: str) -> int:
        """How many training posts used the tag (0 outside the vocabulary)."""
        row = self.rows.get(key)
        return 0 if row is None else int(self.index.counts[row])

    def allowed(self, entry: dict, ctx) -> bool:
        """The safety filter's verdict on one candidate (ctx: the request's safety context, `eligible`)."""
        # the post's own words decide (safety.py), never an encoder's closeness: it admitted #Hurricane on a storm
        return self.safety is None or entry.get("told_death", False) or self.safety.check(entry["words"], ctx, self.lang).allowed

    def _unsupported(self, entry: dict, text: str) -> bool:
        """A tag the post did not give (model or vocabulary) that names someone or something the post never mentions
        (#KamalaHarris under a game review, #陪李易峰过中秋 under mooncakes), holds a number that is not the post's (#Pier39 on
        "age 39"), is only partly about it (#PeanutButter on croissants), or, with `lexical_support`, has half its words
        or fewer in it (#老子明天不上班): text/names.supported; or that one crisis of the training data owns (#LAX), or a mood
        (#Sadness), that the post does not say (safety.SafetyFilter.needs_its_words); a holiday or crisis it does not name
        (#HappyEaster, #Sandy on a flood: `unnamed_holiday`, `unnamed_event`); a saying or Chinese lexicon tag it does not
        write whole, a centroid's tag sharing no word with it (#SheIsTheFirst, #Science under a bonsai: `unwritten`), a vocabulary
        topic needing words it does not write (#Glassblowing near "glass out": TopicTags.unwritten); a very clear topic: the first only."""
        words = entry["words"]
        if entry["source"] == "phrase":
            return False
        unsaid = self.safety is not None and ((self.safety.needs_its_words(words) and not self.safety.says(words, text))
            or self.safety.unnamed_holiday(words, text) is not None or self.safety.unnamed_event(words, text))
        needy = entry["source"] == "vocab" and self.topics is not None and self.topics.unwritten(words, text)
        guess = needy or unwritten(entry, text, self.lang) or not supported(words, text, self.lang, self.config.lexical_support)
        return unsaid or (guess and not entry.get("topic"))  # a clear topic the model guessed too (#MiniGolf): as a topic

    def eligible(self, prepared: Prepared, dropped: set[str], floor: bool) -> tuple[list[tuple[Ranked, dict]], bool]:
        """The candidates that may be suggested, as (Ranked at the weighted sum, pool entry) pairs in pool order, and whether the
        floor removed any; no companion (#TeaLover) nor feeling (#Hate) under an illness or a death, no named work under a death."""
        kept, floored = [], False
        ctx = None if self.safety is None else self.safety.context_for(prepared.text, prepared.context, self.lang)  # grief
        quiet = self.safety is not None and self.safety.sombre(prepared.text, prepared.context, self.lang)
        if mourning := quiet and self.safety.mourning(prepared.text, prepared.context, self.lang):
            add_condolence(prepared.pool, self.lang, self.config.floor, self.safety.lexicon.tone.tells_a_death(prepared.text))
        latin_post = self.lang == "en" and not other_script(prepared.text)  # its tags stay in Latin letters too
        for key, entry in prepared.pool.items():
            if (key in dropped or not key or says_little(entry, key, self.tag_count, self.lang)  # #Derek, #DogRefusing, #腿
                    or (latin_post and other_script(entry["words"]))):
                continue
            past = past_the_floor(entry, prepared.pool, self.config.floor, self.config.names_past_floor, self.lang)
            below = floor and entry["relevance"] < self.config.floor and not past
            hushed = quiet and (entry.get("companion") or entry.get("beside") or self.safety.feeling(entry["words"])
                                or ((names_a_quality(entry["words"]) or entry.get("work_named")) and mourning))
            if (below and floored) or not self.allowed(entry, ctx) or hushed:
                continue  # changes nothing for a tag under the floor once one has been floored
            if below or (floor and self._unsupported(entry, prepared.text)):
                floored = True
                continue
            kept.append((Ranked(entry["words"], self.score(entry), entry["source"]), entry))
        return kept, floored

    def mark_shown(self, entries: list[dict], context: np.ndarray | None) -> None:
        """Fill the entries' "shown_cos" (runtime/shown_vectors.py); their "cos" with no context."""
        self.shown.cosines(entries, context, self.encoder)

    def ranked(self, kept: list[tuple[Ranked, dict]], prepared: Prepared) -> list[tuple[Ranked, dict]]:
        """kept, best first by the weighted sum; where the folder has a tag ranker, its RANKED_BY_JUDGES best reordered
        by the ranker's probability (the candidates it learnt from), the rest after them in their order."""
        kept = sorted(kept, key=lambda pair: -pair[0].score)
        if self.ranker is None or not kept:
            return kept
        head, tail = kept[:RANKED_BY_JUDGES], kept[RANKED_BY_JUDGES:]
        self.mark_shown([entry for _, entry in head], prepared.context)
        rows = with_head([tag_features(entry, prepared.text, r.score, self.tag_count(tag_key(r.words)), self.lang) for r, entry in head])
        head = [(Ranked(r.words, float(p), r.source), e) for (r, e), p in zip(head, self.ranker.probabilities(rows))]
        head.sort(key=lambda pair: -pair[0].score)
        last = head[-1][0].score
        return head + [(Ranked(r.words, last * r.score, r.source), e) for r, e in tail]

    def _finish(self, prepared: Prepared, dropped: set[str], floor: bool) -> Grounded:
        if floor and (not has_words(prepared.text) or says_nothing(prepared.text, self.lang)):  # emoji, "lol same"
            return Grounded([], bool(prepared.pool))
        kept, floored = self.eligible(prepared, dropped, floor)
        kept = self.ranked(kept, prepared)
        if self.lang == "en":
            kept = distinct_first(kept)
        if floor:  # the service's lists; `predict` without the floor keeps the scores' order for the benchmarks
            kept = clear_topic_placed(kept, spare_names=self.lang == "en")
        if floor and self.lang != "zh":  # English, and other languages through English's vocabulary
            if self.ranker is None:  # the judged ranker learnt what a loose guess is worth
                kept = demote_loose_guesses(kept, prepared.text, self.config.guess_relevance)
            kept, floored = few_guesses(kept, prepared.text, floored)
        return Grounded([r for r, _ in kept], floored)


def attach_grounders(models: dict, safety=None, providers=None, threads: int = 1) -> None:
    """Give every model whose folder holds grounding.json and tag_index.npz its Grounder; the sentence
    encoder (built from its wheel into the cache at first start) is loaded once for all of them."""
    grounded = [m for m in models.values() if (m.folder / GROUNDING_JSON).exists() and (m.folder / TAG_INDEX).exists()]
    if not grounded:
        return
    from inference.runtime.sentence_encoder import SentenceEncoder, precision, source_files

    encoder = SentenceEncoder.load(providers=providers, threads=max(1, threads))
    for model in grounded:
        index = TagIndex.load(model.folder / TAG_INDEX)
        if index.dim != encoder.dim:
            raise InvalidGrounding(f"{model.folder / TAG_INDEX}: vectors of dimension {index.dim}, the encoder gives {encoder.dim}")
        head = EncoderHead.load(model.folder)  # encoder_head.json: the encoder tuned for hashtags, or none
        own = encoder if head is None else TunedEncoder(encoder, head)
        raw_index, index = index, (index if head is None else own.tag_index(index))  # tag vectors mapped once, here
        model.grounder = Grounder(own, index, GroundingConfig.load(model.folder), model.lang, safety)
        index.columns  # built at load rather than in the first request (Grounder.nearest)
        model.grounder.ranker = TagRanker.load(model.folder)
        if model.grounder.ranker is not None:  # the ranker's shown vectors of the vocabulary (a table, cached)
            model.grounder.shown = ShownVectors.for_vocabulary(
                encoder, list(raw_index.tags), raw_index.vectors, [model.folder / TAG_INDEX, source_files()[0]],
                precision(providers), ENCODED_CACHE, model.lang)
        topic_inputs = [source_files()[0], *([head.path] if head is not None and head.path else [])]
        model.grounder.topics = TopicTags.load(own, model.lang, topic_inputs, precision(providers))  # or none
        if (model.folder / DENSE_INDEX).exists():
            model.grounder.dense = DenseIndex.load(model.folder / DENSE_INDEX, dim=encoder.dim)
