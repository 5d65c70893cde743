"""Large word lists held as sorted 64-bit hashes: a set of 300k words or a table of 200k ranks in a few megabytes.

A Python frozenset or dict of that many short strings holds some 20 MB (an object per word and per slot); the phrase
finder only asks whether a word is in a list and what its rank is. The hashes are Python's own of the word's UTF-8
bytes, taken at load in the process that asks (a hash differs between processes, never within one); not of the string
itself, which hashes its code units, so that 票 (U+7968) and "hy" share one. A word outside a list taking an inside
word's 64-bit hash has odds of about 1e-14 a look-up. Words are hashed as they are read, so no list of them is ever
held whole.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Iterable

import numpy as np


def _hash(word: object) -> int:
    return hash(word.encode("utf-8", "surrogatepass")) if isinstance(word, str) else hash(word)


def _sorted_hashes(words: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct hashes in order [N], the position in `words` of each one's first word [N])."""
    hashes = np.fromiter((_hash(w) for w in words), dtype=np.int64)
    order = np.argsort(hashes, kind="stable")
    distinct, first = np.unique(hashes[order], return_index=True)
    return distinct, order[first]


class WordSet:
    """`word in words` for a fixed list of words."""

    def __init__(self, words: Iterable[str]):
        distinct, _ = _sorted_hashes(words)
        self._hashes = array("q", distinct.tobytes())

    def __contains__(self, word: object) -> bool:
        h = _hash(word)
        i = bisect_left(self._hashes, h)
        return i < len(self._hashes) and self._hashes[i] == h

    def __len__(self) -> int:
        return len(self._hashes)


class WordRanks:
    """`ranks.get(word, default)` for words listed most frequent first: a word's rank is its first place, from 1."""

    def __init__(self, words: Iterable[str]):
        distinct, first = _sorted_hashes(words)
        self._hashes = array("q", distinct.tobytes())
        self._ranks = array("q", (first + 1).astype(np.int64).tobytes())

    def get(self, word: str, default: int) -> int:
        h = _hash(word)
        i = bisect_left(self._hashes, h)
        return self._ranks[i] if i < len(self._hashes) and self._hashes[i] == h else default

    def __len__(self) -> int:
        return len(self._hashes)
