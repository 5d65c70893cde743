"""The aiohttp core service: app factory and routes (request validation: inference/server/validation.py).

    app = create_app(ServiceConfig(models_dir="inference/models"), extensions=[my_setup])

Models are opened in a `cleanup_ctx` (in the thread pool), suggestions are computed in a bounded
`ThreadPoolExecutor` through the micro-batcher, never on the event loop. /v1/suggest is admitted by
cost (inference/server/admission.py: a per-key cost budget and concurrency cap) and runs in one of
three lanes with their own pools: images (decoding, tagging), light text batches, heavy text
requests; a body must arrive within `body_timeout_s` (inference/server/connections.py). An extension is a
callable `setup(app)` run after the core routes exist: it may add routes, middlewares (they run
inside the core error and metrics middlewares), cleanup contexts and OpenAPI path items.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from aiohttp import web

from inference.limits import BODY_TIMEOUT_S, IMAGE_THREADS, KEEPALIVE_TIMEOUT_S, MAX_BODY_BYTES
from inference.server.access_log import access_log_middleware
from inference.server.appkeys import BATCHER, CONFIG, EXECUTOR, METRICS, OPENAPI_PATHS, POSTPROCESSORS, SUGGESTER
from inference.server.admission import (ADMISSION, HEAVY_BATCHER, IMAGE_BATCHER, IMAGE_EXECUTOR, Admission, AdmissionConfig,
                                        lower_thread_priority, request_cost)
from inference.server.batching import BatchConfig, MicroBatcher
from inference.server.connections import BODY_DEADLINE, CONNECTIONS, ConnectionTracker, body_timeout_middleware
from inference.server.errors import NotReady, Overloaded, UnsupportedLanguage, error_middleware
from inference.server.prometheus import ServiceMetrics, handle_metrics, metrics_middleware
from inference.server.gateway import GatewayConfig, setup_gateway
from inference.server.openapi import handle_openapi
from inference.server.validation import parse_multipart_request, parse_suggest_request
from inference.runtime.image_preprocess import DEFAULT_LIMITS as DEFAULT_IMAGE_LIMITS
from inference.runtime.image_preprocess import probe as probe_image
from inference.runtime.suggester import SuggestRequest, Suggester, SuggestResult

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


@dataclass
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    models_dir: Path | None = None  # None: the models shipped in inference/models
    max_body_bytes: int = MAX_BODY_BYTES  # larger bodies get 413
    max_batch_size: int = 32
    max_wait_ms: float = 0.0
    max_queue: int = 256
    max_inflight_batches: int = 1  # >1 only pays with spare cores
    executor_threads: int = 2  # the bounded pool for model loading and the light text batches
    image_threads: int = IMAGE_THREADS  # the image lane's pool: decoding, then tagger + fusion (the heavy lane has a thread of its own)
    ort_threads: int = 1  # onnxruntime intra-op threads per session (0 = one per core): the pool threads fill the cores
    providers: list[str] | None = None  # None: probed (CUDA where it really runs, else CPU)
    blocklist: tuple[str, ...] = ()  # tags never suggested ("words" or "#Tag")
    fusion: dict | None = None  # {"weights": {source: w}, "norms": {...}}; None: each folder's fusion.json
    warm_up: bool = True  # one request per model before /readyz says ready
    # keys, CORS and rate limits of every /v1/* route, and the SQLite store; None: an unguarded app (tests, embedding)
    gateway: GatewayConfig | None = None
    # per-key cost budget and concurrency cap, the heavy lane's threshold (inference/server/admission.py)
    admission: AdmissionConfig = AdmissionConfig()
    body_timeout_s: float | None = BODY_TIMEOUT_S  # a body not in by then: 408, closed (None: no limit)
    # the real server's connections (`tagsmith serve`, inference/server/serve.py; not the test client)
    keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S  # idle connections (no request yet, or between two) closed
    max_connections: int | None = None  # None: the file-descriptor limit minus a reserve; 503 beyond, idle ones evicted first
    # the GIL hand-over interval: Python's 5 ms lets the heavy lane hold up a light batch at every hand-over (a
    # light request hands the GIL over at each onnxruntime call); 0.25 ms keeps the light p50 at its value alone
    switch_interval_ms: float | None = 0.25
    # the heavy lane's and the image decoders' threads run this much nicer than the light batches (Linux;
    # 0: off): when they compete for a core the scheduler gives the light batches ~10x the share
    background_nice: int = 10
    # read the text in photos (the models dir's ocr/ folder, when there is one; TAGSMITH_OCR=off also turns it off)
    ocr: bool = True


# -- handlers --------------------------------------------------------------------------------------
def _ready_suggester(app: web.Application) -> Suggester:
    suggester = app.get(SUGGESTER)
    if suggester is None or app.get(BATCHER) is None:
        raise NotReady("models are still loading")
    return suggester


def result_json(result: SuggestResult, took_ms: float, forced_lang: str | None = None, ocr_text: str = "") -> dict:
    warnings = []
    if forced_lang and result.detected_lang and result.detected_lang != forced_lang:
        warnings.append(f"lang {forced_lang!r} was asked for, but the text reads as {result.detected_lang!r}")
    return {
        "suggestions": [
            {"tag": s.tag, "words": s.words, "score": s.score, "source": s.source} for s in result.suggestions
        ],
        "model": result.model,
        "lang": result.lang,
        "detected_lang": result.detected_lang,
        "below_floor": result.below_floor,
        "warnings": warnings,
        "ocr_text": ocr_text,  # the text read in the photo (its tags are grounded on it too); "" otherwise
        "took_ms": round(took_ms, 2),
    }


def check_language(suggester: Suggester, req: SuggestRequest) -> None:
    """A text in a language no model serves gets 422, never another language's model."""
    if req.lang is None and req.text.strip():
        detected = suggester.detected_lang(req)
        if detected is not None and not suggester.serves(detected):
            raise UnsupportedLanguage(f"the text reads as {detected!r}; served languages: {suggester.languages}")


