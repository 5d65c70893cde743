"""`tagsmith bench serve`: start the real server in a subprocess and measure it, in one run.

Cold start (process start -> /readyz 200), p50/p99 latency and throughput of /v1/suggest at
several concurrencies for a post alone and a post with its thread (30-word post, 5 replies,
k=10), mean micro-batch size, RSS after load and peak RSS of the server process; then, where
a folder with both precisions exists, onnxruntime fp32 vs int8 decoding (printed as "skipped
(reason)" otherwise). The load generator runs on the same machine, as a client would. PyTorch eager
vs onnxruntime needs torch, so it is a benchmark of the training side, not of this command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from inference.evaluation.bench_payloads import fresh_payloads, payloads_for
from inference.runtime.process_memory import status_mb

TARGETS = "targets (2 CPU cores): p50 <= 20 ms and p99 <= 60 ms at c=1; >= 150 req/s at c=32; RSS <= 800 MB with the grounding stage; cold start <= 5 s"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_status_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB (runtime/process_memory.status_mb)."""
    return status_mb(field, pid)


def _cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process so far, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_server(args: argparse.Namespace, port: int, log_path: Path, env: dict | None = None) -> tuple[subprocess.Popen, float]:
    """Start `tagsmith serve`; returns the process and seconds from spawn to /readyz 200."""
    cmd = [
        sys.executable, "-m", "inference.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", args.data_dir, "--max-batch-size", str(args.max_batch_size),
        "--max-wait-ms", str(args.max_wait_ms), "--max-queue", str(args.max_queue),
        "--threads", str(args.threads), "--ort-threads", str(args.ort_threads),
        # the benchmark measures the model path: one client at full speed, not the per-client limits
        "--rate-limit", "1000000", "--rate-burst", "1000000",
    ]
    if args.models:
        cmd += ["--models", args.models]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=env)
    while time.perf_counter() - start < 180:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            status, _ = _get(f"http://127.0.0.1:{port}/readyz", timeout=0.5)
            if status == 200:
                return proc, time.perf_counter() - start
        except OSError:
            pass  # not listening yet
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("server not ready after 180 s")


def _batch_totals(base: str) -> tuple[float, float]:
    _, body = _get(base + "/metrics")
    text = body.decode()
    total = re.search(r"^tagsmith_batch_size_sum (\S+)$", text, re.M)
    count = re.search(r"^tagsmith_batch_size_count (\S+)$", text, re.M)
    return (float(total.group(1)) if total else 0.0), (float(count.group(1)) if count else 0.0)


