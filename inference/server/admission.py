"""Cost-aware admission of /v1/suggest: one client cannot stall the others.

The gateway's token bucket counts requests; a maximum-size Chinese request costs ~600 typical ones,
so counting alone lets one key stall everybody while staying within its limit. Here every request
is charged what it costs and runs where it cannot hold up cheap ones:

- **Cost units** (`request_cost`): 1 per request + characters of text and thread / 1,000 (a Han,
  kana or hangul character counts 4) + for an image 1 + 2 per megapixel it decodes to (read from its
  header, `image_preprocess.probe`; a JPEG's after its 1/8-scale draft) + 1 per MB of file. A
  typical post with a short thread is ~1.5 units, a maximum-size request 261 (English) to 1,041
  (Chinese), a 12 Mpx phone JPEG ~4, a 16 Mpx PNG ~35 (a unit is ~40 ms of one core).
- **A cost bucket per key** (`TokenBucketLimiter`, the same class as the gateway's request bucket):
  `cost_rate_per_s` units/s, `cost_burst` at once. A request costlier than the burst is admitted on
  a full bucket and leaves the key in debt, so the long-run rate holds for any mix of sizes. Over
  budget: 429 + Retry-After. A key in debt is refused before its body is read (no work for a
  refused request); a request the server then cannot queue (503) is refunded.
- **A concurrency cap per key** (`KeyedSlots`): at most `max_inflight_per_key` requests of a key
  are read and served at once; the next ones **wait** their turn in a FIFO (a burst from one page
  is served in order, not refused), up to `max_waiting_per_key` waiting, beyond which 429. A
  waiting request's body is not read (TCP back-pressure holds it), and the body timeout only runs
  once its turn comes.
- **Three lanes** with their own bounded pools: images (decoding, then the tagger and the fusion
  with the caption in image batches, all in the image pool, `image_threads`), the light text
  batches (the micro-batcher, `ServiceConfig.executor_threads`) and the heavy text lane (one
  thread) for requests whose text costs more than `heavy_cost`. A key has one expensive thing (a
  heavy text or an image) in progress at a time, the others wait in its own line: the lanes serve
  keys in turn, a key's backlog delays only that key, and one key keeps at most one core busy
  outside the light batches. The image and heavy pools' threads run at a higher nice value than
  the light batches (`ServiceConfig.background_nice`, Linux): when they compete for a core, the
  scheduler favours the light batches. Lanes' queues are bounded (503 + Retry-After).

The key is the gateway's verified key id (`request[API_KEY_ID]`); in keyless local use and in an
app without the gateway, the peer address (behind a reverse proxy that is the proxy's: put the
limits there too, or give clients keys). Like the gateway's request limit, the cost budget applies
to keyless peers too, and to nobody in an app without the gateway (tests, embedding). The
concurrency cap applies to keys only unless `cap_keyless`: keyless use is only possible on a
loopback bind, the operator's own machine, where a load generator should batch freely. The lanes
(one expensive thing per key or peer at a time) apply to everybody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator, Callable

from aiohttp import web

from inference.limits import (
    COST_BURST,
    COST_CHARS_PER_UNIT,
    COST_CJK_WEIGHT,
    COST_IMAGE_BASE,
    COST_IMAGE_UNITS_PER_MB,
    COST_IMAGE_UNITS_PER_MPX,
    COST_RATE_PER_S,
    HEAVY_COST,
    MAX_HEAVY_QUEUE,
    MAX_IMAGE_QUEUE,
    MAX_INFLIGHT_PER_KEY,
    MAX_WAITING_PER_KEY,
)
from inference.server.appkeys import API_KEY_ID
from inference.server.errors import Overloaded, RateLimited
from inference.server.ratelimit import TokenBucketLimiter
from inference.text.preprocess import clip_texts

if TYPE_CHECKING:
    from inference.server.batching import MicroBatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdmissionConfig:
    cost_rate_per_s: float = COST_RATE_PER_S  # cost units per second per key
    cost_burst: float = COST_BURST  # cost units at once after idling
    max_inflight_per_key: int = MAX_INFLIGHT_PER_KEY  # a key's requests being read or served at once
    max_waiting_per_key: int = MAX_WAITING_PER_KEY  # a key's requests waiting for a turn; beyond: 429
    heavy_cost: float = HEAVY_COST  # text cost (units) above which a request runs in the heavy lane
    max_heavy_queue: int = MAX_HEAVY_QUEUE  # requests in the heavy lane (served and waiting); beyond: 503
    max_image_queue: int = MAX_IMAGE_QUEUE  # images being decoded or waiting for a decoder; beyond: 503
    # the concurrency cap for keyless peers too (keyless local use, an app without the gateway)
    cap_keyless: bool = False

    def __post_init__(self):
        if self.cost_rate_per_s <= 0 or self.cost_burst < 1:
            raise ValueError("the cost budget needs a rate > 0 units/s and a burst >= 1 unit")
        if self.max_inflight_per_key < 1 or self.max_waiting_per_key < 0:
            raise ValueError("the per-key concurrency cap must be >= 1 (and the waiting line >= 0)")


# -- cost ----------------------------------------------------------------------------------------
# Han (with radicals, CJK punctuation and compatibility forms), kana, hangul, the astral Han planes
_CJK_RUNS = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+")


def weighted_chars(text: str) -> int:
    """Characters, a Han/kana/hangul one counting COST_CJK_WEIGHT (on the event loop: ~3 ms for 260,000)."""
    if text.isascii():
        return len(text)
    return len(text) + (COST_CJK_WEIGHT - 1) * sum(map(len, _CJK_RUNS.findall(text)))


@dataclass(frozen=True)
class Cost:
    text: float  # 1 + the characters' share: what the text batch costs
    image: float = 0.0  # decoding (+ the tagger's run): 0 without an image

    @property
    def units(self) -> float:
        return self.text + self.image


def request_cost(text: str, thread: tuple[str, ...] | list[str], image_decode_pixels: int | None = None,
                 image_bytes: int = 0) -> Cost:
    """The cost units of a request; image_decode_pixels: None without an image (0: an unreadable header).
    Its text counts as far as the text stages read it (`clip_texts`: MAX_READ_CHARS of post + thread)."""
    text, thread = clip_texts(text, thread)
    chars = weighted_chars(text) + sum(weighted_chars(m) for m in thread)
    text_units = 1.0 + chars / COST_CHARS_PER_UNIT
    if image_decode_pixels is None:
        return Cost(round(text_units, 3))
    image_units = COST_IMAGE_BASE + image_decode_pixels / 1e6 * COST_IMAGE_UNITS_PER_MPX + image_bytes / 1e6 * COST_IMAGE_UNITS_PER_MB
    return Cost(round(text_units, 3), round(image_units, 3))


# -- per-key concurrency ---------------------------------------------------------------------------
class TooManyWaiting(RateLimited):
    """A key already has its cap of requests in flight and its cap waiting."""


@dataclass
class _KeyLine:
    active: int = 0
    waiters: deque = field(default_factory=deque)


class KeyedSlots:
    """At most `per_key` holders per key; later ones wait in that key's FIFO, at most `max_waiting`."""

    def __init__(self, per_key: int, max_waiting: int, what: str = "requests", on_refuse: Callable[[], None] | None = None):
        self.per_key, self.max_waiting, self.what = per_key, max_waiting, what
        self.on_refuse = on_refuse or (lambda: None)
        self._lines: dict[str, _KeyLine] = {}

    def active(self, key: str) -> int:
        line = self._lines.get(key)
        return line.active if line else 0

    def waiting(self, key: str) -> int:
        line = self._lines.get(key)
        return len(line.waiters) if line else 0

    async def acquire(self, key: str) -> None:
        line = self._lines.setdefault(key, _KeyLine())
        if line.active < self.per_key and not line.waiters:
            line.active += 1
            return
        if len(line.waiters) >= self.max_waiting:
            self._forget_if_idle(key, line)
            self.on_refuse()
            raise TooManyWaiting(
                f"{line.active} {self.what} of this client are being served and {len(line.waiters)} are waiting "
                f"(at most {self.per_key} at once, {self.max_waiting} waiting); retry when one has finished", 1.0)
        waiter = asyncio.get_running_loop().create_future()
        line.waiters.append(waiter)
        try:
            await waiter  # release() hands its slot over: active already counts this one
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just as the client left: pass it on
                self.release(key)
            else:
                with contextlib.suppress(ValueError):
                    line.waiters.remove(waiter)
                self._forget_if_idle(key, line)
            raise

    def release(self, key: str) -> None:
        line = self._lines.get(key)
        if line is None:
            return
        while line.waiters:
            waiter = line.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: active unchanged
                return
        line.active -= 1
        self._forget_if_idle(key, line)

    def _forget_if_idle(self, key: str, line: _KeyLine) -> None:
        if line.active <= 0 and not line.waiters:
            self._lines.pop(key, None)

    @contextlib.asynccontextmanager
    async def hold(self, key: str, while_waiting: Callable[[bool], None] | None = None) -> AsyncIterator[None]:
        """`while_waiting(True)` before a wait, `(False)` once the turn has come (e.g. to pause a body timer)."""
        if while_waiting is not None and (self.active(key) >= self.per_key or self.waiting(key)):
            while_waiting(True)
            try:
                await self.acquire(key)
            finally:
                while_waiting(False)
        else:
            await self.acquire(key)
        try:
            yield
        finally:
            self.release(key)


