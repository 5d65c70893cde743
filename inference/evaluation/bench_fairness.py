"""Fairness check: one client cannot stall the others. Prints figures, in one run (<= 2 minutes).

    python -m inference.evaluation.bench_fairness [--models DIR] [--polite 100]

Starts the real server (`tagsmith serve`) on 127.0.0.1 with two API keys (and four for the memory
check), then:

1. **memory**: four worst-case *valid* images at once, from four keys (4096 x 4096 RGBA PNGs, the
   largest decoded at full size): the server's RSS before, its peak while they run (sampled every
   10 ms) and after (is the memory given back?). Target: peak <= 800 MB.
2. **alone**: a polite key sends typical requests (bench_payloads' post + 5 replies, English and
   Chinese in turn), one at a time with a short pause: its p50/p99.
3. **under abuse**: the same, while an abusive key sends worst-case valid requests at its limit:
   maximum-size text + thread (10,000 + 50 x 5,000 characters, English and Chinese in turn) from
   three workers and large-pixel images (16.7 Mpx PNGs, 50 Mpx JPEGs) from two, each resending as
   soon as it is answered (after a 429, as soon as Retry-After allows, at most 1 s later: it keeps
   testing its limit). Target: polite p99 under abuse <= 2x its p99 alone.

The abuser's admitted cost, heavy-lane and decoding seconds come from the server's /metrics. Load
generator and server share the machine, as in `tagsmith bench serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inference.evaluation.bench_payloads import POST, THREAD, ZH_POST, ZH_THREAD
from inference.evaluation.bench_serve import _free_port, _get, _proc_status_mb
from inference.limits import MAX_TEXT_CHARS, MAX_THREAD_MESSAGE_CHARS, MAX_THREAD_MESSAGES

TARGETS = "targets: polite p99 under abuse <= 2x alone; peak RSS with four worst-case images in parallel <= 800 MB"


# -- payloads ----------------------------------------------------------------------------------------
def _fill(parts: list[str], n: int) -> str:
    out, i = [], 0
    while sum(len(p) + 1 for p in out) < n:
        out.append(parts[i % len(parts)])
        i += 1
    return " ".join(out)[:n]


def max_text_body(lang: str) -> dict:
    """The largest valid text request: a 10,000-character post and 50 replies of 5,000 (real sentences repeated)."""
    post, thread = (ZH_POST, ZH_THREAD) if lang == "zh" else (POST, THREAD)
    parts = [post, *thread]
    return {"text": _fill(parts, MAX_TEXT_CHARS),
            "thread": [_fill(parts[i % len(parts):] + parts, MAX_THREAD_MESSAGE_CHARS) for i in range(MAX_THREAD_MESSAGES)],
            "k": 20}


def typical_bodies() -> list[bytes]:
    return [json.dumps({"text": POST, "thread": THREAD, "k": 10}).encode(),
            json.dumps({"text": ZH_POST, "thread": ZH_THREAD, "k": 10}).encode()]


def worst_images() -> dict[str, bytes]:
    """Valid images that cost the most: a 4096 x 4096 RGBA PNG (decoded at full size, the pixel cap)
    and a 50 Mpx JPEG (the pixel limit, decoded at 1/8 scale)."""
    from PIL import Image

    images = {}
    img = Image.new("RGBA", (4096, 4096), (30, 120, 200, 160))
    img.paste((250, 200, 20, 255), (1000, 1000, 3000, 3000))
    out = io.BytesIO()
    img.save(out, "PNG")
    images["png_16mpx"] = out.getvalue()
    del img
    img = Image.new("RGB", (8660, 5773), (30, 120, 200))
    img.paste((250, 200, 20), (2000, 1500, 6000, 4000))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    images["jpeg_50mpx"] = out.getvalue()
    return images


# -- the server --------------------------------------------------------------------------------------
def create_keys(data_dir: Path, names: list[str]) -> dict[str, str]:
    from inference.server.keys import create_key
    from inference.server.store import Store

    store = Store(data_dir)
    try:
        return {name: create_key(store, name)[1] for name in names}
    finally:
        store.close()


def start_server(args: argparse.Namespace, port: int, data_dir: Path, log_path: Path) -> tuple[subprocess.Popen, float]:
    cmd = [sys.executable, "-m", "inference.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir), "--threads", str(args.threads)]
    if args.models:
        cmd += ["--models", args.models]
    cmd += args.server_arg
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    while time.perf_counter() - start < args.ready_timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if _get(f"http://127.0.0.1:{port}/readyz", timeout=0.5)[0] == 200:
                return proc, time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server not ready after {args.ready_timeout:g} s")


def metric_sums(base: str) -> dict[str, float]:
    _, body = _get(base + "/metrics")
    out = {}
    for name in ("tagsmith_request_cost_units_sum", "tagsmith_heavy_duration_seconds_sum", "tagsmith_heavy_duration_seconds_count",
                 "tagsmith_image_decode_seconds_sum", "tagsmith_image_decode_seconds_count", "tagsmith_batch_duration_seconds_sum"):
        match = re.search(rf"^{name} (\S+)$", body.decode(), re.M)
        out[name] = float(match.group(1)) if match else 0.0
    return out


# -- clients -----------------------------------------------------------------------------------------
def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


async def polite_phase(session, base: str, key: str, n: int, pause_s: float, label: str = "polite",
                       max_s: float = 40.0) -> dict:
    """n requests one at a time (fewer if max_s runs out first)."""
    bodies = typical_bodies()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies, statuses = [], {}
    deadline = time.perf_counter() + max_s
    for i in range(n):
        if time.perf_counter() > deadline:
            break
        start = time.perf_counter()
        async with session.post(base + "/v1/suggest", data=bodies[i % len(bodies)],
                                headers={**headers, "X-Request-Id": f"{label}-{i}"}) as response:
            await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(pause_s)
    return {"p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99), "max": max(latencies), "n": len(latencies),
            "statuses": statuses}


async def abuser(session, base: str, key: str, kind: str, payloads: list, stats: dict, stop: asyncio.Event) -> None:
    """Resends as soon as answered; after a 429/503 as soon as Retry-After allows, at most 1 s later."""
    import aiohttp

    i = 0
    while not stop.is_set():
        payload = payloads[i % len(payloads)]
        i += 1
        headers = {"Authorization": f"Bearer {key}"}
        if kind == "text":
            kwargs = {"data": payload, "headers": {**headers, "Content-Type": "application/json"}}
        else:
            form = aiohttp.FormData()
            form.add_field("text", "photo")
            form.add_field("image", payload, filename="big", content_type="application/octet-stream")
            kwargs = {"data": form, "headers": headers}
        try:
            async with session.post(base + "/v1/suggest", **kwargs) as response:
                body = await response.read()
                stats[response.status] = stats.get(response.status, 0) + 1
                if response.status not in (200, 429) and f"first {response.status}" not in stats:
                    stats[f"first {response.status}"] = body.decode(errors="replace")[:200]
                retry = float(response.headers.get("Retry-After", 0)) if response.status in (429, 503) else 0.0
        except (aiohttp.ClientError, asyncio.TimeoutError):
            stats["error"] = stats.get("error", 0) + 1
            retry = 0.2
        except asyncio.CancelledError:  # stopped with a request still being served (a long heavy one)
            stats["in flight at the end"] = stats.get("in flight at the end", 0) + 1
            raise
        if retry:
            try:
                await asyncio.wait_for(stop.wait(), min(retry, 1.0))
            except asyncio.TimeoutError:
                pass


async def _abuse(base: str, key: str, text_workers: int, image_workers: int, stop_event) -> dict:
    import aiohttp

    text_payloads = [json.dumps(max_text_body(lang)).encode() for lang in ("en", "zh")]
    images = list(worst_images().values())
    stop = asyncio.Event()
    stats: dict = {"text": {}, "image": {}}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120), connector=connector) as session:
        workers = [asyncio.create_task(abuser(session, base, key, "text", text_payloads, stats["text"], stop)) for _ in range(text_workers)]
        workers += [asyncio.create_task(abuser(session, base, key, "image", images, stats["image"], stop)) for _ in range(image_workers)]
        while not stop_event.is_set():
            await asyncio.sleep(0.05)
        stop.set()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return stats


def abuse_process(base: str, key: str, text_workers: int, image_workers: int, started, stop_event, results) -> None:
    """The abusive client, in its own process (as it would be on its own machine)."""
    started.set()
    results.put(asyncio.run(_abuse(base, key, text_workers, image_workers, stop_event)))


async def memory_phase(base: str, pid: int, keys: list[str], image: bytes) -> dict:
    import aiohttp

    await asyncio.sleep(0.5)
    before = _proc_status_mb(pid, "VmRSS")
    samples = [before]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(_proc_status_mb(pid, "VmRSS"))
            await asyncio.sleep(0.01)

    async def one(session, key: str) -> tuple[int, float]:
        form = aiohttp.FormData()
        form.add_field("text", "photo")
        form.add_field("image", image, filename="worst.png", content_type="image/png")
        start = time.perf_counter()
        async with session.post(base + "/v1/suggest", data=form, headers={"Authorization": f"Bearer {key}"}) as response:
            await response.read()
            return response.status, time.perf_counter() - start

    sampler = asyncio.create_task(sample())
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(one(session, k) for k in keys))
    await asyncio.sleep(1.0)
    done.set()
    await sampler
    return {"before": before, "peak": max(samples), "after": _proc_status_mb(pid, "VmRSS"),
            "statuses": [s for s, _ in results], "seconds": max(t for _, t in results)}


async def run_phases(args: argparse.Namespace, base: str, pid: int, keys: dict[str, str]) -> dict:
    import aiohttp

    out: dict = {}
    images = worst_images()
    timeout = aiohttp.ClientTimeout(total=120)
    out["memory"] = await memory_phase(base, pid, [keys[f"image{i}"] for i in range(4)], images["png_16mpx"])
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await polite_phase(session, base, keys["polite"], 20, 0.05, "warm")  # warm
        out["alone"] = await polite_phase(session, base, keys["polite"], args.polite, args.pause_ms / 1000, "alone", args.phase_s)
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    started, stop_event, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=abuse_process, args=(base, keys["abuser"], args.text_abusers, args.image_abusers,
                                                          started, stop_event, results), daemon=True)
    before = metric_sums(base)
    process.start()
    try:
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 30)
        await asyncio.sleep(args.abuse_lead_s)  # let the abuse reach its limit first
        start = time.perf_counter()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            out["abused"] = await polite_phase(session, base, keys["polite"], args.polite, args.pause_ms / 1000, "abused", args.phase_s)
        out["abuse_seconds"] = time.perf_counter() - start + args.abuse_lead_s
    finally:
        stop_event.set()
        stats = await asyncio.get_running_loop().run_in_executor(None, results.get, True, 30)
        process.join(10)
    after = metric_sums(base)
    out["abuser"] = stats
    out["server"] = {k: after[k] - before[k] for k in after}
    out["server"]["abuser_cost_units"] = out["server"]["tagsmith_request_cost_units_sum"]  # the polite key's too: subtracted below
    return out


def report(out: dict, args: argparse.Namespace, cold_s: float) -> None:
    alone, abused, memory = out["alone"], out["abused"], out["memory"]
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    print(f"server ready in {cold_s:.1f} s; polite key: {alone['n']} + {abused['n']} typical requests (post + 5 replies, en/zh), "
          f"one at a time, {args.pause_ms:g} ms apart")
    print(f"polite alone:        p50 {ms(alone['p50'])}  p99 {ms(alone['p99'])}  max {ms(alone['max'])}  statuses {alone['statuses']}")
    print(f"polite under abuse:  p50 {ms(abused['p50'])}  p99 {ms(abused['p99'])}  max {ms(abused['max'])}  statuses {abused['statuses']}")
    p50_ratio, p99_ratio = abused["p50"] / alone["p50"], abused["p99"] / alone["p99"]
    print(f"ratio under abuse / alone: p50 {p50_ratio:.2f}x  p99 {p99_ratio:.2f}x  (target p99 <= 2x: {'met' if p99_ratio <= 2 else 'MISSED'})")
    server = out["server"]
    polite_units = abused["n"] * 1.53  # bench_payloads' en/zh post + thread: 1.455 / 1.601 units
    print(f"abuser ({args.text_abusers} max-size text workers, {args.image_abusers} image workers, {out['abuse_seconds']:.0f} s): "
          f"text {out['abuser']['text']}  images {out['abuser']['image']}")
    print(f"  admitted ~{server['abuser_cost_units'] - polite_units:.0f} cost units; heavy lane busy "
          f"{server['tagsmith_heavy_duration_seconds_sum']:.1f} s ({server['tagsmith_heavy_duration_seconds_count']:.0f} requests), "
          f"image decoding {server['tagsmith_image_decode_seconds_sum']:.1f} s ({server['tagsmith_image_decode_seconds_count']:.0f} images) "
          f"(finished ones)")
    peak_ok = memory["peak"] <= 800
    print(f"four worst-case images in parallel (4096x4096 RGBA PNG, 4 keys): statuses {memory['statuses']} in {memory['seconds']:.1f} s; "
          f"RSS before {memory['before']:.0f} MB, peak {memory['peak']:.0f} MB (+{memory['peak'] - memory['before']:.0f}), "
          f"1 s after {memory['after']:.0f} MB (target peak <= 800 MB: {'met' if peak_ok else 'MISSED'})")
    print(TARGETS)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="tagsmith-fairness-") as tmp:
        data_dir = Path(tmp) / "data"
        keys = create_keys(data_dir, ["polite", "abuser", *(f"image{i}" for i in range(4))])
        port = _free_port()
        log_path = Path(tmp) / "server.log"
        proc, cold_s = start_server(args, port, data_dir, log_path)
        try:
            out = asyncio.run(asyncio.wait_for(run_phases(args, f"http://127.0.0.1:{port}", proc.pid, keys), args.max_seconds))
        finally:
            proc.send_signal(signal.SIGTERM)  # a heavy request still running delays a graceful stop: not waited for long
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if args.log:
                Path(args.log).write_bytes(log_path.read_bytes())
        report(out, args, cold_s)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m inference.evaluation.bench_fairness", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=None, metavar="DIR", help="folder of model folders (default: the shipped ones)")
    p.add_argument("--threads", type=int, default=2, help="the server's --threads (light text batches)")
    p.add_argument("--polite", type=int, default=150, help="polite requests per phase")
    p.add_argument("--phase-s", type=float, default=35.0, help="a polite phase stops after this many seconds, whatever its count")
    p.add_argument("--pause-ms", type=float, default=100.0, help="the polite client's pause between requests")
    p.add_argument("--text-abusers", type=int, default=3)
    p.add_argument("--image-abusers", type=int, default=2)
    p.add_argument("--abuse-lead-s", type=float, default=2.0, help="abuse before the polite phase starts")
    p.add_argument("--max-seconds", type=float, default=100.0, help="the phases are cut off after this (an error)")
    p.add_argument("--server-arg", action="append", default=[], metavar="ARG", help="extra `tagsmith serve` argument (repeatable), e.g. --server-arg=--cost-rate=1000")
    p.add_argument("--log", default=None, help="keep the server's log here")
    p.add_argument("--ready-timeout", type=float, default=90.0, help="seconds the server may take to answer /readyz (a busy machine starts it slowly)")
    return p


if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
