"""Cost-aware admission: requests are charged what they cost, a key waits its turn beyond its
concurrency cap, images and heavy texts never hold up a light text batch, pixel bombs are refused
from their header, and a large image's memory is given back."""

from __future__ import annotations

import asyncio
import io
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.limits import MAX_DECODE_PIXELS, MAX_READ_CHARS
from inference.runtime.image_preprocess import ImageTooLarge, preprocess, probe
from inference.runtime.suggester import Suggester
from inference.server.admission import ADMISSION, AdmissionConfig, KeyedSlots, TooManyWaiting, request_cost, weighted_chars
from inference.server.app import ServiceConfig, create_app
from inference.server.appkeys import BATCHER
from inference.server.gateway import GatewayConfig
from inference.server.keys import create_key
from inference.server.ratelimit import TokenBucketLimiter
from inference.server.store import Store
from service_fixtures import write_models_dir
from test_image_service import RED, write_tiny_tagger


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# -- cost units and the bucket -----------------------------------------------------------------------
def test_cost_units_grow_with_text_thread_and_pixels():
    typical = request_cost("Watching the final set at the Australian Open tonight", ["what a match"] * 5)
    assert 1.0 < typical.units < 1.5 and typical.image == 0
    # a text counts as far as the text stages read it: MAX_READ_CHARS of post + thread
    assert request_cost("x" * 10_000, ["y" * 5_000] * 50).units == pytest.approx(1 + MAX_READ_CHARS / 1_000)
    assert request_cost("澳" * 10_000, ["网" * 5_000] * 50).units == pytest.approx(1 + 4 * MAX_READ_CHARS / 1_000)  # Han counts 4x
    assert request_cost("x" * 3_000, ["y" * 2_000] * 2).units == pytest.approx(8)
    assert weighted_chars("abc 澳网 한국 カナ") == 4 + 2 * 4 + 1 + 2 * 4 + 1 + 2 * 4
    photo = request_cost("photo", [], image_decode_pixels=12_000_000 // 64, image_bytes=3_000_000)  # a drafted phone JPEG
    bomb = request_cost("photo", [], image_decode_pixels=MAX_DECODE_PIXELS, image_bytes=80_000)
    assert photo.image < 5 < 30 < bomb.image


def test_a_charge_larger_than_the_bucket_is_admitted_when_full_and_leaves_a_debt():
    clock = FakeClock()
    bucket = TokenBucketLimiter(rate_per_s=10, burst=20, clock=clock)
    assert bucket.acquire("k", 100) == 0.0  # a valid request bigger than the burst is never refused forever
    assert bucket.acquire("k", 1) == pytest.approx(8.1)  # the debt (80) plus one token, at 10/s
    assert bucket.wait_s("k", 1) == pytest.approx(8.1)  # asking takes nothing
    clock.now += 8.1
    assert bucket.acquire("k", 1) == 0.0
    assert bucket.acquire("k", 5) > 0  # nothing left
    bucket.refund("k", 5)
    assert bucket.acquire("k", 5) == 0.0
    clock.now += 1000  # full again, never beyond
    assert bucket.acquire("k", 20) == 0.0 and bucket.acquire("k", 1) > 0


# -- through the server: keys, budget, concurrency --------------------------------------------------------
@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = write_models_dir(tmp_path_factory.mktemp("models"), langs=("en",))
    write_tiny_tagger(root / "image")
    return root


def keys(data_dir: Path, n: int) -> list[dict[str, str]]:
    store = Store(data_dir)
    try:
        return [{"Authorization": f"Bearer {create_key(store, f'k{i}')[1]}"} for i in range(n)]
    finally:
        store.close()


def guarded(models_dir: Path, data_dir: Path, suggester=None, **admission):
    config = ServiceConfig(models_dir=models_dir, max_wait_ms=1, gateway=GatewayConfig(data_dir=data_dir),
                           admission=AdmissionConfig(**admission))
    return create_app(config, suggester=suggester)


LONG_TEXT = {"text": "Nadal wins the Australian Open final " * 250, "thread": ["what a match " * 380] * 4}  # 9 units (MAX_READ_CHARS read)


async def test_an_expensive_burst_gets_429_with_retry_after_while_cheap_requests_pass(aiohttp_client, models_dir, tmp_path):
    cheap_key, costly_key = keys(tmp_path, 2)
    client = await aiohttp_client(guarded(models_dir, tmp_path, cost_rate_per_s=1.0, cost_burst=10.0))
    # the same number of requests, well within the gateway's 10 requests/s, burst 20
    cheap = [await client.post("/v1/suggest", json={"text": "new iphone", "k": 3}, headers=cheap_key) for _ in range(6)]
    assert [r.status for r in cheap] == [200] * 6
    costly = [await client.post("/v1/suggest", json=LONG_TEXT, headers=costly_key) for _ in range(6)]
    assert [r.status for r in costly[:1]] == [200]
    refused = costly[1:]
    assert all(r.status == 429 for r in refused), [r.status for r in refused]
    body = await refused[0].json()
    assert body["error"]["code"] == "rate_limited" and "cost budget" in body["error"]["message"]
    assert int(refused[0].headers["Retry-After"]) >= 5  # 9 units at 1 unit/s, less the 1 left
    # the cheap key is unaffected, and still cheap
    assert (await client.post("/v1/suggest", json={"text": "nba finals"}, headers=cheap_key)).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert 'tagsmith_admission_refused_total{reason="cost"} 5.0' in metrics
    assert "tagsmith_request_cost_units_count 8.0" in metrics


async def test_a_key_in_debt_is_refused_before_its_body_is_read(aiohttp_client, models_dir, tmp_path):
    [key] = keys(tmp_path, 1)
    client = await aiohttp_client(guarded(models_dir, tmp_path, cost_rate_per_s=1.0, cost_burst=5.0))
    assert (await client.post("/v1/suggest", json=LONG_TEXT, headers=key)).status == 200  # 9 units over a burst of 5: in debt

    async def never_ending_body():
        yield b'{"text": "'
        await asyncio.sleep(30)  # a body that would take 30 s: the answer must not wait for it

    start = time.perf_counter()
    response = await client.post("/v1/suggest", data=never_ending_body(), headers={**key, "Content-Type": "application/json"})
    assert response.status == 429 and time.perf_counter() - start < 5


async def test_keyless_peers_are_budgeted_behind_the_gateway_and_nobody_without_it(aiohttp_client, models_dir, tmp_path):
    """Like the gateway's request limit: keyless local use is limited per peer address; an app without
    the gateway (tests, embedding) is not limited."""
    client = await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir, admission=AdmissionConfig(cost_rate_per_s=1, cost_burst=5))))
    assert [(await client.post("/v1/suggest", json=LONG_TEXT)).status for _ in range(3)] == [200] * 3
    client = await aiohttp_client(guarded(models_dir, tmp_path, cost_rate_per_s=1, cost_burst=5))  # no key exists: keyless
    assert [(await client.post("/v1/suggest", json=LONG_TEXT)).status for _ in range(2)] == [200, 429]


