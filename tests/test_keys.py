"""API keys: lifecycle through the `tagsmith keys` functions, Bearer auth on /v1/*, keyless local use."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from inference.server.keys import create_key, run_create, run_list, run_revoke, verify_key
from extension_api.setup import make_standalone_app
from inference.server.gateway import GatewayConfig
from inference.server.store import DB_FILENAME, Store

ROOT = Path(__file__).resolve().parents[1]


async def _healthz(request):
    return web.json_response({"status": "ok"})


@pytest.fixture
def make_client(aiohttp_client, tmp_path):
    async def make(host: str = "127.0.0.1"):
        app = make_standalone_app(GatewayConfig(data_dir=tmp_path, host=host))
        app.router.add_get("/healthz", _healthz)
        return await aiohttp_client(app)

    return make


def _create(tmp_path, capsys, name="ext") -> str:
    assert run_create(argparse.Namespace(name=name, data_dir=str(tmp_path))) == 0
    return capsys.readouterr().out.strip()


async def test_key_lifecycle_create_use_list_revoke(make_client, tmp_path, capsys):
    key = _create(tmp_path, capsys, "chrome")
    assert key.startswith("tsk_1_")
    client = await make_client()
    auth = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/trending", headers=auth)).status == 200

    assert run_list(argparse.Namespace(data_dir=str(tmp_path))) == 0
    listing = capsys.readouterr().out
    assert "active" in listing and "chrome" in listing and key not in listing

    assert run_revoke(argparse.Namespace(id=1, data_dir=str(tmp_path))) == 0
    resp = await client.get("/v1/trending", headers=auth)
    assert resp.status == 401
    body = await resp.json()
    assert body["error"]["code"] == "unauthorized" and "revoked" in body["error"]["message"]
    assert run_list(argparse.Namespace(data_dir=str(tmp_path))) == 0
    assert "revoked" in capsys.readouterr().out


async def test_missing_malformed_and_unknown_keys_get_401_with_a_clear_message(make_client, tmp_path, capsys):
    key = _create(tmp_path, capsys)
    client = await make_client()
    cases = {
        None: "missing API key",
        "Basic abc": "must be 'Bearer <key>'",
        "Bearer nonsense": "malformed API key",
        "Bearer " + key[:-4] + "AAAA": "unknown API key",
        "Bearer tsk_99_" + "A" * 43: "unknown API key",
    }
    for header, message in cases.items():
        resp = await client.post("/v1/feedback", json={}, headers={"Authorization": header} if header else {})
        assert resp.status == 401, header
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert message in (await resp.json())["error"]["message"], header


async def test_keyless_local_use_works_until_the_first_key_exists(make_client, tmp_path, capsys):
    client = await make_client("127.0.0.1")
    assert (await client.get("/v1/trending")).status == 200
    _create(tmp_path, capsys)
    resp = await client.get("/v1/trending")
    assert resp.status == 401
    assert "this server has API keys" in (await resp.json())["error"]["message"]


async def test_keyless_use_is_refused_when_binding_beyond_localhost(make_client):
    client = await make_client("0.0.0.0")
    resp = await client.get("/v1/trending")
    assert resp.status == 401
    assert "binds to 0.0.0.0" in (await resp.json())["error"]["message"]


async def test_health_routes_need_no_key(make_client, tmp_path, capsys):
    _create(tmp_path, capsys)
    client = await make_client("0.0.0.0")
    assert (await client.get("/healthz")).status == 200


def test_keys_are_stored_only_as_salted_hashes(tmp_path):
    store = Store(tmp_path)
    _, key_a = create_key(store, "a")
    _, key_b = create_key(store, "b")
    rows = list(store.db.query("SELECT * FROM api_keys"))
    assert rows[0]["salt"] != rows[1]["salt"]
    assert verify_key(store, key_a).key_id == 1 and verify_key(store, key_b).key_id == 2
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob(DB_FILENAME + "*"))
    for key in (key_a, key_b):
        assert key.split("_", 2)[2].encode() not in raw


def test_tagsmith_keys_cli_creates_lists_and_revokes(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "inference.cli", "keys", *args, "--data-dir", str(tmp_path)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    created = cli("create", "--name", "firefox")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("tsk_1_")
    assert "firefox" in cli("list").stdout
    assert cli("revoke", "1").returncode == 0
    assert "revoked" in cli("list").stdout
    assert cli("revoke", "7").returncode == 1


async def test_on_the_core_app_v1_suggest_needs_a_key_and_health_routes_do_not(aiohttp_client, tmp_path, capsys):
    from extension_api.setup import setup
    from inference.server.app import ServiceConfig, create_app
    from service_fixtures import write_models_dir

    key = _create(tmp_path / "data", capsys)
    gateway = GatewayConfig(data_dir=tmp_path / "data", host="0.0.0.0", cors_origins=("chrome-extension://abc",), rate_per_s=1, rate_burst=2)
    config = ServiceConfig(host="0.0.0.0", models_dir=write_models_dir(tmp_path / "models"), gateway=gateway)
    client = await aiohttp_client(create_app(config, extensions=[setup]))
    body = {"text": "Watching the final set at the Australian Open tonight"}
    resp = await client.post("/v1/suggest", json=body)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthorized"
    auth = {"Authorization": f"Bearer {key}", "Origin": "chrome-extension://abc"}
    resp = await client.post("/v1/suggest", json=body, headers=auth)
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == "chrome-extension://abc"
    assert (await client.post("/v1/suggest", json=body, headers=auth)).status == 200
    assert (await client.post("/v1/suggest", json=body, headers=auth)).status == 429  # burst 2 from the gateway config
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert (await client.get(path)).status == 200, path
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    assert {"/v1/feedback", "/v1/trending", "/v1/communities/{community_id}/settings"} <= set(paths)
