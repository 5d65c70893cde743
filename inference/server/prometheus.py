"""Prometheus metrics of the service: one `CollectorRegistry` per app, served at /metrics.

A registry per app (not prometheus_client's global one) keeps test apps and extensions from
colliding on metric names.
"""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from inference.server.appkeys import METRICS

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
_COST_BUCKETS = (1, 1.5, 2, 4, 8, 16, 64, 256, 1024)
_LONG_BUCKETS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tagsmith_http_requests", "HTTP requests by route, method and status", ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tagsmith_http_request_duration_seconds", "HTTP request latency by route", ["route"],
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.batch_size = Histogram(
            "tagsmith_batch_size", "requests merged into one suggester call", buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "tagsmith_batch_duration_seconds", "time of one suggester call (whole batch)",
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.queue_depth = Gauge(
            "tagsmith_queue_depth", "requests waiting for a batch", registry=self.registry
        )
        self.rejected = Counter(
            "tagsmith_queue_rejected", "requests answered 503 because the queue was full", registry=self.registry
        )
        # admission (inference/server/admission.py): cost units, refusals, the heavy lane, image decoding
        self.request_cost = Histogram(
            "tagsmith_request_cost_units", "cost units charged per admitted /v1/suggest request", buckets=_COST_BUCKETS,
            registry=self.registry,
        )
        self.admission_refused = Counter(
            "tagsmith_admission_refused", "requests refused by admission: 429 over the cost budget or a key's waiting line",
            ["reason"], registry=self.registry,
        )
        self.heavy_seconds = Histogram(
            "tagsmith_heavy_duration_seconds", "time of one heavy-lane suggester call", buckets=_LONG_BUCKETS,
            registry=self.registry,
        )
        self.heavy_depth = Gauge("tagsmith_heavy_queue_depth", "heavy requests waiting for the heavy lane", registry=self.registry)
        self.image_decode_seconds = Histogram(
            "tagsmith_image_decode_seconds", "time of one image decode + resize", buckets=_LONG_BUCKETS, registry=self.registry,
        )
        self.image_batch_seconds = Histogram(
            "tagsmith_image_batch_duration_seconds", "time of one image-lane suggester call (tagger + fusion)",
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        # connections (inference/server/connections.py); the open count is read when scraped
        self.connections_open = Gauge("tagsmith_open_connections", "open client connections", registry=self.registry)
        self.connections_refused = Counter(
            "tagsmith_connections_refused", "connections answered 503 at the connection cap (all busy)", registry=self.registry
        )
        self.connections_evicted = Counter(
            "tagsmith_connections_evicted", "idle connections closed at the cap to make room for a new one", registry=self.registry
        )
        self.request_timeouts = Counter(
            "tagsmith_request_timeouts", "requests answered 408: the body did not arrive in time", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_label(request: web.Request) -> str:
    """The route template ("/v1/suggest"), never the raw path: raw paths would explode the label set."""
    info = request.match_info
    if info.http_exception is not None or info.route.resource is None:
        return "unmatched"
    return info.route.resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Outermost middleware: counts the final status, after the error middleware shaped it."""
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[METRICS]
        route = route_label(request)
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - start)


async def handle_metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
