"""Image tagging through the tagger, the suggester's fusion and the real aiohttp server.

A tiny real ONNX graph written here stands in for EfficientNet: its "features" are the mean
(x-127)/128 of each colour channel, so a red photo is tagged "red", and a green one is an ImageNet
"tiger" (whose WordNet tags come from the shipped mapping). Real onnxruntime, real server.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from inference.server.app import ServiceConfig, create_app
from inference.limits import MAX_IMAGE_BYTES
from inference.runtime.image_tagger import ImageTagger
from inference.runtime.suggester import SuggestRequest, Suggester
from service_fixtures import write_retrieval_model

TAGS = ["red", "green", "blue", "sunset"]
TIGER = 292  # ImageNet class index of "tiger"


def write_tiny_tagger(folder: Path) -> Path:
    """image.json + tagger.onnx + knn.npz with the contract of export/image_export.py."""
    folder.mkdir(parents=True, exist_ok=True)
    d = 8
    w1 = np.zeros((3, d), np.float32)
    w1[0, 0] = w1[1, 1] = w1[2, 2] = 1.0  # features [B,8]: channel means then zeros
    w2 = np.zeros((d, 1000), np.float32)
    w2[1, TIGER] = 12.0  # green -> tiger
    w3 = np.zeros((d, len(TAGS)), np.float32)
    w3[0, 0] = w3[1, 1] = w3[2, 2] = 6.0
    b3 = np.array([0, 0, 0, -6], np.float32)  # "sunset" only through the kNN neighbours
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["pooled"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w1"], ["features"]),
        helper.make_node("MatMul", ["features", "w2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["imagenet_probs"], axis=-1),
        helper.make_node("MatMul", ["features", "w3"], ["tag_logits0"]),
        helper.make_node("Add", ["tag_logits0", "b3"], ["tag_logits"]),
        helper.make_node("Sigmoid", ["tag_logits"], ["tag_scores"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny-tagger",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", d]),
         helper.make_tensor_value_info("imagenet_probs", TensorProto.FLOAT, ["batch", 1000]),
         helper.make_tensor_value_info("tag_scores", TensorProto.FLOAT, ["batch", len(TAGS)])],
        [numpy_helper.from_array(w, n) for w, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"), (b3, "b3"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, folder / "tagger.onnx")
    # kNN bank: a red photo tagged red + sunset, a green one green, a blue one blue
    bank = np.eye(3, d, dtype=np.float32)
    np.savez(folder / "knn.npz", mean=np.zeros(d, np.float32), proj=np.eye(d, dtype=np.float16),
             bank=bank.astype(np.float16), indptr=np.array([0, 2, 3, 4]), indices=np.array([0, 3, 1, 2], np.int32))
    config = {"name": "tiny-image", "version": "test", "graph": "tagger.onnx", "norm": "tf", "tags": TAGS,
              "fusion": {"head": 1.0, "knn": 1.0, "imagenet": 0.5, "knn_k": 1, "knn_temperature": 0.05},
              "tag_scale": [1.0] * len(TAGS)}
    (folder / "image.json").write_text(json.dumps(config))
    return folder


def photo(colour: tuple[int, int, int], fmt: str = "JPEG", size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


RED, GREEN, BLUE = photo((250, 5, 5)), photo((5, 250, 5)), photo((5, 5, 250))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    write_retrieval_model(root / "en", "en")
    write_tiny_tagger(root / "image")
    return root


@pytest.fixture(scope="module")
def tagger(models_dir) -> ImageTagger:
    return ImageTagger(models_dir / "image")


# -- tagger and fusion logic --------------------------------------------------------------------------
def test_photos_run_in_bounded_chunks_with_the_same_tags(tagger):
    assert tagger.max_run_batch == 1  # onnxruntime on the CPU: one photo's activations at a time
    together = tagger.tag_batch([RED, GREEN, BLUE, RED], k=5)
    tagger.max_run_batch = 3
    try:
        chunked = tagger.tag_batch([RED, GREEN, BLUE, RED], k=5)
    finally:
        tagger.max_run_batch = 1
    alone = [tagger.tag_batch([p], k=5)[0] for p in (RED, GREEN, BLUE, RED)]
    for other in (chunked, alone):
        assert [[w for w, _ in tags] for tags in other] == [[w for w, _ in tags] for tags in together]
        assert [s for tags in other for _, s in tags] == pytest.approx([s for tags in together for _, s in tags], abs=1e-5)


def test_a_photo_seen_ahead_gets_the_tags_of_one_run_in_the_batch(tagger):
    seen = [tagger.see(p)[0] for p in (RED, GREEN, BLUE)]  # what the service does in its image pool
    assert tagger.tag_arrays(seen, k=5) == tagger.tag_arrays([s.pixels for s in seen], k=5)
    assert tagger.tag_arrays([seen[0], seen[1].pixels], k=5) == tagger.tag_arrays([seen[0].pixels, seen[1].pixels], k=5)


def test_tagger_ranks_the_colour_of_each_photo_first(tagger):
    red, green, blue = tagger.tag_batch([RED, GREEN, BLUE], k=5)
    assert red[0][0] == "red" and blue[0][0] == "blue"
    assert green[0][0] in ("green", "tiger")
    assert all(0.0 <= s <= 1.0 for tags in (red, green, blue) for _, s in tags)


def test_knn_neighbours_transfer_tags_the_head_does_not_give(tagger):
    red = dict(tagger.tag_batch([RED], k=5)[0])
    assert "sunset" in red  # only the red training photo carries it


def test_imagenet_classes_reach_their_wordnet_hypernyms(tagger):
    green = dict(tagger.tag_batch([GREEN], k=8)[0])
    assert "tiger" in green and "big cat" in green


def test_image_only_request_gets_image_tags(models_dir, tagger):
    suggester = Suggester.from_models_dir(models_dir)
    assert suggester.images_supported
    result = suggester.suggest(SuggestRequest(text="", image=tagger.preprocess(RED), k=3))
    assert result.suggestions[0].tag == "#Red" and result.suggestions[0].source == "image"
    assert result.model == "tiny-image@test"


def test_existing_hashtags_are_excluded_from_image_tags(models_dir, tagger):
    suggester = Suggester.from_models_dir(models_dir)
    result = suggester.suggest(SuggestRequest(text="", hashtags=("#Red",), image=tagger.preprocess(RED), k=5))
    assert "red" not in [s.words for s in result.suggestions]
    assert "sunset" in [s.words for s in result.suggestions]


def test_caption_and_image_are_fused(models_dir, tagger):
    suggester = Suggester.from_models_dir(models_dir)
    text = "Watching the final set at the Australian Open tonight"
    text_only = suggester.suggest(SuggestRequest(text=text, k=10))
    fused = suggester.suggest(SuggestRequest(text=text, image=tagger.preprocess(BLUE), k=10))
    sources = {s.source for s in fused.suggestions}
    assert "image" in sources and sources - {"image"}  # both kinds of tags
    assert "image" not in {s.source for s in text_only.suggestions}
    assert fused.model == "tiny-en@test+tiny-image@test"


def test_a_wordy_caption_leaves_the_photo_a_third_of_the_places(models_dir, tagger):
    text = "Watching the final set at the Australian Open tonight"
    quiet = Suggester.from_models_dir(models_dir, image_weight=0.01, image_share=0.0)
    assert "red" not in [s.words for s in quiet.suggest(SuggestRequest(text=text, image=tagger.preprocess(RED), k=3)).suggestions]
    fused = Suggester.from_models_dir(models_dir, image_weight=0.01)
    words = [s.words for s in fused.suggest(SuggestRequest(text=text, image=tagger.preprocess(RED), k=3)).suggestions]
    assert len(words) == 3 and words[-1] == "red"  # round(3/3) = 1 place, the last


def test_a_batch_mixing_text_image_and_both_answers_each_request(models_dir, tagger):
    suggester = Suggester.from_models_dir(models_dir)
    requests = [SuggestRequest(text="Nadal wins the final"), SuggestRequest(text="", image=tagger.preprocess(GREEN)),
                SuggestRequest(text="Apple iPhone", image=tagger.preprocess(RED))]
    results = suggester.suggest_batch(requests)
    assert results[0].suggestions and {s.source for s in results[0].suggestions} != {"image"}
    assert {s.source for s in results[1].suggestions} == {"image"}
    assert "red" in [s.words for s in results[2].suggestions]


def test_an_image_only_models_dir_serves_images_alone(tmp_path):
    write_tiny_tagger(tmp_path / "image")
    suggester = Suggester.from_models_dir(tmp_path)
    result = suggester.suggest(SuggestRequest(text="", image=suggester.image_tagger.preprocess(BLUE)))
    assert result.suggestions[0].words == "blue"


def test_the_photo_floor_reads_the_probability_before_the_rebalancing(tmp_path):
    folder = write_tiny_tagger(tmp_path / "image")
    config = json.loads((folder / "image.json").read_text())
    config["tag_scale"] = [0.25, 1.0, 1.0, 1.0]  # "red" ranked down, as a frequent word (sky, water) is
    (folder / "image.json").write_text(json.dumps(config))
    tagger = ImageTagger(folder)
    (floored,) = tagger.tag_arrays([tagger.preprocess(RED)], k=5, floors=[True])
    assert "red" in [words for words, _ in floored]
    (blue,) = tagger.tag_arrays([tagger.preprocess(BLUE)], k=5, floors=[True])
    assert "red" not in [words for words, _ in blue]


def test_a_tampered_graph_fails_at_load(tmp_path):
    folder = write_tiny_tagger(tmp_path / "image")
    config = json.loads((folder / "image.json").read_text())
    config["sha256"] = {"tagger.onnx": "0" * 64}
    (folder / "image.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="sha256"):
        ImageTagger(folder)


# -- end to end through the real server ------------------------------------------------------------
@pytest.fixture
async def client(aiohttp_client, models_dir):
    return await aiohttp_client(create_app(ServiceConfig(models_dir=models_dir, max_wait_ms=5)))


async def test_base64_image_alone_is_tagged_end_to_end(client):
    response = await client.post("/v1/suggest", json={"image": base64.b64encode(RED).decode(), "k": 3})
    assert response.status == 200
    body = await response.json()
    assert body["suggestions"][0]["tag"] == "#Red"
    assert body["model"] == "tiny-image@test"


async def test_multipart_upload_with_caption_and_existing_hashtags(client):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("text", "Watching the final set at the Australian Open tonight")
    form.add_field("hashtags", "#Blue")
    form.add_field("k", "8")
    form.add_field("image", BLUE, filename="photo.jpg", content_type="image/jpeg")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 200, await response.text()
    words = [s["words"] for s in (await response.json())["suggestions"]]
    assert "blue" not in words and "aus open" in words


async def test_multipart_with_a_json_request_part(client):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("request", json.dumps({"k": 2}), content_type="application/json")
    form.add_field("image", GREEN, filename="g.png", content_type="image/png")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 200
    assert len((await response.json())["suggestions"]) == 2


@pytest.mark.parametrize("payload, status, code", [
    (b"definitely not an image", 400, "invalid_image"),
    (RED[: len(RED) // 2], 400, "invalid_image"),
    (b"", 400, "invalid_image"),
])
async def test_bad_images_get_a_clear_4xx(client, payload, status, code):
    response = await client.post("/v1/suggest", json={"image": base64.b64encode(payload).decode()})
    assert response.status == status
    body = await response.json()
    assert body["error"]["code"] in (code, "missing_input")


async def test_multipart_bad_image_and_bad_k_are_4xx(client):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("image", b"GIF89a-broken", filename="x.gif", content_type="image/gif")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 400 and (await response.json())["error"]["code"] == "invalid_image"
    form = aiohttp.FormData()
    form.add_field("k", "many")
    form.add_field("image", RED, filename="x.jpg")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 400 and (await response.json())["error"]["code"] == "invalid_field"


async def test_a_photo_just_under_ten_megabytes_is_tagged_both_ways_and_one_over_is_413(client):
    import aiohttp

    noise = np.random.default_rng(0).integers(0, 256, (1780, 1780, 3), dtype=np.uint8)  # incompressible
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG", compress_level=0)
    big = buffer.getvalue()
    assert 9 * 1024 * 1024 < len(big) <= MAX_IMAGE_BYTES
    response = await client.post("/v1/suggest", json={"image": base64.b64encode(big).decode(), "k": 3})
    assert response.status == 200, await response.text()
    form = aiohttp.FormData()
    form.add_field("image", big, filename="big.png", content_type="image/png")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 200, await response.text()
    form = aiohttp.FormData()
    form.add_field("image", big + bytes(MAX_IMAGE_BYTES + 1 - len(big)), filename="over.png", content_type="image/png")
    response = await client.post("/v1/suggest", data=form)
    assert response.status == 413 and (await response.json())["error"]["code"] == "image_too_large"


async def test_without_an_image_model_an_image_alone_is_501(aiohttp_client, tmp_path):
    write_retrieval_model(tmp_path / "en", "en")
    client = await aiohttp_client(create_app(ServiceConfig(models_dir=tmp_path, max_wait_ms=5)))
    response = await client.post("/v1/suggest", json={"image": base64.b64encode(RED).decode()})
    assert response.status == 501


async def test_readiness_lists_the_image_model(client):
    body = await (await client.get("/readyz")).json()
    assert body["models"]["image"]["model"] == "tiny-image@test"


def test_predict_reads_image_paths_relative_to_the_jsonl_folder(models_dir, tmp_path):
    import argparse

    from inference.evaluation.predict import run_predict

    data = tmp_path / "posts"
    (data / "photos").mkdir(parents=True)
    (data / "photos" / "red.jpg").write_bytes(RED)
    records = [
        {"id": "a", "post": "", "hashtags": ["x"], "image": "photos/red.jpg"},  # an image alone
        {"id": "b", "post": "Nadal wins the Australian Open final", "hashtags": ["x"], "image": None},
        {"id": "c", "post": "", "hashtags": ["x"], "image": "photos/missing.jpg"},  # warned, skipped
    ]
    (data / "posts.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = tmp_path / "pred.txt"
    args = argparse.Namespace(input=str(data / "posts.jsonl"), format=None, output=str(out), k=3, model=str(models_dir))
    assert run_predict(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[0].split(";")[0] == "red" and "aus open" in lines[1]


def test_predict_on_a_corel5k_label_file_keeps_to_its_words_and_evaluate_scores_the_corel_protocol(models_dir, tmp_path, capsys):
    import argparse

    from inference.evaluation.metrics import run_evaluate
    from inference.evaluation.predict import run_predict

    corel = tmp_path / "corel5k"
    (corel / "images").mkdir(parents=True)
    (corel / "words").write_text("red\ngreen\nsunset\n")  # no "blue", no ImageNet "tiger"
    (corel / "images" / "101.jpeg").write_bytes(RED)
    (corel / "images" / "102.jpeg").write_bytes(GREEN)
    (corel / "test_label").write_text("101 1 3\n102 2\n")
    out = tmp_path / "pred.txt"
    args = argparse.Namespace(input=str(corel / "test_label"), format=None, output=str(out), k=5, model=str(models_dir), vocab=None)
    assert run_predict(args) == 0
    lines = [line.split(";") for line in out.read_text().splitlines()]
    assert lines[0][0] == "red" and lines[1][0] == "green"
    assert {w for line in lines for w in line} <= {"red", "green", "sunset"}
    assert run_evaluate(argparse.Namespace(gold=str(corel / "test_label"), pred=str(out), lang=None, protocol=None)) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert list(printed) == ["P", "R", "F1", "N+"] and printed["N+"] == "3"



def test_a_captioned_photo_gets_its_caption_grounded_never_its_far_neighbours_tags():
    """With the shipped models, a photo's caption passes the grounding stage (floor, support rules,
    safety) before it meets the photo's tags: no raw retrieval or generator tag reaches the list."""
    from inference.runtime.suggester import CAPTION, Suggester, SuggestRequest

    suggester = Suggester.from_default_models()
    photo = Image.new("RGB", (640, 480), (90, 140, 200))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    pixels, _ = suggester.read_photo(buffer.getvalue())
    result = suggester.suggest(SuggestRequest(text="yard sale this saturday", k=5, image=pixels))
    assert result.suggestions and {s.source for s in result.suggestions} <= {CAPTION, "image"}
    assert any(s.source == CAPTION for s in result.suggestions)
