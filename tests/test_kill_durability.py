"""Nothing acknowledged is lost: SIGKILL the real server during a stream of feedback writes, then check
every acknowledged write is in the file, the file passes PRAGMA integrity_check, and a restarted
server serves it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from inference.server.store import DB_FILENAME
from service_fixtures import write_models_dir

ROOT = Path(__file__).resolve().parents[1]
WRITERS = 4
ACKS_BEFORE_KILL = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, data_dir: Path, models: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "inference.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
           "--models", str(models), "--threads", "1", "--rate-limit", "100000", "--rate-burst", "100000"]
    log = open(data_dir.parent / f"server-{time.monotonic_ns()}.log", "wb")  # a file: a full pipe would block the server
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    proc.log_path = Path(log.name)
    log.close()
    return proc


async def _wait_ready(proc: subprocess.Popen, base: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"server exited {proc.returncode}: {proc.log_path.read_text()[-2000:]}")
            try:
                async with session.get(base + "/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("server not ready in time")


def _key(data_dir: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "inference.cli", "keys", "create", "--name", "kill-test", "--data-dir", str(data_dir)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


CYCLES = int(os.environ.get("TAGSMITH_KILL_CYCLES", "1"))  # the audit's figure: TAGSMITH_KILL_CYCLES=30 pytest this file


@pytest.mark.parametrize("cycle", range(CYCLES))
async def test_sigkill_during_feedback_writes_loses_no_acknowledged_write(tmp_path, cycle):
    models = write_models_dir(tmp_path / "models")
    data_dir = tmp_path / "data"
    key = _key(data_dir)
    headers = {"Authorization": f"Bearer {key}"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start_server(port, data_dir, models)
    acked: dict[int, str] = {}  # feedback id -> text_hash, for every 201 received
    enough = asyncio.Event()
    try:
        await _wait_ready(proc, base)

        async def writer(w: int, session: aiohttp.ClientSession) -> None:
            i = 0
            while True:
                text_hash = hashlib.sha256(f"{w}-{i}".encode()).hexdigest()
                body = {"tag": f"kill test {w}", "text_hash": text_hash, "action": "accepted", "client": "kill-test"}
                try:
                    async with session.post(base + "/v1/feedback", json=body, headers=headers) as resp:
                        if resp.status != 201:
                            raise AssertionError(f"{resp.status}: {await resp.text()}")
                        acked[(await resp.json())["id"]] = text_hash
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    return  # the server is gone: this write was never acknowledged
                if len(acked) >= ACKS_BEFORE_KILL:
                    enough.set()
                i += 1

        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(writer(w, session)) for w in range(WRITERS)]
            await asyncio.wait_for(enough.wait(), timeout=120)
            proc.send_signal(signal.SIGKILL)  # mid-stream: writers have requests in flight
            proc.wait(timeout=30)
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert len(acked) >= ACKS_BEFORE_KILL
    conn = sqlite3.connect(data_dir / DB_FILENAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(conn.execute("SELECT id, text_hash FROM feedback"))
    conn.close()
    missing = {i: h for i, h in acked.items() if stored.get(i) != h}
    assert not missing, f"{len(missing)} acknowledged writes lost"

    # a restarted server opens the file and serves it
    proc = _start_server(port, data_dir, models)
    try:
        await _wait_ready(proc, base)
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(base + "/v1/trending?window=1h&limit=100") as resp:
                counts = {t["tag"]: t["count"] for t in (await resp.json())["tags"]}
            assert sum(counts.values()) >= len(acked)
            body = {"tag": "after restart", "text_hash": "ab" * 32, "action": "typed"}
            async with session.post(base + "/v1/feedback", json=body) as resp:
                assert resp.status == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
