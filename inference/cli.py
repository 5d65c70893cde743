"""The `tagsmith` command line.

Every sub-command's arguments are declared here, in one place; the work is done by a function in
the module named beside it, imported only when that command runs (so `tagsmith segment` never
pays for onnxruntime, and only `tagsmith train` needs torch).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from inference.limits import RATE_BURST, RATE_PER_S

BOT_LIBRARIES = ("discord", "telegram")  # the bots extra


def _runner(target: str):
    """Return a callable that imports "module:function" lazily and calls it with the args."""

    def run(args: argparse.Namespace) -> int:
        module_name, function_name = target.split(":")
        try:  # the bots import their libraries when they start, not when bots.run is imported
            return getattr(importlib.import_module(module_name), function_name)(args) or 0
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] in BOT_LIBRARIES:
                print("error: install the bots extra: pip install -e '.[bots]' (the Discord and Telegram bots need it)", file=sys.stderr)
                return 2
            raise

    return run


def add_data_dir_argument(p: argparse.ArgumentParser) -> None:
    """`--data-dir`, for every command touching stored state (serve, keys, bots)."""
    p.add_argument("--data-dir", default=os.environ.get("TAGSMITH_DATA_DIR") or "var",
                   help="folder of the SQLite file and other state (default: $TAGSMITH_DATA_DIR, else ./var)")


def add_extension_api_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the gateway (keys, CORS, rate limits) and of the extension API mounted by `serve`."""
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allowed browser origin, e.g. chrome-extension://ID (repeatable; also TAGSMITH_CORS_ORIGINS, comma-separated; default: none)")
    p.add_argument("--rate-limit", type=float, default=RATE_PER_S, metavar="PER_S", help=f"requests/s per API key (default {RATE_PER_S:g})")
    p.add_argument("--rate-burst", type=int, default=RATE_BURST, help=f"burst per API key (default {RATE_BURST})")
    p.add_argument("--trending-boost", type=float, default=0.0, help="max score boost of trending tags in /v1/suggest, 0 to 0.5 (default 0: off)")
    p.add_argument("--store-post-text", action="store_true", help="store the raw post text sent with feedback (default: only its hash)")
    p.add_argument("--allow-keyless", action="store_true", help="on a localhost bind, accept requests without a key again once every key "
                   "is revoked (default: keyless use only until the first key is created, never reopened)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME", help="a Host header name accepted besides localhost "
                   "names, e.g. the public name a reverse proxy forwards (repeatable; default: loopback names only on a localhost bind)")
    p.add_argument("--feedback-retention-days", type=float, default=90.0, metavar="DAYS",
                   help="delete raw feedback rows older than this, hourly (trending counts are kept apart; default 90)")


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the core service, shared by `serve` and `bench serve`."""
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    add_data_dir_argument(p)
    p.add_argument("--models", default=None, metavar="DIR", help="folder of model folders (default: the shipped ones)")
    p.add_argument("--max-batch-size", type=int, default=32)
    p.add_argument("--max-wait-ms", type=float, default=0.0, help="how long a request waits for others to batch with (0: requests arriving while a batch runs still merge)")
    p.add_argument("--max-queue", type=int, default=256, help="waiting requests beyond which the service answers 503")
    p.add_argument("--threads", type=int, default=2, help="thread pool for model calls")
    p.add_argument("--ort-threads", type=int, default=1, help="onnxruntime intra-op threads per session (0: one per core); "
                   "1 by default: the pool threads already keep the cores busy, more spin and compete (docs/performance.md)")
    p.add_argument("--max-body-bytes", type=int, default=None, help="request body limit (default: a 10 MB image in base64 JSON fits)")
    # admission and connections (inference/server/admission.py, connections.py)
    from inference.limits import (BODY_TIMEOUT_S, COST_BURST, COST_BURST_PER_REQUEST, COST_RATE_PER_S, COST_UNITS_PER_REQUEST, HEAVY_COST,
                                  IMAGE_THREADS, KEEPALIVE_TIMEOUT_S, MAX_INFLIGHT_PER_KEY)

    p.add_argument("--image-threads", type=int, default=IMAGE_THREADS, help=f"image decoding pool, apart from the text batches' (default {IMAGE_THREADS})")
    p.add_argument("--cost-rate", type=float, default=None, metavar="UNITS_PER_S",
                   help="cost units/s per API key or keyless peer (a typical post ~1.5 units, +1 per 1,000 characters, +2 per image "
                   f"megapixel; default {COST_UNITS_PER_REQUEST:g} x --rate-limit: {COST_RATE_PER_S:g})")
    p.add_argument("--cost-burst", type=float, default=None, metavar="UNITS",
                   help=f"cost units per API key at once (default {COST_BURST_PER_REQUEST:g} x --rate-burst: {COST_BURST:g})")
    p.add_argument("--cap-keyless", action="store_true", help="apply the per-key concurrency cap to keyless peers too "
                   "(default: keys only; keyless use is local)")
    p.add_argument("--max-inflight-per-key", type=int, default=MAX_INFLIGHT_PER_KEY,
                   help=f"requests of one key (or keyless peer) served at once; later ones wait their turn (default {MAX_INFLIGHT_PER_KEY})")
    p.add_argument("--heavy-cost", type=float, default=HEAVY_COST, metavar="UNITS",
                   help=f"text cost above which a request runs in the heavy lane, one per key at a time (default {HEAVY_COST:g})")
    p.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT_S, metavar="S",
                   help=f"a request body must arrive within this many seconds of its headers, else 408 (0: no limit; default {BODY_TIMEOUT_S:g})")
    p.add_argument("--keepalive-timeout", type=float, default=KEEPALIVE_TIMEOUT_S, metavar="S",
                   help=f"idle connections are closed after this many seconds (default {KEEPALIVE_TIMEOUT_S:g})")
    p.add_argument("--max-connections", type=int, default=None,
                   help="open connections at most; idle ones are closed for new ones, 503 when all are busy "
                   "(default and ceiling: the file-descriptor limit minus the files open at start and a reserve of 112)")


def _add_text_commands(commands) -> None:
    """Sub-commands predict, evaluate, suggest."""
    # -- text generation -------------------------------------------------------------------
    p = commands.add_parser("predict", help="predict hashtags for every record of a data file")
    p.add_argument("--input", required=True, help="JSONL (one object a line: \"post\" or \"text\", optional \"thread\" list, \"image\" path, "
                   "\"lang\", \"id\"; a record with no post, thread or image is an error naming its line), a raw data-set file, or DIR/split for --format weibo")
    p.add_argument("--output", required=True, help="one line per input record: tags joined by ';'")
    p.add_argument("--format", default=None, help="jsonl, weibo, instagram, tweeteval, rumoureval, sarcasm, crisislex, mediaeval, corel5k (a label file "
                   "such as corel5k/test_label) (default: detected)")
    p.add_argument("--k", type=int, default=10, help="hashtags per record")
    p.add_argument("--vocab", default=None, help="a file of allowed tags, one per line: only these are predicted "
                   "(corel5k input: its `words` file unless given)")
    p.add_argument("--model", default=None, help="model folder or shipped model name (default: by language)")
    p.add_argument("--beam-size", type=int, default=None, help="generator beam width (default: the generator's)")
    p.add_argument("--floor", action="store_true", help="apply the service's relevance floor (fewer than k tags rather than filler); "
                   "by default every record gets k tags, ranked by the same scores, safety filter applied")
    p.set_defaults(run=_runner("inference.evaluation.predict:run_predict"))

    p = commands.add_parser("evaluate", help="score predictions against gold hashtags")
    p.add_argument("--gold", required=True, help="gold JSONL, *_tag.txt, a raw data-set file or a Corel-5k label file")
    p.add_argument("--pred", required=True, help="predictions written by `tagsmith predict`")
    p.add_argument("--lang", choices=["en", "zh"], default=None, help="language (default: detected)")
    p.add_argument("--protocol", choices=["hashtags", "corel"], default=None,
                   help="hashtags: F1@K, MAP, ROUGE (the paper's); corel: per-word P/R/F1/N+ of the top 5 "
                   "(default: corel for a Corel-5k label file)")
    p.add_argument("--by-source", action="store_true", help="the figures per data source (JSONL records' \"source\")")
    p.set_defaults(run=_runner("inference.evaluation.metrics:run_evaluate"))

    p = commands.add_parser("suggest", help="suggest hashtags for one post, without a server")
    p.add_argument("text")
    p.add_argument("--thread", action="append", default=[], help="a reply or context message (repeatable)")
    p.add_argument("--hashtags", action="append", default=[], help="hashtags already on the post (repeatable)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--lang", choices=["en", "zh"], default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--image", default=None, help="a photo file: its tags are fused with the text's ('' text: image only)")
    p.set_defaults(run=_runner("inference.evaluation.predict:run_suggest"))


def _add_service_commands(commands) -> None:
    """Sub-commands serve, segment, keys."""
    # -- the core service --------------------------------------------------------------------
    p = commands.add_parser("serve", help="run the HTTP service (POST /v1/suggest, /metrics, /openapi.json)")
    add_serve_arguments(p)
    p.add_argument("--extension", action="append", default=[], metavar="MODULE:FUNC", help="extra setup(app) (repeatable)")
    add_extension_api_arguments(p)
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="text lines, or one JSON object a line for log collectors (every request logs one line: method, route, status, ms, request id)")
    p.set_defaults(run=_runner("inference.server.serve:run_serve"))

    # -- segmentation ------------------------------------------------------------------------
    p = commands.add_parser("segment", help="segment hashtags read from standard input, one per line")
    p.set_defaults(run=_runner("inference.evaluation.bench_segment:run_segment"))

    # -- API keys of the extension API (stored under --data-dir) ----------------------------
    keys = commands.add_parser("keys", help="create, list and revoke API keys").add_subparsers(dest="keys", metavar="ACTION", required=True)
    p = keys.add_parser("create", help="create a key and print it (the only time it is shown)")
    p.add_argument("--name", required=True, help="who the key is for, e.g. 'chrome extension'")
    add_data_dir_argument(p)
    p.set_defaults(run=_runner("inference.server.keys:run_create"))
    p = keys.add_parser("list", help="list keys (id, status, creation time, name; never the key)")
    add_data_dir_argument(p)
    p.set_defaults(run=_runner("inference.server.keys:run_list"))
    p = keys.add_parser("revoke", help="revoke a key by id (takes effect on the next request)")
    p.add_argument("id", type=int)
    add_data_dir_argument(p)
    p.set_defaults(run=_runner("inference.server.keys:run_revoke"))


def _add_bot_and_bench_commands(commands) -> None:
    """Sub-commands discord, telegram, bench."""
    # -- chat bots (configuration from the environment: see README "Discord bot", "Telegram bot") --
    p = commands.add_parser("discord", help="run the Discord bot (DISCORD_TOKEN; core at TAGSMITH_URL)")
    p.add_argument("--sync-guild", type=int, default=None, metavar="GUILD_ID", help="sync the commands to this guild only (instant, for development)")
    p.set_defaults(run=_runner("bots.run:run_discord"))

    p = commands.add_parser("telegram", help="run the Telegram bot (TELEGRAM_TOKEN; core at TAGSMITH_URL); polling unless --webhook-url")
    p.add_argument("--webhook-url", default=None, help="public HTTPS URL Telegram posts updates to (also TELEGRAM_WEBHOOK_URL)")
    p.add_argument("--webhook-listen", default=None, help="address of the webhook server (default 0.0.0.0)")
    p.add_argument("--webhook-port", type=int, default=None, help="port of the webhook server (default 8443)")
    p.set_defaults(run=_runner("bots.run:run_telegram"))

    # -- benchmarks ----------------------------------------------------------------------------
    bench = commands.add_parser("bench", help="benchmarks that print figures").add_subparsers(dest="bench", metavar="WHAT", required=True)
    p = bench.add_parser("segment", help="segmentation accuracy and speed")
    p.add_argument("--data", required=True, action="append", help="boun/stanford .txt or STAN .tsv (repeatable)")
    p.add_argument("--show-misses", type=int, default=0, metavar="N", help="print the first N misses of each file")
    p.set_defaults(run=_runner("inference.evaluation.bench_segment:run_bench"))
    p = bench.add_parser("serve", help="latency, throughput, RSS and cold start of the real server")
    add_serve_arguments(p)
    p.add_argument("--requests", type=int, default=400, help="requests per (concurrency, payload) cell")
    p.add_argument("--concurrency", type=int, action="append", default=None, help="default: 1, 8, 32")
    p.add_argument("--posts", action="append", default=None, metavar="FILE", help="also time fresh posts: every request a different post + 5 replies of the fixed payload's shape, cut from FILE's texts (any format predict reads; repeatable, one language each)")
    p.add_argument("--checkpoint", action="append", default=None, help="PyTorch checkpoint for the eager vs onnxruntime ratio (repeatable; its exported folder is the one under --models whose config.json names it)")
    p.add_argument("--full-folder", action="append", default=None, metavar="DIR", help="an export with both precisions (onnx_export --full-out; repeatable): fp32 vs int8 and eager vs onnxruntime read it, shipped folders keep only int8")
    p.add_argument("--build-retrieval", default=None, metavar="CORPUS", help="first build retrieval-only models from CORPUS/{en,zh}_train.jsonl into --models (default runs/bench-models)")
    p.set_defaults(run=_runner("inference.evaluation.bench_serve:run_bench_serve"))

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagsmith", description="Hashtag suggestions for posts, threads and images.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_text_commands(commands)
    _add_service_commands(commands)
    _add_bot_and_bench_commands(commands)
    return parser

def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if getattr(args, "log_format", None):  # before the command's own logging set-up, which then keeps it
        importlib.import_module("inference.server.access_log").configure_logging(args.log_format)
    try:
        return args.run(args)
    except (OSError, ValueError) as exc:
        # a missing file, an unreadable data set, an invalid model folder: the person's input, not a bug
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
