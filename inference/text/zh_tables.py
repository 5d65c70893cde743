"""jieba's part-of-speech and IDF tables for the Chinese phrase extractor, kept in the cache folder.

The phrase extractor (inference/text/phrases.py `jieba_tables`) needs three things from jieba besides
its segmentation: each dictionary word's part of speech (jieba.posseg's `word_tag_tab`), each word's IDF
(jieba.analyse's `idf_freq` and median) and which characters begin people's names (jieba.posseg's
emission table). Importing jieba.posseg and jieba.analyse for them loads their HMM tables, a second copy
of the dictionary and a TextRank model as well: ~100 MB and ~1.5 s of CPU per start. The first start
builds the three tables from jieba's modules and writes them as one pickle-free numpy file, named by
jieba's version and its data files' sizes and times; later starts read that file (~60 MB in memory,
word strings shared by both tables). The tables are the same, entry for entry and in order. jieba's prefix dictionary itself
(`initialize_jieba`) is kept there as a numpy file too: it reads ~4x faster than jieba's marshal cache.
Memory: the tables' words are the dictionary's own string objects (the tables file names each word's
row in it, checked by a digest of its words), and equal counts and IDFs are one Python number each:
dictionary + tables ~95 MB where they took ~128 MB.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the tables name each word's row in jieba's dictionary
RUNS_KEPT, RUN_CHARS = 8192, 100  # Han runs whose segmentation is kept (memoise_runs): at most ~8 MB
_NO_TAG = 255  # tag id of a word with an IDF but no dictionary entry


def _data_files(jieba) -> list[Path]:
    root = Path(jieba.__file__).resolve().parent
    return [root / "dict.txt", root / "analyse" / "idf.txt", root / "posseg" / "prob_emit.py"]


def cache_path(jieba, cache_dir: Path, kind: str = "tables") -> Path:
    """The tables' (or the prefix dictionary's) file for this jieba install: its version, data files'
    sizes and times in the name."""
    stamp = [FORMAT, getattr(jieba, "__version__", "?")]
    for path in _data_files(jieba):
        with contextlib.suppress(OSError):
            info = path.stat()
            stamp += [path.name, info.st_size, info.st_mtime_ns]
    return Path(cache_dir) / f"jieba-{kind}-{hashlib.sha256(repr(stamp).encode()).hexdigest()[:20]}.npz"


def initialize_jieba(jieba, cache_dir: Path) -> None:
    """`jieba.initialize()` for its default dictionary, the prefix dictionary read from a numpy file in
    cache_dir (~0.2 s of CPU where jieba's own marshal cache takes ~0.9 s; the same dictionary, entry
    for entry and in order), written from jieba's the first time. Another dictionary: jieba's own way.
    Then its segmentation of a run of Han characters is kept for the next reader (`memoise_runs`)."""
    _initialize(jieba, cache_dir)
    memoise_runs(jieba.dt)


def memoise_runs(dt) -> None:
    """jieba's words of a run of Han characters (its `__cut_DAG`, with the HMM), kept for the next reader of
    the same run (a bounded LRU of runs up to RUN_CHARS long): a request's post and thread are segmented by
    the tokeniser and again by the phrase finder. The dictionary never changes after load, so neither do a run's words."""
    if "_Tokenizer__cut_DAG" in vars(dt):
        return
    cut = dt._Tokenizer__cut_DAG  # jieba.cut asks the instance for it on every block: an attribute wins
    kept = lru_cache(maxsize=RUNS_KEPT)(lambda run: tuple(cut(run)))
    dt._Tokenizer__cut_DAG = lambda run: kept(run) if len(run) <= RUN_CHARS else cut(run)


def _initialize(jieba, cache_dir: Path) -> None:
    dt = jieba.dt
    if dt.initialized:
        return
    if dt.dictionary != jieba.DEFAULT_DICT or dt.cache_file:
        jieba.initialize()
        return
    path = cache_path(jieba, cache_dir, "dict")
    with dt.lock:  # jieba's own (re-entrant): one thread loads, the others wait and find it loaded
        if dt.initialized:
            return
        loaded = _read_dict(path) if path.is_file() else None
        if loaded is not None:
            dt.FREQ, dt.total = loaded
            dt.initialized = True
            return
        jieba.initialize()
        try:
            _save_dict(path, dt.FREQ, dt.total)
        except (OSError, ValueError) as exc:  # no cache is never an error, only a slower start
            log.warning("jieba dictionary not cached (%s)", exc)


def _save_dict(path: Path, freq: dict[str, int], total: int) -> None:
    words = "\n".join(freq)
    if words.count("\n") != len(freq) - 1:
        raise ValueError("a dictionary word holds a line break")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(tmp, words=np.frombuffer(words.encode("utf-8"), dtype=np.uint8),
             freq=(counts := np.fromiter(freq.values(), dtype=np.int64, count=len(freq))),
             total=np.array(total, dtype=np.int64), freq_sum=np.array(counts.sum(), dtype=np.int64))
    os.replace(tmp, path)