class BoundedLane:
    """Requests in line for a pool: at most `max_queue` in the lane (served and waiting; beyond: 503),
    each holding one of `slots` (per key) while served: with `KeyedSlots(1, ...)` shared by the
    lanes, a key has one expensive thing (a heavy text or an image) in progress at a time."""

    def __init__(self, name: str, max_queue: int, slots: KeyedSlots):
        self.name, self.max_queue, self.slots = name, max_queue, slots
        self.pending = 0  # requests holding or waiting for a turn in this lane

    @contextlib.asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        if self.pending >= self.max_queue:
            raise Overloaded(f"server busy: {self.max_queue} {self.name} requests already waiting; retry shortly")
        self.pending += 1
        try:
            async with self.slots.hold(key):
                yield
        finally:
            self.pending -= 1


# -- the admission object of an app ----------------------------------------------------------------
class Admission:
    def __init__(self, config: AdmissionConfig, on_refuse: Callable[[str], None] | None = None, guarded: bool = True):
        """guarded: the app has the gateway (keyless peers are budgeted, as the gateway limits them)."""
        self.config, self.guarded = config, guarded
        self.on_refuse = on_refuse or (lambda reason: None)  # reason: "cost" or "concurrency", for /metrics
        self.budget = TokenBucketLimiter(config.cost_rate_per_s, config.cost_burst)
        concurrency = lambda: self.on_refuse("concurrency")  # noqa: E731
        self.slots = KeyedSlots(config.max_inflight_per_key, config.max_waiting_per_key, on_refuse=concurrency)
        expensive = KeyedSlots(1, config.max_waiting_per_key, what="heavy requests or images", on_refuse=concurrency)
        self.heavy = BoundedLane("heavy", config.max_heavy_queue, expensive)
        self.images = BoundedLane("image", config.max_image_queue, expensive)

    @staticmethod
    def client_key(request: web.Request) -> str:
        key_id = request.get(API_KEY_ID)
        if key_id is not None:
            return f"key:{key_id}"
        return f"peer:{request.remote or 'unknown'}"

    def _budget_message(self, cost: float | None, wait_s: float) -> str:
        c = self.config
        what = f"this request costs {cost:g} units; " if cost is not None else "this client is over it; "
        return (f"cost budget of {c.cost_rate_per_s:g} units/s (burst {c.cost_burst:g}; a typical post is ~1.5 units, "
                f"+1 per 1,000 characters, +2 per megapixel of image) exceeded: {what}retry in {wait_s:.2f} s")

    def budgeted(self, key: str) -> bool:
        """Keys, and keyless peers behind the gateway."""
        return self.guarded or key.startswith("key:")

    def capped(self, key: str) -> bool:
        """Keys, and keyless peers if cap_keyless."""
        return self.config.cap_keyless or key.startswith("key:")

    @contextlib.asynccontextmanager
    async def turn(self, key: str, while_waiting: Callable[[bool], None] | None = None) -> AsyncIterator[None]:
        """The key's concurrency cap: its requests beyond it wait here (FIFO), beyond the waiting line 429."""
        if not self.capped(key):
            yield
            return
        async with self.slots.hold(key, while_waiting):
            yield

    def refuse_if_in_debt(self, key: str) -> None:
        """429 before the body is read when the key cannot afford even the cheapest request."""
        if not self.budgeted(key):
            return
        wait_s = self.budget.wait_s(key, 1.0)
        if wait_s > 0:
            self.on_refuse("cost")
            raise RateLimited(self._budget_message(None, wait_s), wait_s)

    def charge(self, key: str, cost: Cost) -> None:
        if not self.budgeted(key):
            return
        wait_s = self.budget.acquire(key, cost.units)
        if wait_s > 0:
            self.on_refuse("cost")
            raise RateLimited(self._budget_message(cost.units, wait_s), wait_s)

    def refund(self, key: str, cost: Cost) -> None:
        if self.budgeted(key):
            self.budget.refund(key, cost.units)

    def is_heavy(self, cost: Cost) -> bool:
        return cost.text > self.config.heavy_cost


def lower_thread_priority(increment: int) -> None:
    """A pool initializer: the calling thread's nice value raised by `increment` (Linux, where nice is
    per thread; elsewhere a no-op, since it would slow the whole process)."""
    if increment <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except (OSError, AttributeError) as exc:
        log.debug("could not lower the priority of a background thread: %s", exc)


# -- this module's app keys (inference/server/appkeys.py holds the core's) ----------------------------
ADMISSION: web.AppKey[Admission] = web.AppKey("admission", Admission)
HEAVY_BATCHER: web.AppKey["MicroBatcher"] = web.AppKey("heavy_batcher")
IMAGE_BATCHER: web.AppKey["MicroBatcher"] = web.AppKey("image_batcher")
IMAGE_EXECUTOR: web.AppKey[ThreadPoolExecutor] = web.AppKey("image_executor", ThreadPoolExecutor)
