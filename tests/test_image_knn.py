"""The format-2 image folder: head as numbers in knn.npz (on features ++ taps), kNN over a weighted
sum of similarity spaces (cnn, colour histograms), squashed input; format 4's per-word calibration and
co-occurrence smoothing; their validation at load."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from inference.runtime.image_preprocess import colour_histograms, open_image, preprocess, resize_squash
from inference.runtime.image_tagger import ImageTagger

TAGS = ["red", "green", "blue", "sunset"]
D, T = 8, 4  # features, taps


def write_format2_tagger(folder: Path, colour_sim: float = 0.5) -> Path:
    """tagger.onnx -> features [B,8] (channel means), imagenet_probs, taps [B,4]; knn.npz with the
    head (on features ++ taps), a cnn space and a colour space; image.json (resize: squash)."""
    folder.mkdir(parents=True, exist_ok=True)
    w1 = np.zeros((3, D), np.float32)
    w1[0, 0] = w1[1, 1] = w1[2, 2] = 1.0
    w2 = np.zeros((D, 1000), np.float32)
    w4 = np.zeros((D, T), np.float32)
    w4[0, 0] = w4[1, 1] = w4[2, 2] = 1.0
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["pooled"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w1"], ["features"]),
        helper.make_node("MatMul", ["features", "w2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["imagenet_probs"], axis=-1),
        helper.make_node("MatMul", ["features", "w4"], ["taps"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny-tagger-2",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", D]),
         helper.make_tensor_value_info("imagenet_probs", TensorProto.FLOAT, ["batch", 1000]),
         helper.make_tensor_value_info("taps", TensorProto.FLOAT, ["batch", T])],
        [numpy_helper.from_array(w, n) for w, n in ((w1, "w1"), (w2, "w2"), (w4, "w4"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, folder / "tagger.onnx")
    head_weight = np.zeros((D + T, len(TAGS)), np.float16)
    head_weight[0, 0] = head_weight[1, 1] = head_weight[2, 2] = 6.0
    head_bias = np.array([0, 0, 0, -6], np.float32)
    # three training photos: red (red + sunset), green, blue; cnn vectors = features ++ taps (l2 each)
    cnn = np.zeros((3, D + T), np.float32)
    for i in range(3):
        cnn[i, i] = cnn[i, D + i] = 1.0
    colour = np.stack([np.sqrt(colour_histograms(preprocess(photo(c), resize="squash")))
                       for c in ((250, 5, 5), (5, 250, 5), (5, 5, 250))])
    colour /= np.linalg.norm(colour, axis=1, keepdims=True)
    np.savez(folder / "knn.npz", cnn_mean=np.zeros(D + T, np.float32), cnn_bank=cnn.astype(np.float16),
             colour_mean=np.zeros(colour.shape[1], np.float32), colour_bank=colour.astype(np.float16),
             indptr=np.array([0, 2, 3, 4]), indices=np.array([0, 3, 1, 2], np.int32),
             head_weight=head_weight, head_bias=head_bias)
    config = {"name": "tiny-image-2", "version": "test", "format_version": 2, "graph": "tagger.onnx", "norm": "tf",
              "input": {"resize": "squash"}, "tags": TAGS,
              "fusion": {"head": 0.5, "knn": 1.0, "imagenet": 0.0, "knn_k": 1, "knn_temperature": 0.05,
                         "cnn_taps": True, "cnn_power": 0.5, "colour_sim": colour_sim, "head_taps": True},
              "tag_scale": [1.0, 1.0, 1.0, 0.9]}
    (folder / "image.json").write_text(json.dumps(config))
    return folder


def photo(colour: tuple[int, int, int], size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def test_squash_keeps_the_whole_photo():
    img = Image.new("RGB", (300, 100), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 30, 100))  # a red strip on the left tenth: a centre crop would cut it
    out = io.BytesIO()
    img.save(out, "PNG")
    squashed = resize_squash(open_image(out.getvalue()))
    assert squashed.size == (224, 224) and squashed.getpixel((5, 112))[0] > 200


def test_colour_histograms_sum_to_one_per_region_and_find_the_hue():
    h = colour_histograms(preprocess(photo((250, 5, 5)), resize="squash"))
    assert h.shape == (576,) and np.allclose(h.reshape(3, 192).sum(axis=1), 1.0)
    assert h[:192].argmax() // 16 in (0, 11)  # the first or last hue bin: red (hue wraps round)


def test_format2_folder_tags_with_the_numpy_head_and_the_spaces(tmp_path):
    tagger = ImageTagger(write_format2_tagger(tmp_path / "image"))
    assert tagger.resize == "squash" and "taps" in tagger.outputs
    red, green, blue = tagger.tag_batch([photo((250, 5, 5)), photo((5, 250, 5)), photo((5, 5, 250))], k=3)
    assert red[0][0] == "red" and green[0][0] == "green" and blue[0][0] == "blue"
    assert "sunset" in dict(red)  # kNN: only the red training photo carries it


def test_a_missing_space_or_bad_shapes_fail_at_load(tmp_path):
    folder = write_format2_tagger(tmp_path / "image")
    data = dict(np.load(folder / "knn.npz"))
    np.savez(folder / "knn.npz", **{k: v for k, v in data.items() if not k.startswith("colour_")})
    with pytest.raises(ValueError, match="colour"):
        ImageTagger(folder)
    np.savez(folder / "knn.npz", **{**data, "head_weight": data["head_weight"][:D]})
    with pytest.raises(ValueError, match="head_weight"):
        ImageTagger(folder)
    np.savez(folder / "knn.npz", **{**data, "indices": np.array([0, 9, 1, 2], np.int32)})
    with pytest.raises(ValueError, match="tag lists"):
        ImageTagger(folder)


def test_tag_scale_must_match_the_vocabulary(tmp_path):
    folder = write_format2_tagger(tmp_path / "image")
    config = json.loads((folder / "image.json").read_text())
    config["tag_scale"] = [1.0, -1.0]
    (folder / "image.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="tag_scale"):
        ImageTagger(folder)


def test_an_unknown_format_version_fails_at_load(tmp_path):
    folder = write_format2_tagger(tmp_path / "image")
    config = json.loads((folder / "image.json").read_text())
    config["format_version"] = 99
    (folder / "image.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="format_version 99 is not supported"):
        ImageTagger(folder)


def write_format4_tagger(folder: Path, cooc: float = 0.5) -> Path:
    """The format-2 fixture calibrated: a per-word sigmoid over (votes, cnn votes, colour votes, head
    logit) for the first 3 tags, co-occurrence smoothing; colour_sim 0 (the colour votes still need
    the colour space)."""
    write_format2_tagger(folder, colour_sim=0.0)
    config = json.loads((folder / "image.json").read_text())
    config["format_version"] = 4
    config["fusion"].update({"calibrated": True, "cooc": cooc, "colour_knn_temperature": 0.03})
    (folder / "image.json").write_text(json.dumps(config))
    data = dict(np.load(folder / "knn.npz"))
    calib_weight = np.tile(np.array([[4.0, 2.0, 1.0, 0.5]], np.float32), (3, 1))
    np.savez(folder / "knn.npz", **data, calib_weight=calib_weight, calib_bias=np.array([-3.0, -3.0, -2.0], np.float32))
    return folder


def test_format4_scores_are_the_per_word_sigmoid_smoothed_by_cooccurrence(tmp_path):
    from inference.runtime.image_scoring import CALIB_INPUTS, cooc_matrix

    tagger = ImageTagger(write_format4_tagger(tmp_path / "image"))
    assert tagger.knn.calib_weight.shape == (3, len(CALIB_INPUTS)) and "colour" in tagger.knn.spaces
    pixels = np.stack([preprocess(photo((250, 5, 5)), resize="squash")])
    outputs = tagger.run(pixels)
    got = tagger.vocab_scores(outputs, pixels)
    # by hand: the nearest photo (k = 1) is the red one in every space: votes (1, 0, 0) for the 3 words
    head = tagger.head_scores(outputs)[0]
    logit = np.log(head[:3]) - np.log1p(-head[:3])
    x = np.stack([[1.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0], logit], axis=-1)  # [3,4]
    p = 1 / (1 + np.exp(-((x * tagger.knn.calib_weight).sum(-1) + tagger.knn.calib_bias)))
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    assert np.allclose(cooc_matrix(labels), 0.0)  # no two of the words on one photo: nothing to smooth
    assert np.allclose(got[0, :3], p * 1.0, atol=1e-5)
    sunset = (0.5 * head[3] + 1.0 * 1.0) / 1.5 * 0.9  # uncalibrated tag: head + kNN mean, times its scale
    assert np.isclose(got[0, 3], sunset, atol=1e-5)
    assert tagger.tag_batch([photo((250, 5, 5))], k=1)[0][0][0] == "red"


def test_cooccurrence_smoothing_raises_a_word_seen_with_the_predicted_one():
    from inference.runtime.image_scoring import ImageFusion, score_tags

    labels = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]], np.float32)  # words 0 and 1 go together
    sims = {"cnn": np.array([[0.9, 0.1, 0.1, 0.1]], np.float32), "colour": np.zeros((1, 4), np.float32)}
    head = np.full((1, 3), 0.5, np.float32)
    calib = (np.array([[5.0, 0, 0, 0]] * 3, np.float32), np.full(3, -2.0, np.float32))
    fusion = ImageFusion(knn_k=1, calibrated=True)
    plain = score_tags(head, sims, labels, fusion, np.ones(3, np.float32), calib, None)
    from inference.runtime.image_scoring import cooc_matrix

    smoothed = score_tags(head, sims, labels, ImageFusion(knn_k=1, calibrated=True, cooc=0.5), np.ones(3, np.float32),
                          calib, cooc_matrix(labels))
    assert smoothed[0, 1] - plain[0, 1] > smoothed[0, 2] - plain[0, 2] >= 0


def test_a_calibrated_fusion_needs_its_arrays_and_format_4(tmp_path):
    folder = write_format4_tagger(tmp_path / "image")
    data = dict(np.load(folder / "knn.npz"))
    np.savez(folder / "knn.npz", **{k: v for k, v in data.items() if k != "calib_bias"})
    with pytest.raises(ValueError, match="calib_weight / calib_bias are missing"):
        ImageTagger(folder)
    np.savez(folder / "knn.npz", **{**data, "calib_weight": data["calib_weight"][:, :3]})
    with pytest.raises(ValueError, match="calib_weight"):
        ImageTagger(folder)
    np.savez(folder / "knn.npz", **{k: v for k, v in data.items() if not k.startswith("colour_")})
    with pytest.raises(ValueError, match="colour"):
        ImageTagger(folder)
    np.savez(folder / "knn.npz", **data)
    config = json.loads((folder / "image.json").read_text())
    (folder / "image.json").write_text(json.dumps({**config, "format_version": 2}))
    with pytest.raises(ValueError, match="format_version 4"):
        ImageTagger(folder)
    (folder / "image.json").write_text(json.dumps({**config, "fusion": {**config["fusion"], "cooc": -1.0}}))
    with pytest.raises(ValueError, match="cooc"):
        ImageTagger(folder)


def test_calibration_fit_learns_which_input_predicts_each_word():
    from export.train_image import fit_calibration
    from inference.runtime.image_scoring import calibrate

    rng = np.random.default_rng(0)
    x = rng.random((400, 2, 4)).astype(np.float32)  # [L,W,4]
    y = np.stack([x[:, 0, 0] > 0.7, x[:, 1, 3] > 0.7], axis=1).astype(np.float32)  # word 0: input 0; word 1: input 3
    weight, bias = fit_calibration(x, y, lam=0.1, steps=300)
    assert weight.shape == (2, 4) and bias.shape == (2,)
    assert weight[0].argmax() == 0 and weight[1].argmax() == 3
    p = calibrate(x, weight, bias)
    assert ((p > 0.5) == (y > 0)).mean() > 0.9


def test_the_unshipped_format_5_and_its_hubness_setting_are_not_read(tmp_path):
    folder = write_format4_tagger(tmp_path / "image")
    config = json.loads((folder / "image.json").read_text())
    (folder / "image.json").write_text(json.dumps({**config, "format_version": 5}))
    with pytest.raises(ValueError, match="format_version 5 is not supported"):
        ImageTagger(folder)
    (folder / "image.json").write_text(json.dumps({**config, "fusion": {**config["fusion"], "hub": 1.0}}))
    with pytest.raises(ValueError, match="does not know: hub"):
        ImageTagger(folder)