async def _read_suggest_request(request: web.Request, suggester: Suggester) -> tuple[SuggestRequest, bytes | None]:
    images_supported = suggester.images_supported
    if request.content_type == "multipart/form-data":
        return await parse_multipart_request(request, suggester.languages, images_supported)
    raw = await request.read()  # over client_max_size: aiohttp raises 413, shaped by the middleware
    return parse_suggest_request(raw, suggester.languages, images_supported)


async def _read_photo(app: web.Application, suggester: Suggester, image: bytes) -> tuple[Any, str]:
    """The tagger's seen photo and the photo's text (OCR within MAX_OCR_PIXELS; "" without OCR, text or a
    readable photo), decoded and read side by side in the image pool. A bad image raises InvalidImage /
    ImageTooLarge (4xx) once OCR has given up on it too (the key's image turn covers both)."""
    loop, pool = asyncio.get_running_loop(), app[IMAGE_EXECUTOR]
    reading = loop.run_in_executor(pool, suggester.ocr.read, image) if suggester.ocr is not None else None
    try:  # decoded and through the tagger's graph while OCR reads: the batch then only scores it
        pixels, seconds = await loop.run_in_executor(pool, suggester.image_tagger.see, image)
    finally:
        if reading is not None:
            await asyncio.wait([reading])
    app[METRICS].image_decode_seconds.observe(seconds)
    return pixels, reading.result().text if reading is not None else ""


async def handle_suggest(request: web.Request) -> web.Response:
    start = time.perf_counter()
    app = request.app
    suggester = _ready_suggester(app)
    admission: Admission = app[ADMISSION]
    key = admission.client_key(request)
    admission.refuse_if_in_debt(key)  # 429 before the body is read: a refused request costs nothing
    deadline = request.get(BODY_DEADLINE)
    # a key's requests beyond its concurrency cap wait here, their bodies unread (the body timer paused)
    async with admission.turn(key, deadline.waiting if deadline is not None else None):
        suggest_request, image = await _read_suggest_request(request, suggester)
        tagger = suggester.image_tagger if suggester.images_supported else None
        if image is not None and tagger is not None:
            probe = probe_image(image, getattr(getattr(tagger, "spec", None), "limits", DEFAULT_IMAGE_LIMITS))
            cost = request_cost(suggest_request.text, suggest_request.thread, probe.decode_pixels if probe else 0, len(image))
        else:
            cost = request_cost(suggest_request.text, suggest_request.thread)
        admission.charge(key, cost)  # 429 + Retry-After over the key's cost budget
        app[METRICS].request_cost.observe(cost.units)
        try:
            if image is None:
                check_language(suggester, suggest_request)
            if image is not None and tagger is not None:
                # the image lane, one request per key at a time: decode + resize and OCR side by side in the
                # image pool (`_read_photo`), then the tagger and the fusion with the text and the photo's
                # text in the image batches (in the same pool), never in a light text batch
                async with admission.images.turn(key):
                    pixels, photo_text = await _read_photo(app, suggester, image)
                    suggest_request = dataclasses.replace(suggest_request, image=pixels, photo_text=photo_text)
                    result = await app[IMAGE_BATCHER].submit(suggest_request)
            elif admission.is_heavy(cost):  # the heavy lane: its own thread, one request per key at a time
                async with admission.heavy.turn(key):
                    result = await app[HEAVY_BATCHER].submit(suggest_request)
            else:
                result = await app[BATCHER].submit(suggest_request)
        except Overloaded:  # not served: the budget is given back
            admission.refund(key, cost)
            raise
    for postprocess in app[POSTPROCESSORS]:  # e.g. the extension API's trending boost
        result = postprocess(result)
    took_ms = (time.perf_counter() - start) * 1000
    return web.json_response(result_json(result, took_ms, suggest_request.lang, suggest_request.photo_text))


async def handle_healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def handle_readyz(request: web.Request) -> web.Response:
    suggester = _ready_suggester(request.app)
    return web.json_response({"status": "ready", "models": suggester.describe()})


async def handle_index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


