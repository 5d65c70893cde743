"""Slow and idle clients: a trickling body gets 408 and is closed, idle connections are closed, the
connection cap makes room by closing idle connections and refuses cleanly when all are busy, and
a flood of identical log lines (accept errors) is logged once per interval."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inference.runtime.suggester import Suggester
from inference.server.app import ServiceConfig, create_app
from inference.server.connections import CONNECTIONS, connection_cap
from inference.server.log_floods import RateLimitFilter
from inference.server.serve import start_server
from service_fixtures import write_models_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return write_models_dir(tmp_path_factory.mktemp("models"), langs=("en",))


@pytest.fixture
async def serve(models_dir):
    """serve(**ServiceConfig fields) -> (host, port, app), a real server (AppRunner + CappedTCPSite)."""
    runners = []

    async def go(suggester=None, **fields):
        config = ServiceConfig(host="127.0.0.1", port=0, models_dir=models_dir, **fields)
        app = create_app(config, suggester=suggester)
        runner, site = await start_server(app, config)
        runners.append(runner)
        return "127.0.0.1", site.port, app

    yield go
    for runner in runners:
        await runner.cleanup()


async def read_until_closed(reader: asyncio.StreamReader, timeout_s: float) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout_s)  # read() returns at EOF


POST_HEAD = (b"POST /v1/suggest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n")


async def test_a_trickling_body_gets_408_within_the_timeout_and_is_closed(serve):
    host, port, app = await serve(body_timeout_s=0.5)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(POST_HEAD + b'{"text": "')
    start = time.perf_counter()

    async def trickle():
        for _ in range(100):  # 1 byte every 50 ms: never 1000 bytes within the timeout
            await asyncio.sleep(0.05)
            try:
                writer.write(b"a")
                await writer.drain()
            except ConnectionError:
                return

    trickler = asyncio.create_task(trickle())
    answer = await read_until_closed(reader, 5)
    elapsed = time.perf_counter() - start
    trickler.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"request_timeout"' in answer and b"Connection: close" in answer
    assert 0.4 < elapsed < 2.5  # the timeout, then closed at once (no lingering read of the trickle)
    assert app[CONNECTIONS].timeouts == 1
    metrics = await _get(host, port, "/metrics")
    assert b"tagsmith_request_timeouts_total 1.0" in metrics


async def test_a_body_that_arrives_in_time_is_answered(serve):
    host, port, _ = await serve(body_timeout_s=2)
    reader, writer = await asyncio.open_connection(host, port)
    body = b'{"text": "new iphone"}'
    writer.write(b"POST /v1/suggest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), 5):  # slow but steady: 5 bytes every 50 ms
        writer.write(body[i:i + 5])
        await asyncio.sleep(0.05)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200")
    writer.close()


async def _get(host: str, port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    data = await read_until_closed(reader, 10)
    writer.close()
    return data


async def test_an_idle_connection_is_closed_after_the_keepalive_timeout(serve):
    host, port, _ = await serve(keepalive_timeout_s=0.3)
    reader, writer = await asyncio.open_connection(host, port)  # never sends a request
    start = time.perf_counter()
    assert await read_until_closed(reader, 5) == b""
    assert time.perf_counter() - start < 3
    reader, writer = await asyncio.open_connection(host, port)  # one request, then idle
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    answer = await read_until_closed(reader, 5)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status": "ok"}')


async def test_at_the_connection_cap_a_new_client_takes_the_place_of_an_idle_one(serve):
    host, port, app = await serve(max_connections=3, keepalive_timeout_s=60)
    idle = [await asyncio.open_connection(host, port) for _ in range(3)]
    await asyncio.sleep(0.1)
    assert app[CONNECTIONS].open == 3
    assert (await _get(host, port, "/healthz")).startswith(b"HTTP/1.1 200")  # not locked out
    closed = 0
    for reader, writer in idle:
        try:
            closed += await asyncio.wait_for(reader.read(), 0.5) == b""
        except asyncio.TimeoutError:
            pass
    assert closed == 1 and app[CONNECTIONS].evicted == 1  # the oldest idle one made room


class Gate:
    def __init__(self):
        self.entered, self.release = threading.Event(), threading.Event()


class GatedSuggester(Suggester):
    def __init__(self, models, gate: Gate):
        super().__init__(models)
        self.gate = gate

    def suggest_batch(self, requests):
        self.gate.entered.set()
        assert self.gate.release.wait(30)
        return super().suggest_batch(requests)


async def test_at_the_cap_with_every_connection_busy_a_new_one_gets_503_without_a_traceback(serve, models_dir, caplog):
    gate = Gate()
    suggester = GatedSuggester(Suggester.from_models_dir(models_dir).models, gate)
    host, port, app = await serve(suggester, max_connections=2, keepalive_timeout_s=60, max_batch_size=1)
    body = b'{"text": "nadal"}'
    request = (b"POST /v1/suggest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    busy = []
    for _ in range(2):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        busy.append((reader, writer))
    for _ in range(300):
        if len(app[CONNECTIONS].busy) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(app[CONNECTIONS].busy) == 2
    with caplog.at_level(logging.DEBUG):
        refused = await _get(host, port, "/healthz")
    assert refused.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in refused and b'"overloaded"' in refused
    assert app[CONNECTIONS].refused == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    gate.release.set()
    for reader, writer in busy:
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).startswith(b"HTTP/1.1 200")
        writer.close()


def test_the_cap_stays_below_the_file_descriptor_limit():
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert connection_cap(None) < soft and connection_cap(10**9) < soft
    assert connection_cap(5) == 5


def test_the_same_log_line_passes_once_per_interval_then_says_how_many_were_suppressed():
    now = [0.0]
    limiter = RateLimitFilter(interval_s=10, clock=lambda: now[0])
    record = lambda: logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "socket.accept() out of system resource\nsocket: <fd 6>", (), None)  # noqa: E731
    passed = [limiter.filter(record()) for _ in range(1000)]
    assert passed.count(True) == 1
    other = logging.LogRecord("asyncio", logging.ERROR, __file__, 1, "something else", (), None)
    assert limiter.filter(other)
    now[0] = 10.5
    again = record()
    assert limiter.filter(again) and "[999 more like this in the last 10 s not logged]" in again.getMessage()


@pytest.mark.slow
def test_more_idle_connections_than_file_descriptors_neither_lock_clients_out_nor_flood_the_log(models_dir, tmp_path):
    """The audit: with a 1,024-fd limit, 1,100 idle connections made the service unreachable and wrote
    43,286 tracebacks. Here: a 256-fd server and 400 idle connections."""
    import resource

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "inference.cli", "serve", "--port", str(port), "--models", str(models_dir),
           "--data-dir", str(tmp_path / "data"), "--keepalive-timeout", "60"]

    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=low_fd_limit,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    sockets = []
    try:
        deadline = time.monotonic() + 60
        while b"Running on" not in log_path.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.1)
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sockets.append(sock)
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert proc.poll() is None
    finally:
        for sock in sockets:
            sock.close()
        proc.terminate()
        proc.wait(timeout=30)
    text = log_path.read_text()
    assert "Traceback" not in text and "out of system resource" not in text, text[-3000:]
    assert len(text.splitlines()) < 60
