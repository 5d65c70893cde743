"""Hashtag segmentation (hashtag -> words) and formatting (words -> hashtag).

Segmenter: Viterbi over an interpolated unigram + bigram language model. The English counts of the
`wordsegment` package (Norvig's web counts, read from the installed package at run time) are mixed
with counts from the project's own corpora (inference/data/segmentation, built by
`python -m export.segment_counts`), where CamelCase hashtags (#ThrowbackThursday) give words and
bigrams as people write them in hashtags. Casing (CamelCase, digits) is a soft boundary feature: a
word spanning a case or letter/digit change pays a penalty, so #iPhone can stay one word while
#NBAFinals2019 splits into "nba finals 2019". Underscores and other punctuation always split; scripts
written without spaces (Chinese, Japanese, Korean) come back unchanged, as one element.

Formatter: words -> the hashtag a person would write: CamelCase (screen readers read it word by word),
with the casing people use for known tokens (#NBAFinals, #iPhone, #COVID19) from a table learned from
the corpora; Chinese words joined without spaces.

Everything is loaded lazily, once, on first use; importing this module is cheap. Building the
default segmenter's tables from the count files takes seconds of pure Python, so the built tables
are kept in a numpy file in the user's cache directory (`cache_dir()`, never the repo or the
package), keyed by the config and the count files; later processes load them in well under a second.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from inference.text.segment_data import Bonuses, Counts, cache_dir, compiled_path, load_casing, load_counts, release_counts

__all__ = ["Counts", "Formatter", "Segmenter", "SegmenterConfig", "cache_dir", "camel_pieces", "default_segmenter",
           "format_tag", "segment"]  # Counts and cache_dir: re-exported for their importers

log = logging.getLogger(__name__)


# Thai, Lao, Myanmar, Khmer, kana, CJK ideographs and Hangul: tags we leave exactly as written.
_NO_SPACE_SCRIPT = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SEPARATORS = re.compile(r"[\W_]+")  # underscores, hyphens, apostrophes, ...: always a word boundary


def _split_parts(tag: str) -> list[str]:
    """Split a tag on everything but letters, digits and combining marks (Devanagari vowel signs)."""
    if tag.isascii():
        return _SEPARATORS.split(tag)
    parts, current = [], []
    for ch in tag:
        if ch.isalnum() or (current and unicodedata.category(ch).startswith("M")):  # marks on a letter
            current.append(ch)
        elif current:
            parts.append("".join(current))
            current = []
    parts.append("".join(current))
    return parts
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NEG_INF = float("-inf")


def camel_pieces(tag: str) -> list[str]:
    """Split an ASCII tag on its casing and digits only: "NBAFinals2019" -> ["NBA", "Finals", "2019"]."""
    return _CAMEL.findall(tag)


@dataclass(frozen=True)
class SegmenterConfig:
    """Language-model mix and penalties (natural-log units); tuned by `export.segment_counts --tune`
    on stan_large_train.tsv and held-out corpus CamelCase hashtags, never on the dev benchmarks."""

    corpus_weight: float = 0.3  # share of the corpus model in the unigram and bigram mix
    bigram_weight: float = 0.8  # interpolation: P(w|p) = b * Pbigram + (1 - b) * Punigram
    unk_logp: float = -8.0  # log-prob of an unknown word before its per-character penalty
    unk_char: float = -3.0  # per character of an unknown word
    word_penalty: float = -0.5  # per word: a length prior preferring fewer, longer words
    letter_penalty: float = -5.0  # single letters other than "a" and "i"
    digit_logp: float = -8.0  # a run of digits
    camel_span: float = -4.0  # a word running across a lower->Upper (or ACRONYMWord) boundary
    digit_span: float = -8.0  # a word running across a letter<->digit boundary
    unk_camel_span: float = -4.0  # extra, for an unknown word running across a lower->Upper boundary
    cased_inner_split: float = -3.0  # in a CamelCase tag, a split where the casing shows none (A|us|Open)
    min_ws_count: float = 0.0  # drop wordsegment unigrams rarer than this (its tail is noisy)
    max_word_len: int = 24


# -- segmenter ------------------------------------------------------------------------------------


class Segmenter:
    """Viterbi segmentation of one hashtag over an interpolated unigram + bigram model.

    States at position j are the known words ending at j (they condition the next word's bigram),
    plus one "<unk>" and one "<num>" state holding the best unknown word / digit run ending at j.
    """

    def __init__(self, config: SegmenterConfig | None = None, counts: Counts | None = None, *,
                 corpus: bool = True):
        self.config = config or SegmenterConfig()
        self.segment = lru_cache(maxsize=65536)(self._segment_tuple)
        self._counts = counts
        # only the default segmenter is cached (tuning trials pass their own counts or configs)
        if counts is None and corpus and self.config == SegmenterConfig() and self._load_compiled():
            return
        given = counts is not None
        counts = counts or load_counts()
        if not corpus:  # wordsegment's counts alone, for comparison
            counts = replace(counts, corpus_unigrams={}, corpus_bigrams={})
        self._counts = counts
        self.casing = counts.casing
        self._build(counts)
        if self._compiled is not None:
            self._save_compiled(self._compiled)
            if not given:  # the raw counts (~140 MB of dicts) are no longer needed: later starts never hold them
                self._counts = None
                release_counts()

    _compiled: Path | None = None  # the cache file the default tables load from / are saved to

    @property
    def counts(self) -> Counts:
        if self._counts is None:  # loaded from the compiled tables: read the counts on demand
            self._counts = load_counts()
        return self._counts

    # -- compiled tables (pickle-free numpy: one string table, float64 values, CSR bigram bonuses) --

    def _load_compiled(self) -> bool:
        """Load the default tables from the cache; False (and remember where to save) if absent."""
        try:
            path = compiled_path(self.config)
        except Exception:  # noqa: BLE001 - no cache is never an error, only slower
            return False
        self._compiled = path
        if not path.exists():
            return False
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as z:
                strings = z["strings"].tobytes().decode("utf-8").split("\n")
                logp1 = z["logp1"].tolist()
                offsets, prev, values = z["offsets"].tolist(), z["prev"].tolist(), z["bonus"].tolist()
                rows = z["rows"].tolist()
        except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
            log.warning("segmenter cache %s unreadable (%s): rebuilding", path, exc)
            return False
        self.logp1 = dict(zip(strings[: len(logp1)], logp1))
        self.bonus = Bonuses(strings, rows, offsets, prev, values)  # rows made into dicts when first used
        self.casing = load_casing()
        return True

    def _save_compiled(self, path: Path) -> None:
        import numpy as np

        strings = list(self.logp1)
        index = {w: i for i, w in enumerate(strings)}
        for w, prevs in self.bonus.items():
            for key in (w, *prevs):
                if key not in index:
                    index[key] = len(strings)
                    strings.append(key)
        offsets, prev, values = [0], [], []
        for prevs in self.bonus.values():
            prev.extend(index[p] for p in prevs)
            values.extend(prevs.values())
            offsets.append(len(prev))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.savez(
                    f,
                    strings=np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8),
                    logp1=np.fromiter(self.logp1.values(), dtype=np.float64, count=len(self.logp1)),
                    rows=np.array([index[w] for w in self.bonus], dtype=np.int32),
                    offsets=np.array(offsets, dtype=np.int64),
                    prev=np.array(prev, dtype=np.int32),
                    bonus=np.array(values, dtype=np.float64),
                )
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
            for stale in path.parent.glob("segmenter-*.npz"):  # tables of older count files or code
                if stale != path:
                    stale.unlink(missing_ok=True)
        except OSError as exc:
            log.info("segmenter cache not written (%s): the next start builds the tables again", exc)

    def _build(self, c: Counts) -> None:
        cfg = self.config
        lam = cfg.corpus_weight if c.corpus_unigrams else 0.0
        beta = cfg.bigram_weight
        ws_total = c.ws_total
        corpus_total = sum(c.corpus_unigrams.values()) or 1.0
        # P(w) = (1 - lam) * Pws(w) + lam * Pcorpus(w)
        p_uni: dict[str, float] = {}
        for w, n in c.ws_unigrams.items():
            if n >= cfg.min_ws_count and len(w) <= cfg.max_word_len:
                p_uni[w] = (1.0 - lam) * n / ws_total
        for w, n in c.corpus_unigrams.items():
            if len(w) <= cfg.max_word_len:
                p_uni[w] = p_uni.get(w, 0.0) + lam * n / corpus_total
        # P(w|p) = (1 - lam) * Pws(w|p) + lam * Pcorpus(w|p); "<s>" starts a hashtag (wordsegment only)
        p_bi: dict[tuple[str, str], float] = {}
        for src, uni, weight, total in ((c.ws_bigrams, c.ws_unigrams, 1.0 - lam, ws_total),
                                        (c.corpus_bigrams, c.corpus_unigrams, lam, corpus_total)):
            if weight <= 0:
                continue
            for pair, n in src.items():
                prev, _, w = pair.partition(" ")
                if w not in p_uni:
                    continue
                prev_n = uni.get(prev) if prev != "<s>" else total / 20.0  # ~20 words a sentence
                if not prev_n:
                    continue
                key = (prev, w)
                p_bi[key] = p_bi.get(key, 0.0) + weight * min(1.0, n / prev_n)
        letter = cfg.letter_penalty
        self.logp1 = {
            w: math.log((1.0 - beta) * p) + (letter if len(w) == 1 and w not in "ai" else 0.0)
            for w, p in p_uni.items() if p > 0
        }
        bonus: dict[str, dict[str, float]] = {}
        for (prev, w), p in p_bi.items():
            pu = p_uni[w]
            bonus.setdefault(w, {})[prev] = math.log(beta * p + (1.0 - beta) * pu) - math.log((1.0 - beta) * pu)
        self.bonus = bonus

    def __call__(self, tag: str) -> list[str]:
        return list(self.segment(tag))

    def _segment_tuple(self, tag: str) -> tuple[str, ...]:
        tag = tag.strip().lstrip("#")
        if not tag:
            return ()
        if _NO_SPACE_SCRIPT.search(tag):
            return (tag,)
        words: list[str] = []
        for part in _split_parts(tag):
            if part:
                words.extend(self._segment_part(part))
        return tuple(words)

    def _segment_part(self, surface: str) -> list[str]:
        cfg = self.config
        s = surface.lower()
        if len(s) != len(surface):  # lowercasing changed the length (rare letters): no case features
            surface = s
        n = len(s)
        # cum[k]: summed penalties of the boundaries 1..k; a word s[i:j] spans boundaries i+1..j-1
        cum = [0.0] * (n + 1)
        camel = [0] * (n + 1)  # camel[k]: how many of the boundaries 1..k are lower->Upper ones
        for k in range(1, n):
            a, b = surface[k - 1], surface[k]
            pen, is_camel = 0.0, False
            if a.isdigit() != b.isdigit():
                pen = cfg.digit_span
            elif b.isupper() and (a.islower() or (a.isupper() and k + 1 < n and surface[k + 1].islower())):
                pen, is_camel = cfg.camel_span, True
            cum[k] = cum[k - 1] + pen
            camel[k] = camel[k - 1] + is_camel
        cum[n] = cum[n - 1] if n else 0.0
        # split_pen[i]: cost of a word starting at i; in a CamelCase tag, casing marks the boundaries
        split_pen = [0.0] * n
        if cfg.cased_inner_split and surface != s and not surface.isupper():
            for k in range(1, n):
                if cum[k] == cum[k - 1]:
                    split_pen[k] = cfg.cased_inner_split

        logp1, bonus, casing = self.logp1, self.bonus, self.casing
        unk_logp, unk_char, wp, digit_logp = cfg.unk_logp, cfg.unk_char, cfg.word_penalty, cfg.digit_logp
        unk_span = cfg.unk_camel_span
        max_len = cfg.max_word_len
        # states[j]: key -> (score, start, previous key); best[j]: (score, key)
        states: list[dict] = [{} for _ in range(n + 1)]
        states[0]["<s>"] = (0.0, -1, None)
        best = [(_NEG_INF, None)] * (n + 1)
        best[0] = (0.0, "<s>")
        for i in range(n):
            here = states[i]
            if not here:
                continue
            base_score, base_key = best[i]
            base_cum = cum[i]
            inner = split_pen[i] + wp
            for j in range(i + 1, min(n, i + max_len) + 1):
                w = s[i:j]
                span = cum[j - 1] - base_cum
                l1 = logp1.get(w)
                if l1 is not None:
                    if span and casing.get(w) == surface[i:j] and w.isalpha():
                        span = 0.0  # written the way people write this word (iPhone): no boundary
                    score, prev = base_score + l1, base_key
                    bon = bonus.get(w)
                    if bon:
                        for p, (p_score, _, _) in here.items():
                            b = bon.get(p)
                            if b is not None and p_score + l1 + b > score:
                                score, prev = p_score + l1 + b, p
                    key = w
                elif w.isdigit():
                    score, prev, key = base_score + digit_logp, base_key, "<num>"
                else:
                    score, prev, key = base_score + unk_logp + unk_char * (j - i), base_key, "<unk>"
                    if span:
                        span += unk_span * (camel[j - 1] - camel[i])
                score += inner + span
                old = states[j].get(key)
                if old is None or score > old[0]:
                    states[j][key] = (score, i, prev)
                    if score > best[j][0]:
                        best[j] = (score, key)
        words: list[str] = []
        j, key = n, best[n][1]
        while j > 0:
            _, start, prev = states[j][key]
            words.append(s[start:j])
            j, key = start, prev
        words.reverse()
        return words


# -- formatter ------------------------------------------------------------------------------------


# words the learned casing table (casing.txt.gz, from abbreviations and shouting in the corpus) writes in capitals that a
# tag writes as words: #MainSt and #StMary, not #MainST; #CoOp, #BurnaBoy, #Hero. The segmenter reads the table as it is.
WORD_CASING = {w: w.title() for w in "st co boy vice hero syria wires aura earns lupus mites sob aria".split()}


class Formatter:
    """Words -> hashtag: CamelCase with the casing people use for known tokens."""

    def __init__(self, casing: dict[str, str] | None = None):
        self.casing = {**(casing if casing is not None else load_casing()), **WORD_CASING}

    def __call__(self, words: list[str] | str, lang: str | None = None) -> str:
        if isinstance(words, str):
            words = words.split()
        words = [w for w in (re.sub(r"[\W_]+", "", w) for w in words) if w]
        if lang == "zh" or any(_NO_SPACE_SCRIPT.search(w) for w in words):
            return "#" + "".join(words)
        out = []
        for w in words:
            if w != w.lower():  # the caller already cased it
                out.append(w)
            else:
                out.append(self.casing.get(w) or w[:1].upper() + w[1:])
        return "#" + "".join(out)


# -- module API -----------------------------------------------------------------------------------

_segmenter: Segmenter | None = None
_formatter: Formatter | None = None
_init_lock = threading.Lock()


def default_segmenter() -> Segmenter:
    global _segmenter
    if _segmenter is None:
        with _init_lock:
            if _segmenter is None:
                _segmenter = Segmenter()
    return _segmenter


def segment(tag: str) -> list[str]:
    """Split a hashtag (with or without '#') into lowercase words: "#NBAFinals2019" -> ["nba", "finals", "2019"]."""
    return list(default_segmenter().segment(tag))


def format_tag(words: list[str] | str, lang: str | None = None) -> str:
    """Words -> the hashtag a person would write, e.g. "aus open" -> "#AusOpen", "nba finals" -> "#NBAFinals"."""
    global _formatter
    if _formatter is None:
        _formatter = Formatter()
    return _formatter(words, lang)