def test_the_cost_budget_follows_the_request_limit_unless_set():
    from inference.cli import build_parser
    from inference.server.serve import admission_from_args

    parse = lambda *a: admission_from_args(build_parser().parse_args(["serve", *a]))["admission"]  # noqa: E731
    assert (parse().cost_rate_per_s, parse().cost_burst) == (20.0, 60.0)
    lifted = parse("--rate-limit", "100000", "--rate-burst", "100000")  # what benchmarks and tests do
    assert (lifted.cost_rate_per_s, lifted.cost_burst) == (200000.0, 300000.0)
    apart = parse("--rate-limit", "100000", "--cost-rate", "5", "--cost-burst", "50", "--cap-keyless")
    assert (apart.cost_rate_per_s, apart.cost_burst, apart.cap_keyless) == (5.0, 50.0, True)


class Gate:
    def __init__(self):
        self.entered, self.release = threading.Event(), threading.Event()

    def wait(self):
        self.entered.set()
        assert self.release.wait(30), "gate never released"

    async def until_entered(self):
        for _ in range(3000):
            if self.entered.is_set():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("never entered")


class GatedSuggester(Suggester):
    """Batches holding `word` in a text wait on the gate."""

    def __init__(self, models, word: str, gate: Gate, **kwargs):
        super().__init__(models, **kwargs)
        self.word, self.gate = word, gate

    def suggest_batch(self, requests):
        if any(self.word in r.text for r in requests):
            self.gate.wait()
        return super().suggest_batch(requests)


