"""Log floods: the same message (a failed accept, an unhandled error) is logged once per interval,
then with a count of those suppressed (`RateLimitFilter`, installed by `tagsmith serve`)."""

from __future__ import annotations

import logging
import time

class RateLimitFilter(logging.Filter):
    """The same message (logger + format string) passes once per `interval_s`; the next one to pass
    says how many were suppressed in between."""

    def __init__(self, interval_s: float = 10.0, clock=time.monotonic):
        super().__init__()
        self.interval_s, self.clock = interval_s, clock
        self._seen: dict[tuple[str, str], list] = {}  # key -> [last passed at, suppressed since]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).split("\n", 1)[0][:200])
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.interval_s:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} [{seen[1]} more like this in the last {now - seen[0]:.0f} s not logged]"
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = [now, 0]
        return True


FLOOD_LOGGERS = ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.internal", "inference.server.errors")


def install_log_rate_limit(interval_s: float = 10.0, loggers=FLOOD_LOGGERS) -> RateLimitFilter:
    """Rate-limit the loggers that log per connection or per failed accept (idempotent)."""
    existing = next((f for f in logging.getLogger(loggers[0]).filters if isinstance(f, RateLimitFilter)), None)
    if existing is not None:
        return existing
    limiter = RateLimitFilter(interval_s)
    for name in loggers:
        logging.getLogger(name).addFilter(limiter)
    return limiter