async def load_phase(base: str, payload: dict | list[dict], concurrency: int, n_requests: int) -> dict:
    """n_requests POSTs from `concurrency` workers; latencies measured per request. `payload`: one body
    sent every time, or a list of at least 20 + n_requests bodies, each sent once (fresh posts)."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bodies = [json.dumps(p).encode() for p in (payload if isinstance(payload, list) else [payload])]
    sent = 0
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal sent
            body, sent = bodies[sent % len(bodies)], sent + 1
            start = time.perf_counter()
            async with session.post(base + "/v1/suggest", data=body, headers=headers) as response:
                await response.read()
            latencies.append(time.perf_counter() - start)
            statuses[response.status] = statuses.get(response.status, 0) + 1

        remaining = n_requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one()

        for _ in range(min(20, n_requests)):  # warm the connections
            await one()
        latencies.clear()
        statuses.clear()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "rps": len(latencies) / elapsed,
        "non_200": sum(c for s, c in statuses.items() if s != 200),
    }


# -- optional parts ----------------------------------------------------------------------------------


def _model_folders(args: argparse.Namespace) -> list[Path]:
    from inference.runtime.suggester import DEFAULT_MODELS_DIR

    root = Path(args.models) if args.models else DEFAULT_MODELS_DIR
    return sorted(p.parent for p in root.glob("*/config.json")) or ([root] if (root / "config.json").exists() else [])


def _time_generate(generator, batch, repeats: int = 20) -> float:
    """Median CPU ms of this process per generate call (the figure that survives a busy machine)."""
    generator.generate(batch, n_best=10)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        generator.generate(batch, n_best=10)
        times.append(time.process_time() - start)
    return float(np.median(times)) * 1000


def _full_folders(args: argparse.Namespace) -> list[Path]:
    """--full-folder: the same exports with every precision (written with `--full-out`); a shipped
    folder keeps only its default precision, so fp32 vs int8 needs these."""
    return [Path(f) for f in getattr(args, "full_folder", None) or []]


def _served_beam(args: argparse.Namespace, language: str) -> int | None:
    """The generator beam the served folder of this language uses (its fusion.json), if any."""
    for folder in _model_folders(args):
        fusion, config = folder / "fusion.json", folder / "config.json"
        if fusion.exists() and json.loads(config.read_text(encoding="utf-8")).get("language") == language:
            return json.loads(fusion.read_text(encoding="utf-8")).get("generator_beam_size")
    return None


def fp32_vs_int8(args: argparse.Namespace) -> list[str]:
    folders = _full_folders(args) or [f for f in _model_folders(args) if (f / "encoder.onnx").exists()]
    if not folders:
        return ["fp32 vs int8: skipped (no model folder with ONNX graphs)"]
    from inference.runtime.generator import Generator
    from inference.text.preprocess import tokenize

    lines = []
    for folder in folders:
        shipped = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("graphs", {})
        if not {"fp32", "int8"} <= set(shipped):
            lines.append(f"fp32 vs int8 ({folder.name}): skipped (the folder ships {sorted(shipped)} graphs only; "
                         "export with --full-out for both)")
            continue
        try:
            fp32 = Generator(folder, precision="fp32", threads=1)
            int8 = Generator(folder, precision="int8", threads=1)
        except Exception as exc:  # the exporter ships both precisions only where they fit and quality held
            lines.append(f"fp32 vs int8 ({folder.name}): skipped ({type(exc).__name__}: {exc})")
            continue
        lang = fp32.folder.language
        fp32.beam_size = int8.beam_size = _served_beam(args, lang) or fp32.beam_size  # the width served
        payload = payloads_for(lang)["post+thread"]
        batch = [(tokenize(payload["text"], lang), [t for m in payload["thread"] for t in tokenize(m, lang)])]
        t32, t8 = _time_generate(fp32, batch), _time_generate(int8, batch)
        lines.append(f"fp32 vs int8 ({folder}, {fp32.folder.model_id}, 1 thread, CPU ms per post+thread, top-10, beam {fp32.beam_size}): "
                     f"fp32 {t32:.1f} ms, int8 {t8:.1f} ms, fp32/int8 = {t32 / t8:.2f}x")
    return lines


def build_retrieval_models(corpus: Path, out: Path) -> Path:
    """Retrieval-only model folders {lang}/ from `{lang}_train.jsonl` of an ingest corpus (what the
    service serves until generator folders exist); returns `out`."""
    from inference.text.preprocess import tokenize
    from inference.evaluation.readers import read_records
    from inference.runtime.retrieval import RetrievalIndex, TagLexicon

    for lang in ("en", "zh"):
        train = corpus / f"{lang}_train.jsonl"
        if not train.exists():
            continue
        start = time.perf_counter()
        records = [r for r in read_records(train) if r.get("hashtags")]
        folder = out / lang
        RetrievalIndex.build(records, lambda text, lang=lang: tokenize(text, lang)).save(folder)
        TagLexicon.from_tag_lists(r["hashtags"] for r in records).save(folder)
        config = {"name": f"retrieval-{lang}", "version": f"bench-{len(records)}", "language": lang}
        (folder / "config.json").write_text(json.dumps(config))
        print(f"built {folder} from {len(records)} records of {train} in {time.perf_counter() - start:.0f} s")
    return out


# -- the command ---------------------------------------------------------------------------------------


def run_bench_serve(args: argparse.Namespace) -> int:
    if args.build_retrieval:
        args.models = str(build_retrieval_models(Path(args.build_retrieval), Path(args.models or "runs/bench-models")))
    concurrencies = args.concurrency or [1, 8, 32]
    port = _free_port() if args.port == 8080 else args.port
    base = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkstemp(prefix="tagsmith-bench-serve-", suffix=".log")[1])
    print(f"tagsmith bench serve: {os.cpu_count()} CPU cores, python {sys.version.split()[0]}, server log {log_path}")
    # cold start twice, on a fresh cache directory: the first start builds the derived caches
    # (segmenter tables, jieba's dictionary), the second is every later start; that one is measured
    env = {**os.environ, "TAGSMITH_CACHE_DIR": tempfile.mkdtemp(prefix="tagsmith-bench-cache-")}
    first, first_start = start_server(args, port, log_path, env)
    first_cpu = _cpu_seconds(first.pid)
    first_rss = _proc_status_mb(first.pid, "VmRSS")
    child = re.findall(r"caches: built in (\d+ child processes in [\d.]+ s) \(peak RSS (\d+) MB\)", log_path.read_text())
    first.terminate()
    first.wait(10)
    proc, cold_start = start_server(args, port, log_path, env)
    cold_cpu = _cpu_seconds(proc.pid)
    try:
        rss_ready = _proc_status_mb(proc.pid, "VmRSS")
        _, ready = _get(base + "/readyz")
        providers = re.findall(r"providers in use: (.*)", log_path.read_text())
        print(f"models: {json.loads(ready)['models']}")
        print(f"onnxruntime providers: {providers[0] if providers else 'n/a'}")
        print(f"batching: max batch {args.max_batch_size}, max wait {args.max_wait_ms} ms, "
              f"{args.threads} pool threads, ort threads {args.ort_threads or 'default'}")
        print(f"cold start (spawn -> /readyz 200): {cold_start:.2f} s wall, {cold_cpu:.2f} s CPU of the server "
              f"(first start on an empty cache dir: {first_start:.2f} s wall, {first_cpu:.2f} s CPU)")
        built = f"; the caches built first in {child[0][0]}, peak RSS {child[0][1]} MB" if child else ""
        print(f"RSS after load: {rss_ready:.0f} MB (first start: {first_rss:.0f} MB{built})")
        print()
        print(f"load average (1/5/15 min) before the load phases: {_load_average()}")
        print("CPU ms/req: the server process's user+sys CPU time per request (load-independent, unlike wall time);"
              " it bounds throughput on 2 idle cores at 2000 / (CPU ms/req) req/s")
        print()
        print(f"{'payload':<15} {'conc':>4} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
              f"{'CPU ms/req':>10} {'mean batch':>10} {'non-200':>7}")
        # the text models' languages (entries with sources, not the image tagger or OCR)
        langs = [lang for lang, m in json.loads(ready)["models"].items() if lang not in ("image", "ocr") and m.get("sources")] or ["en"]
        cells = [(lang, name, payload) for lang in langs for name, payload in payloads_for(lang).items()]
        for path in args.posts or []:  # fresh posts: every request a different one, each cell its own
            need = [max(args.requests, 4 * c) + min(20, max(args.requests, 4 * c)) for c in concurrencies]
            lang, bodies = fresh_payloads(path, sum(need))
            if lang in langs:
                starts = np.cumsum([0, *need])
                cells.append((lang, "fresh+thread", [bodies[a:b] for a, b in zip(starts, starts[1:])]))
        for lang, name, payload in cells:
            for k, concurrency in enumerate(concurrencies):
                n = max(args.requests, 4 * concurrency)
                before, cpu_before = _batch_totals(base), _cpu_seconds(proc.pid)
                r = asyncio.run(load_phase(base, payload[k] if isinstance(payload, list) else payload, concurrency, n))
                after, cpu_after = _batch_totals(base), _cpu_seconds(proc.pid)
                batches = after[1] - before[1]
                mean_batch = (after[0] - before[0]) / batches if batches else float("nan")
                # CPU over the timed requests and the 20 warm-up ones before them
                cpu_ms = (cpu_after - cpu_before) * 1000 / (n + min(20, n))
                print(f"{lang + ' ' + name:<15} {concurrency:>4} {n:>8} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.0f} "
                      f"{cpu_ms:>10.2f} {mean_batch:>10.1f} {r['non_200']:>7}", flush=True)
        print()
        print(f"load average (1/5/15 min) after: {_load_average()}")
        print(f"peak RSS of the server: {_proc_status_mb(proc.pid, 'VmHWM'):.0f} MB")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(env["TAGSMITH_CACHE_DIR"], ignore_errors=True)  # ~20 MB of caches built for the measurement
    for line in fp32_vs_int8(args):
        print(line)
    print(TARGETS)
    return 0
