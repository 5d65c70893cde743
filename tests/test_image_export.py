"""ONNX export of the tagger: onnxruntime agrees with PyTorch (top-5 and values), batch 1 and 3;
and the shipped folder, when present, loads and answers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from export.image_export import export_onnx, parity  # noqa: E402
from export.image_model import EfficientNetLite0, HeadConfig, TagHead, TaggerNet  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "inference" / "models" / "image"


def jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).resize((320, 240))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def test_onnx_graph_matches_pytorch_on_random_weights(tmp_path):
    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = TaggerNet(EfficientNetLite0(), TagHead(HeadConfig(num_tags=12))).eval()
    export_onnx(net, tmp_path / "tagger.onnx")
    assert not net.training and not net.backbone.training  # export must not leave BatchNorm in train mode
    check = parity(net, tmp_path / "tagger.onnx", [jpeg(i) for i in range(3)])
    assert check["top5_mismatches"] == 0
    assert max(check["max_abs_diff"].values()) < 1e-3


def test_a_headless_graph_exports_features_probabilities_and_taps(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = TaggerNet(EfficientNetLite0()).eval()
    export_onnx(net, tmp_path / "tagger.onnx")
    session = ort.InferenceSession(str(tmp_path / "tagger.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["features", "imagenet_probs", "taps"]
    check = parity(net, tmp_path / "tagger.onnx", [jpeg(i) for i in range(2)], resize="squash")
    assert check["top5_mismatches"] == 0 and check["max_abs_diff"]["taps"] < 1e-3


@pytest.mark.skipif(not (SHIPPED / "image.json").exists(), reason="no shipped image model")
def test_shipped_image_model_loads_checks_its_hashes_and_tags_a_photo():
    from inference.image import ImageTagger

    tagger = ImageTagger(SHIPPED)
    tags = tagger.tag_batch([jpeg(1)], k=5)[0]
    assert len(tags) == 5 and all(0 <= s <= 1 for _, s in tags)
    assert tagger.config["parity"]["top5_mismatches"] == 0 and tagger.config["parity"]["images"] >= 200
