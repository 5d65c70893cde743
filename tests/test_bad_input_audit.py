"""Each input of the hardening audit gets a 4xx and loses nothing stored; the OpenAPI document and the
validation agree on the drifts it listed; the data files are private; no version in `Server`."""

from __future__ import annotations

import asyncio
import json
import logging
import stat

import pytest

from extension_api.setup import setup as extension_setup
from inference.server.app import ServiceConfig, create_app
from inference.server.gateway import GatewayConfig
from inference.server.openapi import build_openapi
from inference.server.store import DB_FILENAME, Store
from service_fixtures import write_models_dir

HASH = "ab" * 32
NESTED = "[" * 30_000 + "]" * 30_000  # under the extension routes' 64 KB body limit
SETTINGS = "/v1/communities/discord:1/settings"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"), langs=("en",))


def service(models_dir, data_dir):
    config = ServiceConfig(models_dir=models_dir, gateway=GatewayConfig(data_dir=data_dir), warm_up=False)
    return create_app(config, extensions=[extension_setup])


@pytest.fixture
async def client(aiohttp_client, models_dir, tmp_path):
    return await aiohttp_client(service(models_dir, tmp_path))


async def refused(response, status=400, code=None) -> str:
    assert response.status == status, await response.text()
    error = (await response.json())["error"]
    assert code is None or error["code"] == code
    return error["message"]


async def post_json(client, path, text: str, method="post"):
    return await getattr(client, method)(path, data=text.encode(), headers={"Content-Type": "application/json"})


async def feedback_rows(client) -> int:
    return (await (await client.get("/v1/trending?window=1h")).json())["tags"]


@pytest.mark.parametrize("path, method", [("/v1/suggest", "post"), ("/v1/feedback", "post"), (SETTINGS, "put")])
async def test_deeply_nested_json_is_a_400_on_every_json_route(client, path, method):
    for body in (NESTED, '{"text": ' + "[" * 40 + "]" * 40 + "}"):
        assert "deep" in await refused(await post_json(client, path, body, method), code="invalid_json")


async def test_deeply_nested_json_in_the_multipart_request_part_is_a_400(client):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("request", NESTED, content_type="application/json")
    assert "deep" in await refused(await client.post("/v1/suggest", data=form), code="invalid_json")


@pytest.mark.parametrize(
    "path, method, body",
    [
        ("/v1/feedback", "post", {"tag": "x", "text_hash": HASH, "action": "accepted", "client": "\\ud800"}),
        ("/v1/feedback", "post", {"tag": "aus \\udc00open", "text_hash": HASH, "action": "accepted"}),
        (SETTINGS, "put", {"blocked_tags": ["a \\ud83d b"]}),
        ("/v1/suggest", "post", {"text": "tennis \\ud800 final"}),
        ("/v1/suggest", "post", {"text": "tennis", "image": "iVBORw0KGgo\\ud800"}),  # ASCII strings are not scanned; this one is not ASCII
    ],
)
async def test_lone_surrogates_are_refused_at_parse_and_nothing_is_stored(client, path, method, body):
    raw = json.dumps(body).replace("\\\\u", "\\u")  # the escape itself, as a client would send it
    assert "surrogate" in await refused(await post_json(client, path, raw, method), code="invalid_json")
    assert await feedback_rows(client) == []
    assert (await (await client.get(SETTINGS)).json())["blocked_tags"] == []


@pytest.mark.parametrize("limit", ["%C2%B2", "1" * 5000, "+5", "%EF%BC%95", "0", "101"])
async def test_trending_limit_must_be_ascii_digits_in_range(client, limit):
    assert "'limit'" in await refused(await client.get(f"/v1/trending?limit={limit}"))


