"""End to end through a real aiohttp server on 127.0.0.1 with a small real model folder."""

from __future__ import annotations

import asyncio
import re

import pytest

from inference.app import ServiceConfig, create_app
from inference.appkeys import OPENAPI_PATHS
from service_fixtures import write_models_dir


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture
async def client(aiohttp_client, models_dir):
    return await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir, max_wait_ms=5)))


async def test_suggest_returns_formatted_tags_with_model_and_timing(client):
    response = await client.post("/v1/suggest", json={"text": "Who wins the Australian Open final tonight?", "k": 3})
    assert response.status == 200
    body = await response.json()
    assert body["model"] == "tiny-en@test" and body["lang"] == "en"
    assert body["took_ms"] >= 0
    assert 1 <= len(body["suggestions"]) <= 3
    first = body["suggestions"][0]
    assert first == {"tag": "#AusOpen", "words": "aus open", "score": first["score"], "source": first["source"]}
    assert all(0 <= s["score"] <= 1 for s in body["suggestions"])


async def test_thread_context_steers_suggestions(client):
    body = {"text": "what a launch", "thread": ["the new iPhone camera looks great", "Apple did it again"], "k": 2}
    response = await client.post("/v1/suggest", json=body)
    tags = [s["tag"] for s in (await response.json())["suggestions"]]
    assert set(tags) == {"#iPhone", "#Apple"}


async def test_existing_hashtags_are_never_suggested_again(client):
    text = "Watching the final set at the Australian Open tonight"
    response = await client.post("/v1/suggest", json={"text": text + " #tennis", "hashtags": ["#AusOpen"], "k": 10})
    words = [s["words"] for s in (await response.json())["suggestions"]]
    assert "aus open" not in words and "tennis" not in words
    assert words  # something else is still suggested


async def test_language_is_detected_when_absent(client):
    response = await client.post("/v1/suggest", json={"text": "纳达尔 今晚 澳网 决赛"})
    body = await response.json()
    assert body["lang"] == "zh" and body["model"] == "tiny-zh@test"
    assert body["suggestions"][0]["tag"] == "#澳网"


async def test_explicit_lang_picks_that_model(client):
    response = await client.post("/v1/suggest", json={"text": "澳网", "lang": "en"})
    assert (await response.json())["model"] == "tiny-en@test"


async def test_health_and_readiness_report_loaded_models(client):
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    models = (await ready.json())["models"]
    assert models["en"] == {"model": "tiny-en@test", "sources": ["retrieval", "extract"]}


async def test_index_page_calls_the_suggest_route(client):
    response = await client.get("/")
    assert response.status == 200 and response.content_type == "text/html"
    assert "/v1/suggest" in await response.text()


async def test_metrics_count_requests_by_route_and_status(client):
    await client.post("/v1/suggest", json={"text": "iphone"})
    await client.post("/v1/suggest", json={"k": 3})
    await client.get("/nowhere")
    text = await (await client.get("/metrics")).text()
    assert re.search(r'tagsmith_http_requests_total\{method="POST",route="/v1/suggest",status="200"\} 1\.0', text)
    assert re.search(r'tagsmith_http_requests_total\{method="POST",route="/v1/suggest",status="400"\} 1\.0', text)
    assert re.search(r'tagsmith_http_requests_total\{method="GET",route="unmatched",status="404"\} 1\.0', text)
    assert 'tagsmith_http_request_duration_seconds_bucket{le="0.05",route="/v1/suggest"}' in text
    assert "tagsmith_batch_size_count 1.0" in text
    assert "tagsmith_queue_depth 0.0" in text


async def test_an_extension_adds_routes_and_middlewares(aiohttp_client, models_dir):
    from aiohttp import web

    seen = []

    @web.middleware
    async def tag_requests(request, handler):
        seen.append(request.path)
        return await handler(request)

    async def hello(request):
        return web.json_response({"hello": "extension"})

    def setup(app):
        app.middlewares.append(tag_requests)
        app.router.add_get("/v1/hello", hello)
        app[OPENAPI_PATHS]["/v1/hello"] = {"get": {"summary": "hi", "responses": {"200": {"description": "hi"}}}}

    client = await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir), extensions=[setup]))
    assert (await (await client.get("/v1/hello")).json()) == {"hello": "extension"}
    assert "/v1/hello" in (await (await client.get("/openapi.json")).json())["paths"]
    assert seen == ["/v1/hello", "/openapi.json"]


async def test_concurrent_clients_all_get_answers(client):
    texts = ["Nadal in the final", "new iPhone", "inflation and rates", "NBA finals tonight"] * 5
    responses = await asyncio.gather(*(client.post("/v1/suggest", json={"text": t, "k": 1}) for t in texts))
    bodies = [await r.json() for r in responses]
    assert [r.status for r in responses] == [200] * len(texts)
    assert [b["suggestions"][0]["tag"] for b in bodies[:4]] == ["#Nadal", "#iPhone", "#Inflation", "#NBAFinals"]
