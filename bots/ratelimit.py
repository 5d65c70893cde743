"""Per-chat / per-guild rate limiting: a token bucket per key, in memory.

`burst` requests are allowed at once; the bucket refills evenly over `window_s` seconds, so at
most `burst` requests pass in any `window_s` seconds after the first burst. Past the limit the
bots answer once (`notice_due`) and then stay silent until the window has passed.
"""

from __future__ import annotations

import time
from dataclasses import InitVar, dataclass, field

from bots import defaults


@dataclass
class RateLimiter:
    burst: int = defaults.RATE_BURST  # requests allowed at once
    window_s: float = defaults.RATE_WINDOW_S  # seconds over which `burst` tokens refill
    max_keys: int = defaults.RATE_MAX_KEYS  # forget the oldest buckets beyond this
    per_s: InitVar[float | None] = None  # the old name of window_s (it never was a rate); kept for old callers
    _buckets: dict[object, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, stamp)
    _notices: dict[object, float] = field(default_factory=dict)  # key -> when the last notice was allowed

    def __post_init__(self, per_s: float | None) -> None:
        if per_s is not None:
            self.window_s = per_s
        if self.burst < 1 or self.window_s <= 0:
            raise ValueError("a rate limit needs burst >= 1 and window_s > 0")

    def hit(self, key: object, now: float | None = None) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until the next token."""
        now = time.monotonic() if now is None else now
        rate = self.burst / self.window_s  # tokens per second
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / rate
        self._forget_oldest(self._buckets)
        return wait

    def notice_due(self, key: object, now: float | None = None) -> bool:
        """True at most once per `window_s` for `key`: whether a refused request may be told so."""
        now = time.monotonic() if now is None else now
        last = self._notices.pop(key, None)
        if last is not None and now - last < self.window_s:
            self._notices[key] = last
            return False
        self._notices[key] = now
        self._forget_oldest(self._notices)
        return True

    def _forget_oldest(self, table: dict) -> None:
        while len(table) > self.max_keys:  # dicts keep insertion order: oldest first
            table.pop(next(iter(table)))
