"""`tagsmith serve`: the core service on the shipped models (or --models DIR).

Extensions are found through the `tagsmith.extensions` entry point group (the extension API declares
one in pyproject.toml): each entry is `from_args(args) -> setup(app)`. `--extension MODULE:FUNC` adds a
plain `setup(app)` by hand.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

from aiohttp import web

from inference.limits import MAX_BODY_BYTES
from inference.server.app import ServiceConfig, create_app
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
    )


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        extensions = [*installed_extensions(args), *(load_extension(t) for t in args.extension)]
        app = create_app(config, extensions=extensions)
    except ValueError as exc:  # a bad --cors-origin or rate limit: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        from inference.runtime.providers import choose_providers

        log.info("onnxruntime providers in use: %s", ", ".join(choose_providers(config.providers)))
    except ImportError as exc:
        log.info("onnxruntime unavailable (%s): retrieval-only models", exc)
    try:
        web.run_app(
            app,
            host=config.host,
            port=config.port,
            access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
            print=lambda line: log.info(line.strip()),
        )
    except FileNotFoundError as exc:  # no model folder: say so without a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
