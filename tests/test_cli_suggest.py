"""`tagsmith suggest` for a first-time user: checks k like the API, loads only what the post needs and
says how long that took, warns when a forced language contradicts the text; images as data: URLs."""

from __future__ import annotations

import base64

import pytest

from inference.cli import main
from inference.limits import MAX_K, MIN_K
from inference.server.app import ServiceConfig, create_app
from service_fixtures import write_models_dir
from test_image_service import RED, write_tiny_tagger

POST = "Watching the final set at the Australian Open tonight"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = write_models_dir(tmp_path_factory.mktemp("models"))
    write_tiny_tagger(root / "image")
    return root


def suggest(capsys, *args) -> tuple[int, str, str]:
    code = main(["suggest", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("k", [MIN_K - 1, MAX_K + 1, -3])
def test_k_outside_the_apis_range_exits_2_saying_the_range(capsys, models, k):
    code, out, err = suggest(capsys, POST, "--model", str(models), "--k", str(k))
    assert code == 2 and out == ""
    assert f"--k must be an integer from {MIN_K} to {MAX_K}" in err


def test_an_english_post_loads_only_the_english_model_and_says_how_long_it_took(capsys, models):
    code, out, err = suggest(capsys, POST, "--model", str(models), "--k", "2")
    assert code == 0 and out.splitlines()[0].split("\t")[0] == "#AusOpen"
    assert "loaded the en model in " in err and " s" in err
    assert "zh model" not in err and "image" not in err


def test_a_chinese_post_loads_only_the_chinese_model(capsys, models):
    code, out, err = suggest(capsys, "纳达尔 今晚 澳网 决赛", "--model", str(models), "--k", "2")
    assert code == 0 and out.splitlines()[0].split("\t")[0] == "#澳网"
    assert "loaded the zh model in " in err and "en model" not in err


def test_the_image_model_loads_only_with_an_image(capsys, models, tmp_path):
    picture = tmp_path / "red.jpg"
    picture.write_bytes(RED)
    code, out, err = suggest(capsys, "", "--image", str(picture), "--model", str(models), "--k", "2")
    assert code == 0 and out.splitlines()[0].split("\t")[0] == "#Red"
    assert "loaded the image model in " in err and "en model" not in err
    code, out, err = suggest(capsys, POST, "--image", str(picture), "--model", str(models), "--k", "5")
    assert code == 0 and "loaded the en model and the image model in " in err


def test_a_missing_photo_or_image_model_is_said_plainly(capsys, models, tmp_path):
    code, out, err = suggest(capsys, "", "--image", str(tmp_path / "nope.jpg"), "--model", str(models))
    assert code == 2 and "nope.jpg: no such file" in err and "loaded" not in err
    (tmp_path / "red.jpg").write_bytes(RED)
    code, out, err = suggest(capsys, "", "--image", str(tmp_path / "red.jpg"), "--model", str(write_models_dir(tmp_path / "text-only")))
    assert code == 2 and "no image model" in err


def test_a_forced_language_that_contradicts_the_text_is_warned_about(capsys, models):
    code, out, err = suggest(capsys, "纳达尔 今晚 澳网 决赛", "--lang", "en", "--model", str(models))
    assert code == 0
    assert "warning: --lang en was asked for, but the text reads as 'zh'" in err
    code, out, err = suggest(capsys, POST, "--lang", "en", "--model", str(models))
    assert "warning" not in err


@pytest.fixture
async def client(aiohttp_client, models):
    return await aiohttp_client(create_app(ServiceConfig(models_dir=models, max_wait_ms=5)))


async def test_an_image_sent_as_a_browsers_data_url_is_accepted(client):
    data_url = "data:image/jpeg;base64," + base64.b64encode(RED).decode()
    response = await client.post("/v1/suggest", json={"image": data_url, "k": 2})
    assert response.status == 200, await response.text()
    assert (await response.json())["suggestions"][0]["tag"] == "#Red"


@pytest.mark.parametrize("image", ["data:image/jpeg;base64,***", "data:text/plain,hello", "not base64!"])
async def test_a_data_url_without_valid_base64_is_still_a_400(client, image):
    response = await client.post("/v1/suggest", json={"image": image, "text": POST})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_field"
