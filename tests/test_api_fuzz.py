"""schemathesis over every route of the real service (core, gateway, extension API) on 127.0.0.1:
no server error and every answer as /openapi.json documents it, for schema-valid and schema-invalid
requests (derandomised: the same requests every run). `python -m inference.evaluation.fuzz_api`
runs the same with thousands of requests."""

from __future__ import annotations

import pytest

from inference.evaluation.fuzz_api import fuzz, service_app, serving
from service_fixtures import write_models_dir

pytest.importorskip("schemathesis")
EXAMPLES = 25  # per operation and mode: about 500 requests, well under a minute


def test_no_route_answers_a_5xx_or_outside_its_schema(tmp_path):
    models = write_models_dir(tmp_path / "models")
    with serving(service_app(models, tmp_path / "data")) as base_url:
        report = fuzz(base_url, EXAMPLES, derandomize=True)
    assert report["failures"] == {}, "\n".join(report["examples"])
    assert not [s for s in report["statuses"] if s >= 500 and s != 501]
    documented = {"POST /v1/suggest", "POST /v1/feedback", "GET /v1/trending",
                  "GET /v1/communities/{community_id}/settings", "PUT /v1/communities/{community_id}/settings"}
    assert documented <= set(report["requests"])
    assert sum(report["requests"].values()) >= 200
