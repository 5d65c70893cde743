"""`python -m export.train_image features`: the frozen backbone's outputs for every photo, once.

The pooled 1280-d features, taps, ImageNet probabilities and colour histograms of every Corel-5k
and MediaEval image (--mirror: and of its horizontal mirror), computed with the serving
preprocessing (`inference.runtime.image.preprocess`) by the served graph without a head, into
--out/features.npz (+ items.json, backbone.onnx). --backbone lite0|lite1|lite2 (default lite0) picks
the EfficientNet-Lite; --size defaults to its own input side (224/240/260). The cache records both
(`backbone`: the BackboneConfig as JSON), and `train` passes them on to the folder.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from export.image_data import ImageItem, corel_items, mediaeval_items, mediaeval_posts
from export.image_model import BackboneConfig, TaggerNet, load_pretrained
from inference.runtime.image import RESIZERS, colour_histograms, normalise, open_image

log = logging.getLogger("export.train_image")


def export_backbone(path: Path, size: int = 224, cfg: BackboneConfig | None = None) -> None:
    """The served graph without a head: image -> features, imagenet_probs, taps (SAME pads fixed for `size`)."""
    net = TaggerNet(load_pretrained(cfg)).eval()  # eval: export restores the module's mode
    names = list(net.output_names)
    torch.onnx.export(net, (torch.zeros(1, 3, size, size),), str(path), input_names=["image"],
                      output_names=names, opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch"} for n in ("image", *names)})


def extract(items: list[ImageItem], onnx_path: Path, resize: str, workers: int = 2, batch_size: int = 16,
            mirror: bool = False, size: int = 224) -> dict[str, np.ndarray]:
    """Per image: pooled features, taps, ImageNet probabilities (the served graph's outputs) and
    colour histograms, all from the serving preprocessing (and of the mirror: 2x the CPU).
    onnxruntime with one thread per worker: ~3x less CPU than eager PyTorch here, same numbers
    (tests/test_image_export.py checks the parity)."""
    import onnxruntime as ort
    from concurrent.futures import ThreadPoolExecutor

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sessions = [ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"]) for _ in range(workers)]
    names = [o.name for o in sessions[0].get_outputs()]
    batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    start = time.time()

    def run(job: int) -> dict[str, np.ndarray]:
        images = [RESIZERS[resize](open_image(Path(it.path).read_bytes()), size=size) for it in batches[job]]
        x = np.stack([normalise(c) for c in images])
        if mirror:
            x = np.concatenate([x, np.stack([normalise(c.transpose(Image.Transpose.FLIP_LEFT_RIGHT)) for c in images])])
        outputs = dict(zip(names, sessions[job % workers].run(None, {"image": x})))
        if job % 20 == 0:
            log.info("batch %d/%d, %.1f s", job, len(batches), time.time() - start)
        n = len(images)
        got = {name: outputs[name][:n] for name in names}
        got["colour"] = np.stack([colour_histograms(p) for p in x[:n]])
        if mirror:
            got["features_flip"], got["taps_flip"] = outputs["features"][n:], outputs["taps"][n:]
        return got

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(run, range(len(batches))))
    arrays = {name: np.concatenate([r[name] for r in results]) for name in results[0]}
    arrays["imagenet_probs"] = arrays["imagenet_probs"].astype(np.float16)
    return arrays


def cmd_features(args) -> None:
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = BackboneConfig(variant=args.backbone)
    size = args.size or cfg.input_size
    items = corel_items(args.corel) + mediaeval_items(mediaeval_posts(args.mediaeval))
    export_backbone(out / "backbone.onnx", size, cfg)
    arrays = extract(items, out / "backbone.onnx", args.resize, workers=args.threads, mirror=args.mirror, size=size)
    np.savez(out / "features.npz", ids=np.array([it.id for it in items]), resize=np.array(args.resize),
             size=np.array(size), backbone=np.array(json.dumps(asdict(cfg))), **arrays)
    (out / "items.json").write_text(json.dumps([asdict(it) for it in items]))
    log.info("%d images -> %s", len(items), out / "features.npz")
