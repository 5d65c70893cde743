"""CORS: an explicit allow-list, correct preflights, headers on error responses too."""

from __future__ import annotations

import pytest

from inference.server.cors import parse_origins
from extension_api.setup import make_standalone_app
from inference.server.gateway import GatewayConfig

CHROME = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
FIREFOX = "moz-extension://2f1a3c4e-8b9d-4e5f-a1b2-c3d4e5f60718"
WEB = "https://tagsmith.example.org"


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    config = GatewayConfig(data_dir=tmp_path, cors_origins=(CHROME, FIREFOX, WEB))
    return await aiohttp_client(make_standalone_app(config))


def _preflight(origin, method="POST", headers="authorization, content-type"):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return h


async def test_preflight_from_a_listed_extension_gets_204_with_allow_headers(client):
    for origin in (CHROME, FIREFOX, WEB):
        resp = await client.options("/v1/feedback", headers=_preflight(origin))
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        allowed = resp.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "Origin" in resp.headers["Vary"]


async def test_preflight_works_without_a_key_even_when_keys_exist(aiohttp_client, tmp_path):
    from inference.server.keys import create_key
    from inference.server.store import Store

    store = Store(tmp_path)
    create_key(store, "x")
    store.close()
    client = await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path, host="0.0.0.0", cors_origins=(CHROME,))))
    resp = await client.options("/v1/trending", headers=_preflight(CHROME, "GET", "authorization"))
    assert resp.status == 204


async def test_preflight_from_an_unlisted_origin_is_refused_without_allow_headers(client):
    resp = await client.options("/v1/feedback", headers=_preflight("chrome-extension://someoneelse"))
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    body = await resp.json()
    assert body["error"]["code"] == "origin_not_allowed" and "--cors-origin" in body["error"]["message"]


async def test_preflight_asking_for_an_unlisted_header_or_method_is_refused(client):
    resp = await client.options("/v1/feedback", headers=_preflight(CHROME, headers="x-custom"))
    assert resp.status == 403 and "x-custom" in (await resp.json())["error"]["message"]
    resp = await client.options("/v1/feedback", headers=_preflight(CHROME, method="DELETE"))
    assert resp.status == 403 and "DELETE" in (await resp.json())["error"]["message"]


async def test_nothing_is_allowed_by_default(aiohttp_client, tmp_path, monkeypatch):
    monkeypatch.delenv("TAGSMITH_CORS_ORIGINS", raising=False)
    config = GatewayConfig(data_dir=tmp_path, cors_origins=parse_origins([]))
    client = await aiohttp_client(make_standalone_app(config))
    resp = await client.options("/v1/feedback", headers=_preflight(CHROME))
    assert resp.status == 403
    resp = await client.get("/v1/trending", headers={"Origin": CHROME})
    assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers


async def test_actual_responses_carry_the_origin_only_for_listed_origins(client):
    resp = await client.get("/v1/trending", headers={"Origin": CHROME})
    assert resp.headers["Access-Control-Allow-Origin"] == CHROME
    assert "Origin" in resp.headers["Vary"]
    resp = await client.get("/v1/trending", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Origin" in resp.headers["Vary"]


async def test_error_responses_carry_cors_headers_so_the_extension_can_read_them(client):
    resp = await client.post("/v1/feedback", data=b"{not json", headers={"Origin": CHROME, "Content-Type": "application/json"})
    assert resp.status == 400
    assert resp.headers["Access-Control-Allow-Origin"] == CHROME
    assert "Retry-After" in resp.headers["Access-Control-Expose-Headers"]


def test_origins_come_from_flags_and_the_environment_and_bad_ones_are_rejected():
    assert parse_origins([CHROME], env=f" {WEB} ,{FIREFOX},") == (CHROME, WEB, FIREFOX)
    assert parse_origins([CHROME, CHROME], env="") == (CHROME,)
    for bad in ("*", "https://example.org/", "https://example.org/path", "example.org", "chrome-extension://"):
        with pytest.raises(ValueError, match="bad CORS origin"):
            parse_origins([bad], env="")
