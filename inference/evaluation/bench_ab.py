"""Paired A/B of the service at several git revisions: one server per revision, all up at once, the
same request sent to each in turn, one at a time.

    python -m inference.evaluation.bench_ab --requests 400 9ac73b5 HEAD [.] [--photos] [--posts FILE]

A shared machine's speed drifts by a fifth within an hour, more than most changes move a latency;
servers measured one after another compare hours, not code. Here every round of requests meets every
revision within a few tens of milliseconds (the order rotates each round), so the paired difference
(each request minus the same round's request to the first revision) is the change's own. "." is the
working tree; another revision is checked out with `git worktree add --detach` (removed afterwards).
Each server runs `tagsmith serve` with the deployed settings and the usual cache folder
($TAGSMITH_CACHE_DIR or ~/.cache/tagsmith: its tables are named by what they derive from).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from inference.evaluation.bench_payloads import fresh_payloads, payloads_for
from inference.evaluation.bench_serve import _cpu_seconds, _free_port

LANGS = ("en", "zh")
WARM = 20  # rounds per payload not counted (caches, first-run allocations)


def payloads(photos: bool, posts: list[str] = (), requests: int = 0) -> dict[str, dict | list[dict]]:
    """Name -> /v1/suggest body: en and zh post + 5 replies (k = 10), or bench_image's two photos; with
    `posts` (data files) also "LANG fresh": a different post + 5 replies every round (bench_payloads)."""
    if not photos:
        bodies: dict[str, dict | list[dict]] = {lang: payloads_for(lang)["post+thread"] for lang in LANGS}
        for path in posts:
            lang, fresh = fresh_payloads(path, WARM + requests)
            bodies[f"{lang} fresh"] = fresh
        return bodies
    import base64

    from inference.evaluation.bench_image import photo_with_text, photo_without_text

    return {name: {"image": base64.b64encode(make()).decode("ascii")}
            for name, make in (("no text", photo_without_text), ("text", photo_with_text))}


def checkout(rev: str, root: Path, into: Path) -> Path:
    """The tree to run `rev` from: the working tree for ".", else a detached worktree under `into`."""
    if rev == ".":
        return root
    tree = into / rev.replace("/", "_")
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "--force", str(tree), rev],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return tree


def start(tree: Path, port: int, data_dir: Path) -> subprocess.Popen:
    """`tagsmith serve` of the tree (python -m puts the tree first on the import path), ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir",
         str(data_dir), "--rate-limit", "1000000", "--rate-burst", "1000000"],
        cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # a first start builds the cache folder's tables
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server of {tree} exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status == 200:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the server of {tree} was not ready within 300 s")


async def rounds(ports: list[int], bodies: dict[str, dict | list[dict]], requests: int) -> dict[tuple[int, str], list[float]]:
    """(server index, payload name) -> latencies (ms) of the counted rounds, in round order. A list of
    bodies: round r sends the r-th to every server."""
    import aiohttp

    latencies: dict[tuple[int, str], list[float]] = {(i, name): [] for i in range(len(ports)) for name in bodies}
    async with aiohttp.ClientSession() as session:
        for name, body in bodies.items():
            for r in range(WARM + requests):
                for i in [(r + j) % len(ports) for j in range(len(ports))]:  # the order rotates every round
                    start = time.perf_counter()
                    sent = body[r] if isinstance(body, list) else body
                    async with session.post(f"http://127.0.0.1:{ports[i]}/v1/suggest", json=sent) as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"HTTP {response.status} from the server of revision {i + 1}")
                    if r >= WARM:
                        latencies[(i, name)].append((time.perf_counter() - start) * 1000)
    return latencies


def report(revs: list[str], latencies: dict, cpu: list[float], requests: int) -> None:
    names = list(dict.fromkeys(name for _, name in latencies))
    print(f"{len(revs)} servers up at once, {requests} counted rounds per payload ({', '.join(names)}), "
          f"each round every server once, c=1; {os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.1f}")
    for i, rev in enumerate(revs):
        parts = []
        for name in names:
            mine, first = latencies[(i, name)], latencies[(0, name)]
            diff = statistics.median(a - b for a, b in zip(mine, first))
            parts.append(f"{name} p50 {statistics.median(mine):6.2f} ms (paired vs {revs[0]}: {diff:+.2f})")
        print(f"{rev:>12}: " + ", ".join(parts) + f", server CPU {cpu[i] / (len(names) * (WARM + requests)) * 1000:.1f} ms/request")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m inference.evaluation.bench_ab", description=__doc__.split("\n")[0])
    parser.add_argument("revs", nargs="+", metavar="REV", help='git revisions ("." = the working tree); the first is the baseline')
    parser.add_argument("--requests", type=int, default=400, help="counted rounds per payload")
    parser.add_argument("--photos", action="store_true", help="bench_image's two photos instead of the text payloads")
    parser.add_argument("--posts", action="append", default=[], metavar="FILE",
                        help="also fresh posts cut from FILE's texts, a different one every round (repeatable, one language each)")
    args = parser.parse_args(argv)
    root = Path(subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="tagsmith-bench-ab-") as tmp:
        tmp_path, procs, trees = Path(tmp), [], []
        try:
            trees = [checkout(rev, root, tmp_path) for rev in args.revs]
            ports = [_free_port() for _ in trees]
            for i, (tree, port) in enumerate(zip(trees, ports)):  # one after another: the first builds the caches
                procs.append(start(tree, port, tmp_path / f"data-{i}"))
            before = [_cpu_seconds(p.pid) for p in procs]
            latencies = asyncio.run(rounds(ports, payloads(args.photos, args.posts, args.requests), args.requests))
            report(args.revs, latencies, [_cpu_seconds(p.pid) - b for p, b in zip(procs, before)], args.requests)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
            for tree in trees:
                if tree != root:
                    subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
