"""End to end through a real aiohttp server on 127.0.0.1 with a small real model folder."""

from __future__ import annotations

import asyncio
import re

import pytest

from inference.server.app import ServiceConfig, create_app
from inference.server.appkeys import OPENAPI_PATHS
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


# -- generator + retrieval fused, on a tiny randomly initialised exported generator ------------------


@pytest.fixture(scope="module")
def fused_models_dir(tmp_path_factory):
    """en/: a tiny exported ONNX generator (random weights, real architecture) plus a retrieval index
    over the same words; the fusion weighs both."""
    torch = pytest.importorskip("torch")
    import json
    import random

    from export.folder_manifest import write_manifest
    from export.model import HashtagGenerator, ModelConfig
    from export.onnx_export import build_model_folder
    from inference.runtime.retrieval import RetrievalIndex

    src_vocab = ["<pad>", "<unk>"] + [f"w{i}" for i in range(40)]
    tgt_vocab = ["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(20)]
    torch.manual_seed(1)
    torch.set_num_threads(1)
    model = HashtagGenerator(ModelConfig(len(src_vocab), len(tgt_vocab), emb_dim=16, hidden=16, enc_layers=1,
                                         max_post_len=8, max_conv_len=12, max_tag_len=4))
    with torch.no_grad():  # make <eos> likely so that hashtags finish inside max_tag_len
        model.output.bias[2] += 2.0
    rng = random.Random(0)
    records = [{"post": " ".join(rng.choices(src_vocab[2:], k=6)), "thread": [" ".join(rng.choices(src_vocab[2:], k=3))],
                "hashtags": [f"w{rng.randrange(20)}"], "lang": "en"} for _ in range(12)]
    root = tmp_path_factory.mktemp("fused")
    folder = root / "en"
    build_model_folder(model, src_vocab, tgt_vocab, folder, records, "en", parity_posts=8, batch_sizes=(8,), eval_posts=8)
    RetrievalIndex.build(records, str.split).save(folder)
    fusion = {"weights": {"generator": 1.0, "retrieval": 1.0}, "norms": {"generator": "softmax"}}
    (folder / "fusion.json").write_text(json.dumps(fusion))
    write_manifest(folder)  # files added after export: the folder's manifest lists them
    return root, records


async def test_generator_and_retrieval_are_fused(aiohttp_client, fused_models_dir):
    root, records = fused_models_dir
    client = await aiohttp_client(create_app(ServiceConfig(models_dir=root)))
    ready = await (await client.get("/readyz")).json()
    assert ready["models"]["en"]["sources"] == ["generator", "retrieval"]
    texts = [r["post"] for r in records[:6]]
    responses = await asyncio.gather(*(client.post("/v1/suggest", json={"text": t, "thread": ["w3 w4"], "k": 10}) for t in texts))
    bodies = [await r.json() for r in responses]
    sources = {s["source"] for b in bodies for s in b["suggestions"]}
    assert sources == {"generator", "retrieval"}
    for body in bodies:
        assert body["model"] == ready["models"]["en"]["model"]
        assert all(re.fullmatch(r"#W\d+( ?W\d+)*|#(W\d+)+", s["tag"]) for s in body["suggestions"])
        assert [s["score"] for s in body["suggestions"]] == sorted((s["score"] for s in body["suggestions"]), reverse=True)