async def until(condition, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        await asyncio.sleep(0.01)


async def test_a_key_over_its_concurrency_cap_waits_its_turn_and_other_keys_do_not(aiohttp_client, models_dir, tmp_path):
    """Design: beyond max_inflight_per_key a key's requests wait (FIFO, bodies unread), not refused;
    beyond max_waiting_per_key waiting ones, 429."""
    gate = Gate()
    suggester = GatedSuggester(Suggester.from_models_dir(models_dir).models, "blocked", gate)
    key_a, key_b = keys(tmp_path, 2)
    client = await aiohttp_client(guarded(models_dir, tmp_path, suggester, max_inflight_per_key=1, max_waiting_per_key=1))
    admission, batcher = client.server.app[ADMISSION], client.server.app[BATCHER]
    first = asyncio.create_task(client.post("/v1/suggest", json={"text": "blocked nadal"}, headers=key_a))
    await gate.until_entered()
    second = asyncio.create_task(client.post("/v1/suggest", json={"text": "new iphone"}, headers=key_a))
    await until(lambda: sum(admission.slots.waiting(k) for k in list(admission.slots._lines)) == 1)
    assert batcher.depth == 0  # waiting for its key's turn, not queued for a batch
    third = await client.post("/v1/suggest", json={"text": "inflation"}, headers=key_a)
    assert third.status == 429 and "waiting" in (await third.json())["error"]["message"]
    assert third.headers["Retry-After"] == "1"
    assert 'tagsmith_admission_refused_total{reason="concurrency"} 1.0' in await (await client.get("/metrics")).text()
    other = asyncio.create_task(client.post("/v1/suggest", json={"text": "nba finals"}, headers=key_b))
    await until(lambda: batcher.depth == 1)  # another key is not held back by key a's cap
    gate.release.set()
    responses = await asyncio.gather(first, second, other)
    assert [r.status for r in responses] == [200, 200, 200]
    assert (await responses[1].json())["suggestions"][0]["tag"] == "#iPhone"


async def test_keyed_slots_hand_the_turn_over_in_order_and_forget_cancelled_waiters():
    slots = KeyedSlots(1, 5)
    await slots.acquire("k")
    order = []

    async def waiter(name):
        await slots.acquire("k")
        order.append(name)

    a, b, c = (asyncio.create_task(waiter(n)) for n in "abc")
    await asyncio.sleep(0.01)
    b.cancel()
    await asyncio.sleep(0.01)
    assert slots.waiting("k") == 2
    slots.release("k")
    await a
    slots.release("k")
    await c
    assert order == ["a", "c"] and slots.active("k") == 1
    slots.release("k")
    assert slots.active("k") == 0 and slots._lines == {}
    full = KeyedSlots(1, 0)
    await full.acquire("k")
    with pytest.raises(TooManyWaiting):
        await full.acquire("k")


# -- lanes: an image decode or a heavy text never blocks a light batch ------------------------------------
class SlowDecodeTagger:
    """Wraps the tiny tagger: decoding (preprocess, and `see`, which decodes and runs the graph) blocks
    on the gate (a slow decoder)."""

    def __init__(self, tagger, gate: Gate):
        self._tagger, self.gate = tagger, gate

    def preprocess(self, data):
        self.gate.wait()
        return self._tagger.preprocess(data)

    def see(self, data):
        self.gate.wait()
        return self._tagger.see(data)

    def __getattr__(self, name):
        return getattr(self._tagger, name)


async def test_an_image_decode_never_blocks_a_text_batch(aiohttp_client, models_dir, tmp_path):
    real = Suggester.from_models_dir(models_dir)
    gate = Gate()
    suggester = Suggester(real.models, image_tagger=SlowDecodeTagger(real.image_tagger, gate))
    client = await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir, max_wait_ms=1, image_threads=1), suggester=suggester))
    import base64

    photos = [asyncio.create_task(client.post("/v1/suggest", json={"image": base64.b64encode(RED).decode(), "k": 3}))
              for _ in range(2)]
    await gate.until_entered()  # the one decoder thread is stuck
    for text, tag in (("new iphone", "#iPhone"), ("nba finals", "#NBAFinals")):
        response = await asyncio.wait_for(client.post("/v1/suggest", json={"text": text}), 10)
        assert response.status == 200 and (await response.json())["suggestions"][0]["tag"] == tag
    assert not any(p.done() for p in photos)
    gate.release.set()
    assert [r.status for r in await asyncio.gather(*photos)] == [200, 200]
    assert [(await r.json())["suggestions"][0]["tag"] for r in [p.result() for p in photos]] == ["#Red", "#Red"]


async def test_a_heavy_text_runs_in_its_own_lane_and_a_light_batch_passes_it(aiohttp_client, models_dir, tmp_path):
    gate = Gate()
    suggester = GatedSuggester(Suggester.from_models_dir(models_dir).models, "Australian Open", gate)
    client = await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir, max_wait_ms=1, admission=AdmissionConfig(heavy_cost=4)),
                                             suggester=suggester))
    heavy_body = {"text": "Nadal at the Australian Open " * 200}  # ~6.8 units: the heavy lane
    heavy = asyncio.create_task(client.post("/v1/suggest", json=heavy_body))
    await gate.until_entered()
    response = await asyncio.wait_for(client.post("/v1/suggest", json={"text": "new iphone"}), 10)
    assert response.status == 200 and not heavy.done()
    gate.release.set()
    assert (await heavy).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert "tagsmith_heavy_duration_seconds_count 1.0" in metrics and "tagsmith_batch_size_sum 1.0" in metrics


