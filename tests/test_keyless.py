"""Keyless local mode is safe from web pages: Host allow-list (DNS rebinding), JSON-only writes (no
cross-site form or text/plain post), per-address rate limits, never reopened by revoking keys."""

from __future__ import annotations

import argparse

import pytest

from extension_api.setup import make_standalone_app
from inference.server.gateway import GatewayConfig, host_name
from inference.server.keys import create_key
from inference.server.store import Store

HASH = "ab" * 32
FEEDBACK = {"tag": "tennis", "text_hash": HASH, "action": "accepted"}


@pytest.fixture
def make_client(aiohttp_client, tmp_path):
    async def make(**config):
        return await aiohttp_client(make_standalone_app(GatewayConfig(data_dir=tmp_path, **config)))

    return make


def _create_key(tmp_path) -> tuple[int, str]:
    store = Store(tmp_path)
    try:
        return create_key(store, "test")
    finally:
        store.close()


async def _stored(client) -> int:
    return sum(t["count"] for t in (await (await client.get("/v1/trending?window=1h")).json())["tags"])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "localhost.evil.example", "10.0.0.5"])
async def test_a_rebound_host_name_is_refused_on_a_localhost_server(make_client, host):
    client = await make_client()
    for method, path, kwargs in (("get", "/v1/trending", {}), ("post", "/v1/feedback", {"json": FEEDBACK}),
                                 ("put", "/v1/communities/x/settings", {"json": {"blocked_tags": ["a"]}})):
        resp = await getattr(client, method)(path, headers={"Host": host}, **kwargs)
        assert resp.status == 403, (method, path)
        assert (await resp.json())["error"]["code"] == "host_not_allowed"
    assert await _stored(client) == 0


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:9", "[::1]:8080", "LOCALHOST.", "127.0.0.2"])
async def test_loopback_host_names_are_accepted(make_client, host):
    client = await make_client()
    assert (await client.get("/v1/trending", headers={"Host": host})).status == 200


async def test_an_operator_adds_a_proxy_name_with_allowed_host(make_client):
    client = await make_client(allowed_hosts=("tags.example.org",))
    assert (await client.get("/v1/trending", headers={"Host": "tags.example.org"})).status == 200
    assert (await client.get("/v1/trending", headers={"Host": "evil.example"})).status == 403


def test_host_names_are_parsed_without_port_or_brackets():
    assert host_name("Example.ORG:8080") == "example.org"
    assert host_name("[::1]:80") == "::1"
    assert host_name("localhost.") == "localhost"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None])
async def test_writes_not_declared_as_json_get_415_and_store_nothing(make_client, content_type):
    import json

    client = await make_client()
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path, body in (("post", "/v1/feedback", FEEDBACK), ("put", "/v1/communities/x/settings", {"blocked_tags": ["a"]})):
        resp = await getattr(client, method)(path, data=json.dumps(body).encode(), headers=headers)
        assert resp.status == 415, (content_type, path)
        assert (await resp.json())["error"]["code"] == "unsupported_media_type"
    assert await _stored(client) == 0
    assert (await (await client.get("/v1/communities/x/settings")).json())["blocked_tags"] == []


async def test_keyless_requests_are_rate_limited_per_address(make_client):
    client = await make_client(rate_per_s=0.01, rate_burst=3)
    statuses = [(await client.get("/v1/trending")).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


async def test_revoking_the_last_key_does_not_reopen_keyless_use(make_client, tmp_path):
    key_id, key = _create_key(tmp_path)
    client = await make_client()
    assert (await client.get("/v1/trending")).status == 401
    store = Store(tmp_path)
    assert store.revoke_key(key_id)
    store.close()
    resp = await client.get("/v1/trending")
    assert resp.status == 401 and "--allow-keyless" in (await resp.json())["error"]["message"]


async def test_allow_keyless_reopens_it_once_no_key_is_active(make_client, tmp_path):
    key_id, key = _create_key(tmp_path)
    client = await make_client(allow_keyless=True)
    assert (await client.get("/v1/trending")).status == 401  # an active key still closes it
    store = Store(tmp_path)
    store.revoke_key(key_id)
    store.close()
    assert (await client.get("/v1/trending")).status == 200


async def test_allow_keyless_never_opens_a_server_bound_beyond_localhost(make_client):
    client = await make_client(host="0.0.0.0", allow_keyless=True)
    assert (await client.get("/v1/trending")).status == 401


def test_serve_options_reach_the_gateway_config():
    from inference.cli import build_parser

    args = build_parser().parse_args(["serve", "--allow-keyless", "--allowed-host", "Tags.Example.org", "--feedback-retention-days", "7"])
    config = GatewayConfig.from_args(args)
    assert config.allow_keyless and config.allowed_hosts == ("tags.example.org",)
    assert args.feedback_retention_days == 7.0
    assert isinstance(args, argparse.Namespace)