# -- life cycle ------------------------------------------------------------------------------------
def _models_ctx(preloaded: Suggester | None):
    async def ctx(app: web.Application):
        config = app[CONFIG]
        executor = ThreadPoolExecutor(max_workers=max(1, config.executor_threads), thread_name_prefix="tagsmith")
        nicer = (lower_thread_priority, (config.background_nice,))
        heavy_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagsmith-heavy", initializer=nicer[0], initargs=nicer[1])
        image_executor = ThreadPoolExecutor(max_workers=max(1, config.image_threads), thread_name_prefix="tagsmith-image",
                                            initializer=nicer[0], initargs=nicer[1])
        app[EXECUTOR] = executor
        app[IMAGE_EXECUTOR] = image_executor
        loop = asyncio.get_running_loop()
        if preloaded is not None:
            suggester = preloaded
        else:
            start = time.perf_counter()
            suggester = await loop.run_in_executor(executor, _load_suggester, config)
            log.info("models loaded in %.2f s: %s", time.perf_counter() - start, suggester.describe())
        metrics = app[METRICS]
        batcher = MicroBatcher(
            suggester.suggest_batch,
            executor,
            BatchConfig(config.max_batch_size, config.max_wait_ms, config.max_queue, config.max_inflight_batches),
            on_batch=lambda size, seconds: (metrics.batch_size.observe(size), metrics.batch_seconds.observe(seconds)),
            on_depth=metrics.queue_depth.set,
            on_reject=metrics.rejected.inc,
        )
        # the image lane's batches (tagger + fusion), in the image pool; a key has one image there at a time
        images = MicroBatcher(
            suggester.suggest_batch,
            image_executor,
            BatchConfig(config.max_batch_size, 0.0, config.admission.max_image_queue, 1),
            on_batch=lambda size, seconds: metrics.image_batch_seconds.observe(seconds),
            on_reject=metrics.rejected.inc,
        )
        # the heavy lane: requests over AdmissionConfig.heavy_cost, one at a time, never in a light batch
        heavy = MicroBatcher(
            suggester.suggest_batch,
            heavy_executor,
            BatchConfig(1, 0.0, config.admission.max_heavy_queue, 1),
            on_batch=lambda size, seconds: metrics.heavy_seconds.observe(seconds),
            on_depth=metrics.heavy_depth.set,
            on_reject=metrics.rejected.inc,
        )
        for lane in (batcher, images, heavy):
            lane.start()
        app[SUGGESTER] = suggester
        app[BATCHER] = batcher
        app[IMAGE_BATCHER] = images
        app[HEAVY_BATCHER] = heavy
        yield
        for lane in (batcher, images, heavy):
            await lane.stop()
        for pool in (image_executor, heavy_executor, executor):
            pool.shutdown(wait=True, cancel_futures=True)

    return ctx


def _load_suggester(config: ServiceConfig) -> Suggester:
    kwargs = dict(providers=config.providers, threads=config.ort_threads, blocklist=set(config.blocklist))
    if config.fusion is not None:
        kwargs["fusion"] = config.fusion
    if not config.ocr:
        kwargs["ocr"] = None
    if config.models_dir is None:
        suggester = Suggester.from_default_models(**kwargs)
    else:
        suggester = Suggester.from_models_dir(config.models_dir, **kwargs)
    if config.warm_up:
        suggester.warm_up()
    return suggester


def create_app(
    config: ServiceConfig | None = None,
    extensions: Sequence[Callable[[web.Application], None]] = (),
    suggester: Suggester | None = None,
    postprocessors: Sequence[Callable[[SuggestResult], SuggestResult]] = (),
) -> web.Application:
    """The core app. `extensions`: `setup(app)` callables run once the core routes (and the gateway,
    when `config.gateway` is set) exist; `postprocessors`: applied to every /v1/suggest result, in order,
    before those the extensions add. `suggester`: an already loaded one (tests, in-process embedding)
    instead of loading `config.models_dir`."""
    config = config or ServiceConfig()
    app = web.Application(
        middlewares=[access_log_middleware, metrics_middleware, error_middleware, body_timeout_middleware],
        client_max_size=config.max_body_bytes,
    )
    app[CONFIG] = config
    app[METRICS] = metrics = ServiceMetrics()
    app[ADMISSION] = Admission(config.admission, on_refuse=lambda reason: metrics.admission_refused.labels(reason).inc(),
                               guarded=config.gateway is not None)
    app[CONNECTIONS] = ConnectionTracker(metrics)
    app[OPENAPI_PATHS] = {}
    app[POSTPROCESSORS] = list(postprocessors)
    app.router.add_get("/", handle_index)
    app.router.add_post("/v1/suggest", handle_suggest)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", handle_readyz)
    app.router.add_get("/metrics", handle_metrics)
    app.router.add_get("/openapi.json", handle_openapi)
    app.cleanup_ctx.append(_models_ctx(suggester))
    if config.gateway is not None:
        setup_gateway(app, config.gateway)
    for setup in extensions:
        setup(app)
    return app
