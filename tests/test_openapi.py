"""/openapi.json documents every route of the app, the core ones and those extensions add."""

from __future__ import annotations

import re

import pytest

from inference.server.app import ServiceConfig, create_app
from inference.server.openapi import build_openapi
from service_fixtures import write_models_dir


def routes_of(app) -> set[tuple[str, str]]:
    """(method, path template) of every route; HEAD is implied by GET."""
    routes = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "*"):
            continue
        path = route.resource.canonical
        routes.add((route.method.lower(), re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return routes


def test_every_core_route_is_documented():
    app = create_app(ServiceConfig())
    document = build_openapi(app)
    missing = [(m, p) for m, p in routes_of(app) if m not in document["paths"].get(p, {})]
    assert not missing, f"routes missing from /openapi.json: {missing}"


def test_document_is_openapi_3_with_resolvable_schema_references():
    document = build_openapi(create_app(ServiceConfig()))
    assert document["openapi"].startswith("3.")
    text = repr(document)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in document["components"]["schemas"], name


def test_every_documented_operation_has_responses():
    document = build_openapi(create_app(ServiceConfig()))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("responses"), f"{method.upper()} {path} documents no response"


def test_request_schema_states_the_input_limits():
    schema = build_openapi(create_app(ServiceConfig()))["components"]["schemas"]["SuggestRequest"]["properties"]
    assert schema["text"]["maxLength"] == 10_000
    assert schema["thread"]["maxItems"] == 50 and schema["thread"]["items"]["maxLength"] == 5_000
    assert (schema["k"]["minimum"], schema["k"]["maximum"]) == (1, 20)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"), langs=("en",))


async def test_served_document_covers_routes_including_extensions(aiohttp_client, models_dir):
    from aiohttp import web

    from inference.server.appkeys import OPENAPI_PATHS

    async def feedback(request):
        return web.json_response({})

    def setup(app):
        app.router.add_post("/v1/feedback/{suggestion_id}", feedback)
        app[OPENAPI_PATHS]["/v1/feedback/{suggestion_id}"] = {
            "post": {"summary": "feedback", "responses": {"204": {"description": "stored"}}}
        }

    app = create_app(ServiceConfig(models_dir=models_dir), extensions=[setup])
    client = await aiohttp_client(app)
    response = await client.get("/openapi.json")
    assert response.status == 200
    paths = (await response.json())["paths"]
    missing = [(m, p) for m, p in routes_of(app) if m not in paths.get(p, {})]
    assert not missing
    assert "/v1/feedback/{suggestion_id}" in paths
