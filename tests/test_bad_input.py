"""Every malformed request gets a 4xx JSON error saying what was wrong, never a 500 or a traceback."""

from __future__ import annotations

import base64

import pytest

from inference.server.app import ServiceConfig, create_app
from service_fixtures import write_models_dir, write_retrieval_model

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture
async def client(aiohttp_client, models_dir):
    return await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir, max_body_bytes=MAX_BODY)))


async def error_of(response, status: int) -> tuple[str, str]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}
    assert "Traceback" not in body["error"]["message"]
    return body["error"]["code"], body["error"]["message"]


async def post_raw(client, data: bytes | str):
    return await client.post("/v1/suggest", data=data, headers={"Content-Type": "application/json"})


async def test_invalid_json_says_so(client):
    code, message = await error_of(await post_raw(client, b'{"text": "hi",'), 400)
    assert code == "invalid_json" and "not valid JSON" in message


async def test_invalid_utf8_is_invalid_json(client):
    code, _ = await error_of(await post_raw(client, b'{"text": "\xff\xfe"}'), 400)
    assert code == "invalid_json"


async def test_a_json_array_is_not_a_request(client):
    code, message = await error_of(await post_raw(client, b'["text"]'), 400)
    assert code == "invalid_json" and "JSON object" in message


@pytest.mark.parametrize(
    "body, field",
    [
        ({"text": 42}, "'text'"),
        ({"text": "hi", "thread": "one reply"}, "'thread'"),
        ({"text": "hi", "thread": ["ok", 3]}, "'thread'"),
        ({"text": "hi", "hashtags": "#tennis"}, "'hashtags'"),
        ({"text": "hi", "k": "5"}, "'k'"),
        ({"text": "hi", "k": 2.5}, "'k'"),
        ({"text": "hi", "k": True}, "'k'"),
        ({"text": "hi", "lang": 7}, "'lang'"),
        ({"text": "hi", "image": 12}, "'image'"),
        ({"text": "hi", "image": "not base64!!"}, "'image'"),
        ({"txt": "typo in the field name"}, "txt"),
    ],
)
async def test_wrong_types_name_the_field(client, body, field):
    code, message = await error_of(await client.post("/v1/suggest", json=body), 400)
    assert code == "invalid_field" and field in message


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"thread": ["only a reply"]}, {"text": None}])
async def test_neither_text_nor_image_is_refused(client, body):
    code, message = await error_of(await client.post("/v1/suggest", json=body), 400)
    assert code == "missing_input" and "'text'" in message


async def test_an_image_alone_answers_501_until_image_tagging_lands(client):
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n fake png bytes").decode()
    code, message = await error_of(await client.post("/v1/suggest", json={"image": image}), 501)
    assert code == "not_implemented" and "image" in message


async def test_an_image_with_text_is_answered_from_the_text(client):
    image = base64.b64encode(b"png").decode()
    response = await client.post("/v1/suggest", json={"text": "new iPhone", "image": image})
    assert response.status == 200


@pytest.mark.parametrize(
    "body, limit",
    [
        ({"text": "a" * 10_001}, "10000"),
        ({"text": "hi", "thread": ["reply"] * 51}, "50"),
        ({"text": "hi", "thread": ["ok", "b" * 5_001]}, "5000"),
    ],
)
async def test_texts_and_threads_over_their_limits_are_refused(client, body, limit):
    code, message = await error_of(await client.post("/v1/suggest", json=body), 400)
    assert code == "input_too_large" and limit in message


async def test_inputs_exactly_at_the_limits_are_accepted(client):
    text = ("tennis " * 1500)[:10_000]
    thread = ["b" * 1000] * 49 + ["c" * 5000]  # 50 messages, the longest at 5,000; body < 64 KiB
    response = await client.post("/v1/suggest", json={"text": text, "thread": thread, "k": 20})
    assert response.status == 200


@pytest.mark.parametrize("k", [0, 21, -1, 1000])
async def test_k_out_of_range_is_refused(client, k):
    code, message = await error_of(await client.post("/v1/suggest", json={"text": "hi", "k": k}), 400)
    assert code == "invalid_field" and "from 1 to 20" in message


async def test_a_body_over_the_maximum_gets_413(client):
    code, message = await error_of(await client.post("/v1/suggest", json={"text": "x" * (MAX_BODY + 10)}), 413)
    assert code == "body_too_large" and str(MAX_BODY) in message


async def test_unknown_lang_is_refused(client):
    code, message = await error_of(await client.post("/v1/suggest", json={"text": "hola", "lang": "es"}), 400)
    assert code == "unknown_lang" and "'es'" in message


async def test_a_language_without_a_loaded_model_is_refused(aiohttp_client, tmp_path):
    write_retrieval_model(tmp_path / "en", "en")
    client = await aiohttp_client(create_app(ServiceConfig(models_dir=tmp_path)))
    code, message = await error_of(await client.post("/v1/suggest", json={"text": "澳网", "lang": "zh"}), 400)
    assert code == "unknown_lang" and "no model loaded" in message


async def test_unknown_route_is_a_json_404(client):
    code, message = await error_of(await client.get("/v2/nothing"), 404)
    assert code == "not_found" and "/v2/nothing" in message


async def test_wrong_method_is_a_json_405_with_allow(client):
    response = await client.get("/v1/suggest")
    code, _ = await error_of(response, 405)
    assert code == "method_not_allowed" and response.headers["Allow"] == "POST"


async def test_an_unexpected_failure_is_a_json_500_without_traceback(aiohttp_client, models_dir):
    from inference.runtime.suggester import Suggester

    class Broken(Suggester):
        def suggest_batch(self, requests):
            raise RuntimeError("secret internal detail")

    suggester = Suggester.from_models_dir(models_dir)
    broken = Broken(suggester.models)
    client = await aiohttp_client(create_app(ServiceConfig(), suggester=broken))
    code, message = await error_of(await client.post("/v1/suggest", json={"text": "hi"}), 500)
    assert code == "internal" and "secret" not in message