def _read_dict(path: Path) -> tuple[dict[str, int], int] | None:
    """(word -> count, total), or None for a damaged file (checked: as many counts as words, and
    their sum the one written; jieba's total counts a word listed twice twice, so it is kept apart)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            words, freq, total = z["words"].tobytes().decode("utf-8").split("\n"), z["freq"], int(z["total"])
            freq_sum = int(z["freq_sum"])
    except (OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        log.warning("jieba dictionary cache %s unreadable (%s): rebuilding", path, exc)
        return None
    if len(words) != len(freq) or int(freq.sum()) != freq_sum:
        log.warning("jieba dictionary cache %s does not add up: rebuilding", path)
        return None
    return dict(zip(words, shared_values(freq))), total


def build_tables(jieba) -> tuple[dict[str, str], dict[str, float], float, frozenset[str]]:
    """(word -> part of speech, word -> IDF, median IDF, name-start characters) from jieba's modules."""
    import jieba.analyse
    import jieba.posseg

    # jieba.posseg's own HMM tags words missing from the dictionary but costs ~1 ms a word; instead
    # its emission table says which characters begin people's names more often than nouns (王 余 梅).
    names, nouns = jieba.posseg.emit_P[("B", "nr")], jieba.posseg.emit_P[("B", "n")]
    name_start = frozenset(c for c, p in names.items() if p > max(-7.0, nouns.get(c, -99.0)))
    tfidf = jieba.analyse.default_tfidf
    return jieba.posseg.dt.word_tag_tab, tfidf.idf_freq, tfidf.median_idf, name_start


def save_tables(path: Path, tags: dict[str, str], idf: dict[str, float], median: float, name_start: frozenset[str],
                dictionary: dict[str, int] | None = None) -> None:
    """One npz: the words (tagged ones first, in order), their tag ids, the IDF words' rows and values;
    with jieba's prefix dictionary, each word's row in it (-1: not in it) and a digest of its words."""
    words = list(tags)
    row = {w: i for i, w in enumerate(words)}
    for w in idf:
        if w not in row:
            row[w] = len(words)
            words.append(w)
    names = sorted(set(tags.values()))
    if len(names) >= _NO_TAG or any("\n" in w for w in words) or any("\n" in n for n in names):
        raise ValueError("jieba's tables do not fit the cache format")
    tag_id = {n: i for i, n in enumerate(names)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        words=np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8),
        tag_names=np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8),
        tag_ids=np.array([tag_id[tags[w]] for w in words[: len(tags)]], dtype=np.uint8),
        idf_rows=np.array([row[w] for w in idf], dtype=np.int32),
        idf=np.fromiter(idf.values(), dtype=np.float64, count=len(idf)),
        median=np.array(median, dtype=np.float64),
        name_start=np.frombuffer("".join(sorted(name_start)).encode("utf-8"), dtype=np.uint8),
        **(_dictionary_rows(words, dictionary) if dictionary else {}),
    )
    os.replace(tmp, path)


def _words_digest(dictionary: dict[str, int]) -> np.ndarray:
    return np.frombuffer(hashlib.sha256("\n".join(dictionary).encode("utf-8")).hexdigest().encode(), dtype=np.uint8)


def _dictionary_rows(words: list[str], dictionary: dict[str, int]) -> dict[str, np.ndarray]:
    rows = {w: i for i, w in enumerate(dictionary)}
    return {"dict_rows": np.array([rows.get(w, -1) for w in words], dtype=np.int32), "dict_digest": _words_digest(dictionary)}


def _shared_words(words: list[str], z, dictionary: dict[str, int] | None) -> list[str]:
    """`words` as the dictionary's own string objects (one copy of each word in the process, ~25 MB
    less) when the file was written against this dictionary (its words' digest); else as they are."""
    if not dictionary or "dict_rows" not in z.files or not np.array_equal(z["dict_digest"], _words_digest(dictionary)):
        return words
    keys, rows = list(dictionary), z["dict_rows"].tolist()
    if len(rows) != len(words):
        return words
    return [keys[r] if r >= 0 else w for r, w in zip(rows, words)]


def read_tables(path: Path, dictionary: dict[str, int] | None = None) -> tuple[dict[str, str], dict[str, float], float, frozenset[str]]:
    """The tables of `path`; `dictionary`: jieba's prefix dictionary, whose word objects they share."""
    with np.load(path, allow_pickle=False) as z:
        words = _shared_words(z["words"].tobytes().decode("utf-8").split("\n"), z, dictionary)
        words = np.array(words, dtype=object)
        names = np.array(z["tag_names"].tobytes().decode("utf-8").split("\n"), dtype=object)
        tag_ids, idf_rows, idf = z["tag_ids"], z["idf_rows"], z["idf"]
        median, name_start = float(z["median"]), frozenset(z["name_start"].tobytes().decode("utf-8"))
    # object arrays hand out the same string objects: both tables share one copy of each word
    tags = dict(zip(words[: len(tag_ids)], names[tag_ids]))
    return tags, dict(zip(words[idf_rows], shared_values(idf))), median, name_start


def shared_values(values: np.ndarray) -> tuple:
    """values.tolist() with equal numbers as one Python object each (a float or a large int is 24-32
    bytes; the IDF table has ~3,300 distinct values for ~270,000 words, jieba's counts ~5,100 for ~500,000)."""
    if len(values) == 0:
        return ()
    distinct, index = np.unique(values, return_inverse=True)
    objects = distinct.tolist()
    return tuple(map(objects.__getitem__, index.ravel().tolist())) if len(values) > 1 else (objects[0],)


def load_tables(jieba, cache_dir: Path) -> tuple[dict[str, str], dict[str, float], float, frozenset[str]]:
    """The cached tables, else built from jieba's modules (and cached when the folder is writable)."""
    path = cache_path(jieba, cache_dir)
    dictionary = jieba.dt.FREQ if jieba.dt.initialized else None
    if path.is_file():
        try:
            return read_tables(path, dictionary)
        except (OSError, ValueError, KeyError) as exc:  # a damaged cache is rebuilt
            log.warning("jieba tables cache %s unreadable (%s): rebuilding", path, exc)
    tables = build_tables(jieba)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_tables(path, *tables, dictionary)
    except (OSError, ValueError) as exc:  # no cache is never an error, only a slower start
        log.warning("jieba tables not cached (%s)", exc)
    return tables
