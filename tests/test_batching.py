"""Micro-batching merges concurrent requests into one call; a full queue answers 503 + Retry-After."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inference.server.app import ServiceConfig, create_app
from inference.server.appkeys import BATCHER
from inference.server.batching import BatchConfig, MicroBatcher
from inference.server.errors import Overloaded
from inference.runtime.suggester import Suggester
from service_fixtures import write_models_dir


class Gate:
    """Holds the first batch inside the executor until released, so later requests pile up."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def wait(self):
        self.entered.set()
        assert self.release.wait(10), "test forgot to release the gate"

    async def until_entered(self):
        while not self.entered.is_set():
            await asyncio.sleep(0.005)


async def until(condition, timeout=5.0):
    for _ in range(int(timeout / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


@pytest.fixture
async def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


async def test_requests_arriving_while_a_batch_runs_form_one_batch(executor):
    gate, sizes = Gate(), []

    def run_batch(items):
        sizes.append(len(items))
        if len(sizes) == 1:
            gate.wait()
        return [item * 10 for item in items]

    batcher = MicroBatcher(run_batch, executor, BatchConfig(max_batch_size=8, max_wait_ms=1, max_queue=16))
    batcher.start()
    first = asyncio.create_task(batcher.submit(0))
    await gate.until_entered()
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 6)]
    await until(lambda: batcher.depth == 5)
    gate.release.set()
    assert await asyncio.gather(first, *rest) == [0, 10, 20, 30, 40, 50]
    assert sizes == [1, 5]
    await batcher.stop()


async def test_batches_never_exceed_the_maximum_size(executor):
    sizes = []
    gate = Gate()

    def run_batch(items):
        sizes.append(len(items))
        if len(sizes) == 1:
            gate.wait()
        return items

    batcher = MicroBatcher(run_batch, executor, BatchConfig(max_batch_size=4, max_wait_ms=1, max_queue=64))
    batcher.start()
    first = asyncio.create_task(batcher.submit(-1))
    await gate.until_entered()
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(10)]
    await until(lambda: batcher.depth == 10)
    gate.release.set()
    assert await asyncio.gather(*rest) == list(range(10))
    assert sizes == [1, 4, 4, 2]
    await first
    await batcher.stop()


async def test_the_first_request_waits_up_to_max_wait_for_company(executor):
    sizes = []

    def run_batch(items):
        sizes.append(len(items))
        return items

    batcher = MicroBatcher(run_batch, executor, BatchConfig(max_batch_size=8, max_wait_ms=200, max_queue=8))
    batcher.start()
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0.02)  # well inside the 200 ms window
    second = asyncio.create_task(batcher.submit(2))
    assert await asyncio.gather(first, second) == [1, 2]
    assert sizes == [2]
    await batcher.stop()


async def test_a_full_queue_raises_overloaded_instead_of_growing(executor):
    gate = Gate()
    batcher = MicroBatcher(lambda items: (gate.wait(), items)[1], executor, BatchConfig(max_batch_size=8, max_queue=3))
    batcher.start()
    first = asyncio.create_task(batcher.submit(0))
    await gate.until_entered()
    queued = [asyncio.create_task(batcher.submit(i)) for i in range(1, 4)]
    await until(lambda: batcher.depth == 3)
    with pytest.raises(Overloaded) as refused:
        await batcher.submit(99)
    assert refused.value.headers["Retry-After"] == "1"
    gate.release.set()
    assert await asyncio.gather(first, *queued) == [0, 1, 2, 3]
    await batcher.stop()


async def test_a_failing_batch_fails_each_of_its_requests(executor):
    def run_batch(items):
        raise ValueError("model exploded")

    batcher = MicroBatcher(run_batch, executor, BatchConfig())
    batcher.start()
    with pytest.raises(ValueError, match="exploded"):
        await batcher.submit(1)
    await batcher.stop()


# -- through the HTTP server --------------------------------------------------------------------------


class GatedSuggester(Suggester):
    """The real suggester whose first batch waits on a gate (the test decides when it finishes)."""

    def __init__(self, models, gate: Gate):
        super().__init__(models)
        self.gate, self.calls = gate, 0

    def suggest_batch(self, requests):
        self.calls += 1
        if self.calls == 1:
            self.gate.wait()
        return super().suggest_batch(requests)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"), langs=("en",))


async def start_gated(aiohttp_client, models_dir, **config):
    gate = Gate()
    suggester = GatedSuggester(Suggester.from_models_dir(models_dir).models, gate)
    client = await aiohttp_client(create_app(ServiceConfig(**config), suggester=suggester))
    return client, gate


async def test_concurrent_http_requests_are_merged_and_visible_in_metrics(aiohttp_client, models_dir):
    client, gate = await start_gated(aiohttp_client, models_dir, max_batch_size=16, max_wait_ms=1)
    batcher = client.server.app[BATCHER]
    first = asyncio.create_task(client.post("/v1/suggest", json={"text": "australian open"}))
    await gate.until_entered()
    texts = ["new iphone", "nba finals", "inflation", "nadal", "summer beach", "apple"]
    rest = [asyncio.create_task(client.post("/v1/suggest", json={"text": t, "k": 1})) for t in texts]
    await until(lambda: batcher.depth == len(texts))
    depth_line = re.search(r"^tagsmith_queue_depth (\S+)$", await (await client.get("/metrics")).text(), re.M)
    assert float(depth_line.group(1)) == len(texts)
    gate.release.set()
    responses = await asyncio.gather(first, *rest)
    assert [r.status for r in responses] == [200] * 7
    tags = [(await r.json())["suggestions"][0]["tag"] for r in responses[1:]]
    assert tags == ["#iPhone", "#NBAFinals", "#Inflation", "#Nadal", "#Summer", "#Apple"]
    metrics = await (await client.get("/metrics")).text()
    assert "tagsmith_batch_size_count 2.0" in metrics  # 7 requests, 2 calls
    assert "tagsmith_batch_size_sum 7.0" in metrics
    assert 'tagsmith_batch_size_bucket{le="4.0"} 1.0' in metrics  # the 1, not the 6
    assert 'tagsmith_batch_size_bucket{le="8.0"} 2.0' in metrics


async def test_a_flood_beyond_the_queue_gets_503_with_retry_after(aiohttp_client, models_dir):
    client, gate = await start_gated(aiohttp_client, models_dir, max_queue=4, max_batch_size=8)
    batcher = client.server.app[BATCHER]
    first = asyncio.create_task(client.post("/v1/suggest", json={"text": "australian open"}))
    await gate.until_entered()
    queued = [asyncio.create_task(client.post("/v1/suggest", json={"text": "iphone"})) for _ in range(4)]
    await until(lambda: batcher.depth == 4)
    refused = await asyncio.gather(*(client.post("/v1/suggest", json={"text": "nadal"}) for _ in range(5)))
    for response in refused:
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert (await response.json())["error"]["code"] == "overloaded"
    gate.release.set()
    assert [r.status for r in await asyncio.gather(first, *queued)] == [200] * 5
    metrics = await (await client.get("/metrics")).text()
    assert 'tagsmith_http_requests_total{method="POST",route="/v1/suggest",status="503"} 5.0' in metrics
    assert "tagsmith_queue_rejected_total 5.0" in metrics
