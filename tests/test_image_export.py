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
    from inference.runtime.image_tagger import ImageTagger

    tagger = ImageTagger(SHIPPED)
    tags = tagger.tag_batch([jpeg(1)], k=5)[0]
    assert len(tags) == 5 and all(0 <= s <= 1 for _, s in tags)
    assert tagger.config["parity"]["top5_mismatches"] == 0 and tagger.config["parity"]["images"] >= 200


def test_a_float16_graph_with_a_tuned_tail_matches_its_pytorch_model(tmp_path):
    """Format 3: BatchNorms folded and weights rounded to float16 values in PyTorch, stored as float16
    initializers + Cast in the graph: both sides compute the same model; the tail's features and
    taps replace the backbone's, the ImageNet classes still come from the original blocks."""
    import onnxruntime as ort

    from export.image_export import float16_initializers
    from export.image_model import TunedTail, fuse_bn_fp16

    torch.manual_seed(0)
    torch.set_num_threads(2)
    backbone = fuse_bn_fp16(EfficientNetLite0().eval())
    tail = TunedTail(backbone, 12, num_tags=5).eval()
    with torch.no_grad():
        for p in tail.blocks.parameters():
            p.add_(0.05 * torch.randn_like(p))  # a "tuned" copy that differs from the original blocks
    net = fuse_bn_fp16(TaggerNet(backbone, tail=tail).eval())
    export_onnx(net, tmp_path / "tagger.onnx")
    size_before = (tmp_path / "tagger.onnx").stat().st_size
    info = float16_initializers(tmp_path / "tagger.onnx")
    assert info["max_rounding"] == 0.0 and info["float16_initializers"] > 50
    assert (tmp_path / "tagger.onnx").stat().st_size < 0.7 * size_before
    session = ort.InferenceSession(str(tmp_path / "tagger.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["features", "imagenet_probs", "taps"]
    check = parity(net, tmp_path / "tagger.onnx", [jpeg(i) for i in range(2)], resize="squash")
    assert check["top5_mismatches"] == 0 and max(check["max_abs_diff"].values()) < 1e-3
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        features, probs, taps = net(x)
        plain_features, plain_taps = backbone.features_and_taps(x)
        assert torch.allclose(probs, torch.softmax(backbone._fc(plain_features), -1), atol=1e-5)
        assert torch.allclose(taps[:, :112], plain_taps[:, :112], atol=1e-5)  # block 10: shared
        assert not torch.allclose(features, plain_features, atol=1e-3)  # the tuned copy's
