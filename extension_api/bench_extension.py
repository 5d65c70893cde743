"""Benchmark of the browser extension: pause in typing -> chips rendered, p50/p95, in Chromium.

    python -m extension_api.bench_extension [--models runs/bench-models] [--runs 60]

Starts the real server (`tagsmith serve` on 127.0.0.1, a fresh data dir with one API key), then
tests/browser/extension_test.mjs --bench: Chromium (new headless) with the extension loaded types the
end of a post into a textarea, and the content script stamps when the 300 ms debounce fired and when
the chips were in the DOM. Needs /usr/bin/chromium and `npm ci` in tests/browser (the browser test
installs both). `running_server` is shared with tests/test_browser_extension.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_key(data_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "inference.cli", "keys", "create", "--name", "browser extension", "--data-dir", str(data_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    return out.stdout.strip()


@contextlib.contextmanager
def running_server(models: Path, data_dir: Path, log_dir: Path, ready_timeout_s: float = 120.0):
    """`tagsmith serve` on a free 127.0.0.1 port with one API key; yields (base_url, key)."""
    key = _create_key(data_dir)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "inference.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir), "--models", str(models), "--threads", "1"]
    log_path = Path(log_dir) / f"server-{port}.log"
    with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {ready_timeout_s:.0f} s: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(ROOT / "runs" / "bench-models"),
                        help="folder of model folders (default runs/bench-models: `tagsmith bench serve --build-retrieval runs/corpus` builds it)")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args(argv)
    models = Path(args.models)
    if not models.is_dir():
        print(f"error: no model folder {models}; build one with `tagsmith bench serve --build-retrieval runs/corpus`", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists() or not (DRIVER / "node_modules" / "playwright-core").exists():
        print(f"error: needs {CHROMIUM} (apt-get install chromium) and `npm ci` in {DRIVER}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tagsmith-bench-ext-") as tmp:
        with running_server(models, Path(tmp) / "data", Path(tmp)) as (base, key):
            print(f"tagsmith bench extension: server {base}, models {models}, {os.cpu_count()} CPU cores", flush=True)
            env = {**os.environ, "TAGSMITH_URL": base, "TAGSMITH_KEY": key, "OUT_DIR": tmp, "CHROMIUM": CHROMIUM}
            result = subprocess.run(["node", "extension_test.mjs", "--bench", str(args.runs)], cwd=DRIVER, env=env, timeout=600)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
