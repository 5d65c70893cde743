"""`tagsmith serve`: the core service on the shipped models (or --models DIR).

Extensions are found through the `tagsmith.extensions` entry point group (the extension API declares
one in pyproject.toml): each entry is `from_args(args) -> setup(app)`. `--extension MODULE:FUNC` adds a
plain `setup(app)` by hand.

The server (`serve_app`) is aiohttp's AppRunner on a `CappedTCPSite` (inference/server/connections.py):
idle connections closed after `keepalive_timeout_s`, at most `max_connections` open (below the
file-descriptor limit, idle ones evicted first, 503 when all are busy), repeated log lines such as
accept errors rate-limited, SIGINT/SIGTERM stop it gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

# before numpy loads (the runtime modules imported below load it) and before any thread starts:
# one BLAS thread per calling thread and glibc's malloc tuned (runtime/process_memory.py)
from inference.runtime.process_memory import one_blas_thread, tune_malloc  # noqa: E402

one_blas_thread()
tune_malloc()

from aiohttp import web

from inference.limits import COST_BURST_PER_REQUEST, COST_UNITS_PER_REQUEST, MAX_BODY_BYTES, RATE_BURST, RATE_PER_S
from inference.server.admission import AdmissionConfig
from inference.server.app import ServiceConfig, create_app
from inference.server.connections import CappedTCPSite
from inference.server.log_floods import install_log_rate_limit
from inference.server.gateway import GatewayConfig

log = logging.getLogger("tagsmith.serve")

EXTENSIONS_GROUP = "tagsmith.extensions"


def load_extension(target: str):
    module_name, function_name = target.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def installed_extensions(args: argparse.Namespace) -> list:
    """`setup(app)` callables of every installed extension, configured from the command line."""
    return [entry.load()(args) for entry in sorted(entry_points(group=EXTENSIONS_GROUP), key=lambda e: e.name)]


def config_from_args(args: argparse.Namespace) -> ServiceConfig:
    """Raises ValueError on a bad --cors-origin."""
    return ServiceConfig(
        host=args.host,
        port=args.port,
        models_dir=Path(args.models) if args.models else None,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
        executor_threads=args.threads,
        ort_threads=args.ort_threads,
        max_body_bytes=args.max_body_bytes or MAX_BODY_BYTES,
        gateway=GatewayConfig.from_args(args),
        **admission_from_args(args),
    )


def admission_from_args(args: argparse.Namespace) -> dict:
    """ServiceConfig fields of the admission and connection options (`add_serve_arguments`); raises
    ValueError on nonsense."""
    default = AdmissionConfig()
    # the cost budget follows the request limit (--rate-limit, --rate-burst) unless set apart
    cost_rate = getattr(args, "cost_rate", None)
    cost_burst = getattr(args, "cost_burst", None)
    if cost_rate is None:
        cost_rate = COST_UNITS_PER_REQUEST * getattr(args, "rate_limit", RATE_PER_S)
    if cost_burst is None:
        cost_burst = COST_BURST_PER_REQUEST * getattr(args, "rate_burst", RATE_BURST)
    admission = AdmissionConfig(
        cost_rate_per_s=cost_rate,
        cost_burst=cost_burst,
        max_inflight_per_key=getattr(args, "max_inflight_per_key", default.max_inflight_per_key),
        heavy_cost=getattr(args, "heavy_cost", default.heavy_cost),
        cap_keyless=bool(getattr(args, "cap_keyless", default.cap_keyless)),
    )
    defaults = ServiceConfig()
    fields = dict(
        admission=admission,
        image_threads=getattr(args, "image_threads", defaults.image_threads),
        body_timeout_s=getattr(args, "body_timeout", defaults.body_timeout_s) or None,
        keepalive_timeout_s=getattr(args, "keepalive_timeout", defaults.keepalive_timeout_s),
        max_connections=getattr(args, "max_connections", defaults.max_connections),
    )
    if fields["image_threads"] < 1 or fields["keepalive_timeout_s"] <= 0 or (fields["max_connections"] or 1) < 1:
        raise ValueError("--image-threads and --max-connections must be >= 1, --keepalive-timeout > 0")
    return fields


async def start_server(app: web.Application, config: ServiceConfig, access_log: logging.Logger | None = None,
                       **runner_kwargs) -> tuple[web.AppRunner, CappedTCPSite]:
    """Start `app` on config.host:config.port (port 0: any free one, `site.port` says which)."""
    runner = web.AppRunner(app, access_log=access_log, keepalive_timeout=config.keepalive_timeout_s, **runner_kwargs)
    await runner.setup()
    try:
        site = CappedTCPSite(runner, config.host, config.port, max_connections=config.max_connections)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site


def serve_app(app: web.Application, config: ServiceConfig, access_log: logging.Logger | None = None, print=print) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully (what `web.run_app` does, on the capped site)."""
    install_log_rate_limit()
    if config.switch_interval_ms:
        sys.setswitchinterval(config.switch_interval_ms / 1000)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt instead
                loop.add_signal_handler(sig, stop.set)
        runner, site = await start_server(app, config, access_log)
        print(f"======== Running on {site.name} ========\n(Press CTRL+C to quit)")
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


async def _release_after_load(app: web.Application):
    """A cleanup context after the models' (appended last): once they are loaded and warmed up, the
    heap pages their temporary tables left free go back to the OS (glibc's malloc_trim)."""
    from inference.runtime.process_memory import release_memory

    release_memory()
    yield


def _prepare_caches(config: ServiceConfig) -> None:
    """A first start on this install builds the caches in a child process (runtime/first_start.py), so
    the server, which then reads them back, does not keep the build's memory."""
    from inference.runtime.first_start import prepare
    from inference.runtime.suggester import DEFAULT_MODELS_DIR

    models_dir = config.models_dir if config.models_dir is not None else DEFAULT_MODELS_DIR
    if not models_dir.is_dir():  # no folder: the load says so
        return
    try:
        log.info("caches: %s", prepare(models_dir, config.providers, config.ocr))
    except (OSError, RuntimeError, ValueError) as exc:  # the server builds them itself, as before
        log.warning("caches not prepared in child processes (%s); the server builds them", exc)


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        extensions = [*installed_extensions(args), *(load_extension(t) for t in args.extension)]
        app = create_app(config, extensions=extensions)
        app.cleanup_ctx.append(_release_after_load)
    except ValueError as exc:  # a bad --cors-origin, rate limit or admission option: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        from inference.runtime.providers import choose_providers

        log.info("onnxruntime providers in use: %s", ", ".join(choose_providers(config.providers)))
    except ImportError as exc:
        log.info("onnxruntime unavailable (%s): retrieval-only models", exc)
    try:
        _prepare_caches(config)
    except KeyboardInterrupt:  # Ctrl-C during a first start's build: stop, without a traceback
        return 130
    try:
        serve_app(
            app,
            config,
            access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
            print=lambda line: log.info(line.strip()),
        )
    except FileNotFoundError as exc:  # no model folder: say so without a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
