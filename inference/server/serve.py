"""`tagsmith serve`: the core service on the shipped models (or --models DIR)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from aiohttp import web

from inference.server.app import MAX_BODY_BYTES, ServiceConfig, create_app

log = logging.getLogger("tagsmith.serve")

# Extensions run on every `tagsmith serve`, as "module:function" taking the app (imported lazily).
DEFAULT_EXTENSIONS: tuple[str, ...] = ("extension_api.setup:setup",)


def load_extension(target: str):
    module_name, function_name = target.split(":")
    return getattr(importlib.import_module(module_name), function_name)


def config_from_args(args: argparse.Namespace) -> ServiceConfig:
    return ServiceConfig(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir),
        models_dir=Path(args.models) if args.models else None,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
        executor_threads=args.threads,
        ort_threads=args.ort_threads,
        max_body_bytes=args.max_body_bytes or MAX_BODY_BYTES,
        trending_boost=getattr(args, "trending_boost", 0.0),
        extra={  # read by extension_api.setup.ExtensionConfig.from_service_config
            "cors_origins": getattr(args, "cors_origin", []),
            "rate_per_s": getattr(args, "rate_limit", 10.0),
            "rate_burst": getattr(args, "rate_burst", 20),
            "store_post_text": getattr(args, "store_post_text", False),
        },
    )


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    try:
        from inference.runtime.providers import choose_providers

        log.info("onnxruntime providers in use: %s", ", ".join(choose_providers(config.providers)))
    except ImportError as exc:
        log.info("onnxruntime unavailable (%s): retrieval-only models", exc)
    extensions = [load_extension(t) for t in (*DEFAULT_EXTENSIONS, *args.extension)]
    app = create_app(config, extensions=extensions)
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
