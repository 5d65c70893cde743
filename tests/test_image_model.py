"""EfficientNet-Lite0: every key of the shipped state dict loads, and ImageNet predictions on
real Corel photos make sense (skipped without the shared data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from export.image_model import BackboneConfig, Conv2dSame, EfficientNetLite0, load_pretrained, pretrained_state_dict  # noqa: E402
from inference.runtime.image_preprocess import preprocess  # noqa: E402

COREL = Path(os.environ.get("TAGSMITH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "corel5k"


def test_every_key_of_the_state_dict_loads_strictly():
    state = pretrained_state_dict()
    model = EfficientNetLite0()
    assert set(model.state_dict()) == set(state)
    model.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(4.65e6, rel=0.01)


def test_same_padding_matches_tensorflow_output_sizes():
    conv = Conv2dSame(3, 4, 3, stride=2, bias=False)
    assert conv(torch.zeros(1, 3, 224, 224)).shape[-2:] == (112, 112)
    assert conv(torch.zeros(1, 3, 7, 8)).shape[-2:] == (4, 4)  # ceil(in / stride)


def test_features_and_logits_have_the_expected_shapes():
    model = EfficientNetLite0(BackboneConfig()).eval()
    with torch.no_grad():
        x = torch.zeros(2, 3, 224, 224)
        assert model.features(x).shape == (2, 1280) and model(x).shape == (2, 1000)


# ImageNet indexes: 292 tiger, 296 ice bear, 340 zebra, 386 African elephant, 101 tusker,
# 385 Indian elephant, 895 warplane, 404 airliner, 908 wing
PHOTOS = {"108000": {292}, "100000": {296}, "130037": {340}, "130085": {386, 101, 385}, "10000": {895, 404, 908}}


@pytest.mark.skipif(not COREL.exists(), reason="needs ../shared/data/corel5k")
def test_imagenet_top5_classes_are_right_on_corel_photos():
    torch.set_num_threads(2)
    model = load_pretrained()
    x = torch.from_numpy(np.stack([preprocess((COREL / "images" / f"{i}.jpeg").read_bytes()) for i in PHOTOS]))
    with torch.no_grad():
        top5 = torch.softmax(model(x), -1).topk(5).indices.tolist()
    for (photo, expected), found in zip(PHOTOS.items(), top5):
        assert expected & set(found), f"{photo}: top-5 {found} misses {expected}"
