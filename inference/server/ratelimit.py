"""Per-key token buckets, in memory.

Per process: with several server processes behind a balancer each enforces its own limit (a client
gets up to N times the rate). Cheap: one dict lookup and a few float operations per request, and
the dict is pruned of full (idle) buckets so it cannot grow without bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBucketLimiter:
    rate_per_s: float = 10.0  # steady refill
    burst: int = 20  # bucket size: requests allowed at once after idling
    max_buckets: int = 100_000  # prune idle buckets beyond this many
    clock: callable = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def __post_init__(self):
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate limit needs rate_per_s > 0 and burst >= 1")

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 if allowed, else the seconds until a token is available."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_buckets:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely is indistinguishable from a new one: forget it.
        full_after = self.burst / self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