# -- images: bombs refused from the header, large ones decoded small, memory given back -------------------
@pytest.fixture
def no_full_decode(monkeypatch):
    """Any pixel decode fails the test."""
    from PIL import ImageFile

    def refuse(self):
        raise AssertionError(f"decoded a {self.size} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.fixture(scope="module")
def thin_bomb() -> bytes:
    """The audit's repro: a 49,000,000 x 1 RGBA PNG, 190 kB that decoded to 196 MB (and ~935 MB on the way)."""
    return png(Image.new("RGBA", (49_000_000, 1), (10, 200, 30, 128)))


@pytest.mark.parametrize("size", [(6000, 6000), (70_000, 10), (4097, 4097)])
def test_a_pixel_bomb_is_refused_from_its_header(size, no_full_decode):
    with pytest.raises(ImageTooLarge) as info:  # under the 50 Mpx limit, over what is decoded at full size
        preprocess(png(Image.new("1", size)), resize="squash")
    assert info.value.status == 413 and "pixels" in info.value.message


def test_the_thin_png_of_the_audit_is_refused_from_its_header(thin_bomb, no_full_decode):
    with pytest.raises(ImageTooLarge, match="49000000x1"):
        preprocess(thin_bomb, resize="squash")


async def test_a_pixel_bomb_gets_413_through_the_server_without_decoding(aiohttp_client, models_dir, thin_bomb, no_full_decode):
    import aiohttp

    client = await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir)))
    form = aiohttp.FormData()
    form.add_field("text", "x")
    form.add_field("image", thin_bomb, filename="thin.png", content_type="image/png")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 413
    body = await response.json()
    assert body["error"]["code"] == "image_too_large" and "49000000x1" in body["error"]["message"]


def test_a_large_jpeg_is_decoded_at_an_eighth_and_a_large_png_is_reduced_before_conversion():
    out = io.BytesIO()
    Image.new("RGB", (8000, 6000), (200, 30, 30)).save(out, "JPEG")
    header = probe(out.getvalue())
    assert (header.width, header.height) == (8000, 6000) and (header.decode_width, header.decode_height) == (1000, 750)
    x = preprocess(out.getvalue(), resize="squash")
    assert x.shape == (3, 224, 224) and x[0].mean() > 0.5
    # 16-bit greyscale and palette-with-transparency still come out right after the reduce
    grey = png(Image.fromarray(np.full((3000, 3000), 65535 // 2, dtype=np.uint16)))
    assert abs(float(preprocess(grey, resize="squash").mean()) - (127.5 - 127) / 128) < 0.02
    pal = Image.new("P", (3000, 3000), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    assert preprocess(png_with_transparency(pal), resize="squash").min() > 0.99  # all transparent: white


def png_with_transparency(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", transparency=0)
    return out.getvalue()


def test_a_small_image_is_preprocessed_exactly_as_before():
    """Images under 3x the input size are not reduced: the pixels the models were trained on."""
    from inference.runtime.image_preprocess import normalise, open_image, resize_squash

    data = png(Image.effect_noise((600, 500), 60).convert("RGB"))
    np.testing.assert_array_equal(preprocess(data, resize="squash"), normalise(resize_squash(open_image(data))))


def _status_mb(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    return int(text.split(f"{field}:")[1].split()[0]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self (Linux)")
def test_a_large_image_costs_a_bounded_peak_and_its_memory_is_given_back():
    data = png(Image.new("RGBA", (4096, 4096), (30, 120, 200, 160)))  # the largest decoded at full size: 67 MB as RGBA
    preprocess(png(Image.new("RGBA", (800, 800))), resize="squash")  # imports and first allocations
    before = _status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM, the peak
    except OSError:
        pytest.skip("cannot reset the peak RSS here (/proc/self/clear_refs)")
    x = preprocess(data, resize="squash")
    peak, after = _status_mb("VmHWM"), _status_mb("VmRSS")
    assert x.shape == (3, 224, 224)
    assert peak - before < 200, f"peak +{peak - before:.0f} MB"  # the frame + one RGBa copy, not ~4 copies
    assert after - before < 30, f"kept +{after - before:.0f} MB"
