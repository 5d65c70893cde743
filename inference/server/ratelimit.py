"""Per-key token buckets, in memory: the one token bucket of the service.

The gateway charges one token per request (requests/s); admission (inference/server/admission.py)
charges a request's cost units (cost/s) from its own limiter of this class. A charge larger than the
bucket is admitted on a full bucket and leaves the key in debt (negative tokens) until the refill
has paid it back, so the long-run rate never exceeds `rate_per_s` whatever the mix of sizes, and a
valid request is never refused forever for being larger than the burst.

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
    burst: float = 20  # bucket size: tokens available at once after idling
    max_buckets: int = 100_000  # prune idle buckets beyond this many
    clock: callable = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def __post_init__(self):
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate limit needs rate_per_s > 0 and burst >= 1")

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens for `key`: 0.0 if allowed, else the seconds until it would be.

        Allowed when the bucket holds min(cost, burst) tokens; the whole cost is taken (the bucket
        may go negative: debt)."""
        bucket = self._refill(key)
        need = min(float(cost), float(self.burst))
        if bucket.tokens >= need:
            bucket.tokens -= cost
            return 0.0
        return (need - bucket.tokens) / self.rate_per_s

    def wait_s(self, key: str, cost: float = 1.0) -> float:
        """Seconds until `acquire(key, cost)` would be allowed (0.0: now); takes nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(float(self.burst), bucket.tokens + (self.clock() - bucket.updated) * self.rate_per_s)
        need = min(float(cost), float(self.burst))
        return 0.0 if tokens >= need else (need - tokens) / self.rate_per_s

    def refund(self, key: str, cost: float) -> None:
        """Give back tokens taken for a request that was then not served (e.g. the queue was full)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(float(self.burst), bucket.tokens + cost)

    def _refill(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_buckets:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
        return bucket

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely (debt included) is indistinguishable from a new one: forget it.
        burst, rate = float(self.burst), self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if b.tokens + (now - b.updated) * rate < burst}