@pytest.mark.parametrize("path", ["/v1/feedback", "/v1/suggest"])
async def test_a_client_aborting_mid_upload_is_logged_at_info_not_as_an_error(models_dir, tmp_path, caplog, path):
    from aiohttp import web

    runner = web.AppRunner(service(models_dir, tmp_path))  # as `tagsmith serve` runs it (no handler cancellation)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    caplog.set_level(logging.INFO)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
        writer.write(head.encode() + b'{"tag": "x", ')
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        for _ in range(50):
            if any("disconnected" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    assert any(r.levelno == logging.INFO and "disconnected" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if " 500 " in r.getMessage()]


# -- the document and the validation agree -------------------------------------------------------
@pytest.fixture(scope="module")
def document(models_dir):
    return build_openapi(service(models_dir, None))


def test_document_uses_openapi_3_0_syntax_and_defines_its_security_scheme(document):
    assert document["openapi"] == "3.0.3"
    assert '"type": [' not in json.dumps(document)
    assert document["components"]["securitySchemes"]["bearer"] == {**document["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1/"):
                assert {"bearer": []} in operation["security"], (method, path)
                assert {"401", "429"} <= set(operation["responses"]), (method, path)


async def test_an_empty_suggest_body_is_refused_by_both(client, document):
    schema = document["components"]["schemas"]["SuggestRequest"]
    assert schema["anyOf"] and all(branch["required"] for branch in schema["anyOf"])
    await refused(await client.post("/v1/suggest", json={}), code="missing_input")


async def test_null_fields_count_as_absent_and_empty_strings_are_refused_as_documented(client, document):
    schema = document["components"]["schemas"]["SuggestRequest"]
    assert schema["properties"]["image"]["nullable"] is True  # null or "": no image
    assert schema["anyOf"][1]["properties"]["image"]["minLength"] == 1  # an image alone must be one
    for image in (None, ""):
        assert (await client.post("/v1/suggest", json={"text": "Nadal wins the Australian Open", "image": image})).status == 200
        await refused(await client.post("/v1/suggest", json={"image": image}), code="missing_input")
    feedback = document["paths"]["/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert feedback["suggestion_id"]["nullable"] is True and "{1,128}" in feedback["suggestion_id"]["pattern"]
    ok = {"tag": "tennis", "text_hash": HASH, "action": "accepted", "suggestion_id": None}
    assert (await client.post("/v1/feedback", json=ok)).status == 201
    await refused(await client.post("/v1/feedback", json={**ok, "suggestion_id": ""}))


async def test_the_trending_window_pattern_is_the_one_the_route_checks(client, document):
    import re

    (window,) = [p for p in document["paths"]["/v1/trending"]["get"]["parameters"] if p["name"] == "window"]
    pattern = re.compile(window["schema"]["pattern"])
    for value in ("0d", "0m", "31d", "721h", "43201m", "01h", "24", "1h\n"):
        assert not pattern.fullmatch(value), value
        await refused(await client.get("/v1/trending", params={"window": value}))
    for value in ("1m", "43200m", "720h", "30d", "24h"):
        assert pattern.fullmatch(value)
        assert (await client.get("/v1/trending", params={"window": value})).status == 200


async def test_settings_requests_do_not_document_community_id_and_answers_do(client, document):
    put = document["paths"]["/v1/communities/{community_id}/settings"]["put"]
    request = put["requestBody"]["content"]["application/json"]["schema"]
    assert "community_id" not in request["properties"] and request["additionalProperties"] is False
    assert "community_id" in put["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    await refused(await client.put(SETTINGS, json={"community_id": "discord:1"}))
    assert (await client.put(SETTINGS, json={"blocked_tags": None, "max_count": None, "lang": None})).status == 200


# -- files and headers ----------------------------------------------------------------------------
def test_the_data_dir_is_0700_and_the_database_0600_even_when_it_was_looser(tmp_path):
    data_dir = tmp_path / "new" / "data"
    Store(data_dir).close()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for file in data_dir.glob(DB_FILENAME + "*"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    (data_dir / DB_FILENAME).chmod(0o644)
    Store(data_dir).close()
    assert stat.S_IMODE((data_dir / DB_FILENAME).stat().st_mode) == 0o600


async def test_responses_name_tagsmith_without_a_version(client):
    for path in ("/healthz", "/v1/trending", "/nowhere"):
        assert (await client.get(path)).headers["Server"] == "tagsmith"
