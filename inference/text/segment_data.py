"""The segmenter's data: the count files (wordsegment's English counts + inference/data/segmentation),
loaded once per process, and where the compiled tables are cached (`cache_dir`, `compiled_path`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference.text.segment import SegmenterConfig

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"  # the runtime's data files (inference/data)
DATA_DIR = PACKAGE_DATA / "segmentation"
COMPILED_FORMAT = 1  # bump when the compiled tables' layout or meaning changes


def cache_dir() -> Path:
    """Rebuildable derived files (compiled segmenter tables, jieba's dictionary cache):
    $TAGSMITH_CACHE_DIR, else $XDG_CACHE_HOME/tagsmith, else ~/.cache/tagsmith."""
    if os.environ.get("TAGSMITH_CACHE_DIR"):
        return Path(os.environ["TAGSMITH_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tagsmith"


def _read_counts(path: Path) -> dict[str, float]:
    opener = gzip.open if path.suffix == ".gz" else open
    counts: dict[str, float] = {}
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            counts[key] = float(value)
    return counts


def _read_table(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                table[cols[0]] = cols[1]
    return table


@dataclass
class Counts:
    ws_unigrams: dict[str, float]
    ws_bigrams: dict[str, float]
    ws_total: float
    corpus_unigrams: dict[str, float]
    corpus_bigrams: dict[str, float]
    casing: dict[str, str]  # word -> surface form people use (NBA, iPhone)

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> "Counts":
        import wordsegment  # the English counts ship inside the package; read them from there

        ws = wordsegment.Segmenter
        corpus_uni = data_dir / "unigrams.txt.gz"
        return cls(
            ws_unigrams=_read_counts(Path(ws.UNIGRAMS_FILENAME)),
            ws_bigrams=_read_counts(Path(ws.BIGRAMS_FILENAME)),
            ws_total=ws.TOTAL,
            corpus_unigrams=_read_counts(corpus_uni) if corpus_uni.exists() else {},
            corpus_bigrams=_read_counts(data_dir / "bigrams.txt.gz") if corpus_uni.exists() else {},
            casing=_read_table(data_dir / "casing.txt.gz"),
        )


_counts: Counts | None = None
_counts_lock = threading.Lock()
_casing: dict[str, str] | None = None


def load_casing() -> dict[str, str]:
    """The casing table alone (the formatter needs nothing else)."""
    global _casing
    if _casing is None:
        _casing = _counts.casing if _counts is not None else _read_table(DATA_DIR / "casing.txt.gz")
    return _casing


def _source_files() -> list[Path]:
    import wordsegment

    ws = wordsegment.Segmenter
    return [Path(ws.UNIGRAMS_FILENAME), Path(ws.BIGRAMS_FILENAME)] + sorted(DATA_DIR.glob("*.gz"))


def compiled_path(config: "SegmenterConfig") -> Path:
    """The cache file for the default counts under `config`: named by a hash of the format, the
    config and the count files' names, sizes and modification times (any change rebuilds)."""
    h = hashlib.sha256(f"{COMPILED_FORMAT}|{config!r}".encode())
    for f in _source_files():
        st = f.stat() if f.exists() else None
        h.update(f"|{f}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}".encode())
    return cache_dir() / f"segmenter-{h.hexdigest()[:20]}.npz"


def load_counts() -> Counts:
    global _counts
    with _counts_lock:
        if _counts is None:
            _counts = Counts.load()
        return _counts


def release_counts() -> None:
    """Drop the counts (a segmenter loaded from its compiled tables no longer needs them)."""
    global _counts
    with _counts_lock:
        _counts = None


class Bonuses(Mapping):
    """The compiled bigram bonuses, word -> {previous word: bonus}: each word's row made into a dict
    when first asked for (a start then reads arrays, not ~30,000 dicts); equal to the dict it stands for."""

    def __init__(self, strings: list[str], rows: list[int], offsets: list[int], prev: list[int], values: list[float]):
        self._strings, self._offsets, self._prev, self._values = strings, offsets, prev, values
        self._row = {strings[r]: k for k, r in enumerate(rows)}
        self._made: dict[str, dict[str, float]] = {}

    def get(self, word: str, default=None):
        made = self._made.get(word)
        if made is None:
            k = self._row.get(word)
            if k is None:
                return default
            a, b = self._offsets[k], self._offsets[k + 1]
            made = self._made[word] = dict(zip(map(self._strings.__getitem__, self._prev[a:b]), self._values[a:b]))
        return made

    def __getitem__(self, word: str) -> dict[str, float]:
        made = self.get(word)
        if made is None:
            raise KeyError(word)
        return made

    def __iter__(self):
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
