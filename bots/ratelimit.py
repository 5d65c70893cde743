"""Per-chat / per-guild rate limiting: a token bucket per key, in memory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    burst: int = 5  # requests allowed at once
    per_s: float = 10.0  # one more request allowed every per_s / burst seconds
    max_keys: int = 10_000  # forget the oldest buckets beyond this
    _buckets: dict[object, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, stamp)

    def hit(self, key: object, now: float | None = None) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until the next token."""
        now = time.monotonic() if now is None else now
        rate = self.burst / self.per_s  # tokens per second
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / rate
        while len(self._buckets) > self.max_keys:  # dicts keep insertion order: oldest first
            self._buckets.pop(next(iter(self._buckets)))
        return wait
