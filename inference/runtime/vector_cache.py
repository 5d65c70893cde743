"""A bounded least-recently-used map of tag_key -> unit vector: the grounding stage's vectors of tags
outside its vocabulary (runtime/grounding.py), encoded once and shared by the executor's threads."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class VectorCache:
    """A least-recently-used map of tag_key -> unit vector, bounded in entries. Shared by the
    executor's threads: a lock keeps its order consistent. A vector is kept as a float16 copy (the precision of
    the vocabulary's own vectors on disk): half the memory of float32, and no entry keeps its encoder batch's
    whole array alive (a row of it is a view)."""

    def __init__(self, size: int):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._items[key] = np.array(vector, dtype=np.float16)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
