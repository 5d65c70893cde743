"""One access log line per request and a request id on every response, through a real aiohttp server."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from inference.server.app import ServiceConfig, create_app
from inference.server.gateway import GatewayConfig
from service_fixtures import write_models_dir

POST = "Watching the final set at the Australian Open tonight"
KEY = "tsk_7_notarealsecretbutlooksalikeone"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture
async def client(aiohttp_client, models_dir, tmp_path):
    config = ServiceConfig(models_dir=models_dir, max_wait_ms=5, gateway=GatewayConfig(data_dir=tmp_path))
    return await aiohttp_client(create_app(config))


def access_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tagsmith.access"]


async def test_every_response_carries_a_request_id_and_a_clients_own_id_is_echoed(client):
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert len(first.headers["X-Request-Id"]) == 32
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    mine = await client.get("/healthz", headers={"X-Request-Id": "trace-42"})
    assert mine.headers["X-Request-Id"] == "trace-42"
    odd = await client.get("/healthz", headers={"X-Request-Id": "<script>" + "x" * 100})
    assert odd.headers["X-Request-Id"] != "<script>" + "x" * 100  # not a plain token: a fresh id instead


@pytest.mark.parametrize("method, path, body, status", [
    ("post", "/v1/suggest", {"text": POST, "k": 0}, 400),
    ("post", "/v1/suggest", {"text": ""}, 400),
    ("get", "/no/such/route", None, 404),
    ("get", "/v1/suggest", None, 405),
])
async def test_error_bodies_carry_the_same_request_id_as_the_header(client, method, path, body, status):
    response = await getattr(client, method)(path, json=body)
    assert response.status == status
    error = (await response.json())["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["request_id"] == response.headers["X-Request-Id"]


async def test_a_refused_key_gets_the_request_id_in_its_401(client):
    response = await client.post("/v1/suggest", json={"text": POST}, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status == 401
    assert (await response.json())["error"]["request_id"] == response.headers["X-Request-Id"]


async def test_each_request_logs_one_line_with_method_route_status_time_and_id(client, caplog):
    caplog.set_level(logging.INFO, logger="tagsmith.access")
    response = await client.post("/v1/suggest", json={"text": POST, "k": 3})
    assert response.status == 200
    [line] = access_lines(caplog)
    fields = line.access
    assert (fields["method"], fields["route"], fields["status"]) == ("POST", "/v1/suggest", 200)
    assert fields["ms"] >= 0 and fields["request_id"] == response.headers["X-Request-Id"]
    assert line.getMessage().startswith("POST /v1/suggest 200 ")


async def test_the_log_never_holds_the_post_text_the_key_or_the_query(client, caplog):
    caplog.set_level(logging.DEBUG)
    await client.post("/v1/suggest?token=querysecret", json={"text": POST, "thread": ["my private reply"]},
                      headers={"Authorization": f"Bearer {KEY}"})
    await client.post("/v1/suggest", json={"text": POST, "thread": ["my private reply"]})
    await client.get(f"/{KEY}")  # a key pasted into a path: the route is logged as 'unmatched'
    assert len(access_lines(caplog)) == 3
    # tagsmith's own loggers (aiohttp's access logger, off in `tagsmith serve` by default, logs raw paths)
    ours = [r for r in caplog.records if r.name.startswith(("tagsmith", "inference"))]
    logged = "\n".join(r.getMessage() + json.dumps(getattr(r, "access", {})) for r in ours)
    for secret in (POST, "Australian Open", "my private reply", KEY, "querysecret"):
        assert secret not in logged
    assert [r.access["status"] for r in access_lines(caplog)] == [401, 200, 404]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_log_format_json_writes_one_json_object_a_line(models_dir, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "inference.cli", "serve", "--models", str(models_dir), "--port", str(port),
               "--data-dir", str(tmp_path), "--log-format", "json"]
    log_file = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    request_id = response.headers["X-Request-Id"]
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(30)
        log_file.close()
    entries = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    access = [e for e in entries if e["logger"] == "tagsmith.access" and e["request_id"] == request_id]
    assert access and access[0]["route"] == "/readyz" and access[0]["status"] == 200 and access[0]["method"] == "GET"
