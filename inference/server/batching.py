"""Micro-batching: concurrent requests merged into one blocking call run in a thread pool.

Requests wait in a bounded queue. A collector takes the first waiting request, then keeps taking
more until it has `max_batch_size` or `max_wait_ms` has passed, and hands the batch to
`run_batch` in the executor. At most `max_inflight` batches run at once; while they run, new
requests pile up, so the next batch is bigger exactly when the service is busy. A full queue
raises `Overloaded` (503 + Retry-After) instead of growing memory without limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

from inference.server.errors import Overloaded

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class BatchConfig:
    max_batch_size: int = 32
    # how long the first request of a batch waits for company. 0: none; with one batch in flight at a
    # time, requests arriving while a batch runs still merge into the next one, so waiting only
    # delays a lone request (2 ms at concurrency 1, docs/performance.md)
    max_wait_ms: float = 0.0
    max_queue: int = 256  # requests waiting (not counting those in flight); beyond: 503
    max_inflight: int = 1  # batches running at once (each one uses the onnxruntime threads)


class MicroBatcher(Generic[In, Out]):
    def __init__(
        self,
        run_batch: Callable[[list[In]], Sequence[Out]],
        executor: Executor,
        config: BatchConfig,
        on_batch: Callable[[int, float], None] | None = None,  # (batch size, seconds) for metrics
        on_depth: Callable[[int], None] | None = None,  # queue depth after every change
        on_reject: Callable[[], None] | None = None,  # a request refused: queue full
    ):
        self.run_batch = run_batch
        self.executor = executor
        self.config = config
        self.on_batch = on_batch or (lambda size, seconds: None)
        self.on_depth = on_depth or (lambda depth: None)
        self.on_reject = on_reject or (lambda: None)
        self._queue: asyncio.Queue[tuple[In, asyncio.Future]] = asyncio.Queue(maxsize=config.max_queue)
        self._inflight = asyncio.Semaphore(config.max_inflight)
        self._collector: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._collector = asyncio.create_task(self._collect_forever(), name="micro-batcher")

    async def stop(self) -> None:
        if self._collector is not None:
            self._collector.cancel()
            await asyncio.gather(self._collector, return_exceptions=True)
        await asyncio.gather(*self._running, return_exceptions=True)
        while not self._queue.empty():  # anyone still waiting hears why
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(Overloaded("the service is shutting down"))

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    # -- request side ----------------------------------------------------------------------------
    async def submit(self, item: In) -> Out:
        """Queue one item and wait for its result; raises `Overloaded` when the queue is full."""
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((item, future))
        except asyncio.QueueFull:
            self.on_reject()
            raise Overloaded(
                f"server busy: {self.config.max_queue} requests already waiting; retry shortly"
            ) from None
        self.on_depth(self._queue.qsize())
        return await future  # a cancelled request (client gone) cancels the future: skipped below

    # -- batch side ------------------------------------------------------------------------------
    async def _collect_forever(self) -> None:
        while True:
            await self._inflight.acquire()
            try:
                batch = await self._collect_one_batch()
            except BaseException:
                self._inflight.release()
                raise
            task = asyncio.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _collect_one_batch(self) -> list[tuple[In, asyncio.Future]]:
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self.config.max_wait_ms / 1000
        while len(batch) < self.config.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        self.on_depth(self._queue.qsize())
        return [(item, future) for item, future in batch if not future.done()]

    async def _run(self, batch: list[tuple[In, asyncio.Future]]) -> None:
        try:
            if not batch:
                return
            items = [item for item, _ in batch]
            start = time.perf_counter()
            loop = asyncio.get_running_loop()
            try:
                results: Sequence[Any] = await loop.run_in_executor(self.executor, self.run_batch, items)
                if len(results) != len(items):
                    raise RuntimeError(f"run_batch returned {len(results)} results for {len(items)} items")
            except Exception as exc:  # the whole batch fails together; each request sees the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            self.on_batch(len(items), time.perf_counter() - start)
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)
        finally:
            self._inflight.release()
