"""`python -m export.train_image activations`: the cached input of the blocks `finetune` trains."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from export.image_model import Prefix, load_pretrained
from export.train_image.common import cache_backbone, load_cache
from inference.runtime.image import RESIZERS, normalise, open_image

log = logging.getLogger("export.train_image")


def cmd_activations(args) -> None:
    """The input of block --upto for every photo of --from's cache and its mirror, float16
    [N,C,7,7] (what fine-tuning the last blocks trains on), with onnxruntime on one thread."""
    import onnxruntime as ort

    torch.set_num_threads(1)
    src, out = Path(getattr(args, "from")), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items, _ = load_cache(src)
    resize = str(np.load(src / "features.npz")["resize"])
    if cache_backbone(np.load(src / "features.npz")).variant != "lite0":  # blocks 12-15, 7 x 7 at 224: Lite0's layout
        raise SystemExit(f"{src}: fine-tuning the last blocks is written for an EfficientNet-Lite0 cache")
    net = Prefix(load_pretrained(fp16=True), args.upto).eval()  # the weights as the float16 graph ships them
    torch.onnx.export(net, (torch.zeros(1, 3, 224, 224),), str(out / "prefix.onnx"), input_names=["image"],
                      output_names=["act", "taps"], opset_version=17, dynamo=False,
                      dynamic_axes={"image": {0: "b"}, "act": {0: "b"}, "taps": {0: "b"}})
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(out / "prefix.onnx"), options, providers=["CPUExecutionProvider"])
    acts, flips, taps, taps_flip, start = [], [], [], [], time.time()
    for i in range(0, len(items), 16):
        images = [RESIZERS[resize](open_image(Path(it.path).read_bytes())) for it in items[i:i + 16]]
        x = np.stack([normalise(c) for c in images] + [normalise(c.transpose(Image.Transpose.FLIP_LEFT_RIGHT)) for c in images])
        act, tap = session.run(None, {"image": x})
        act = act.astype(np.float16)
        acts.append(act[:len(images)]), flips.append(act[len(images):])
        taps.append(tap[:len(images)]), taps_flip.append(tap[len(images):])
        if i % 320 == 0:
            log.info("%d/%d, %.1f s", i, len(items), time.time() - start)
    np.savez(out / f"act{args.upto}.npz", ids=np.array([it.id for it in items]), act=np.concatenate(acts), act_flip=np.concatenate(flips),
             taps=np.concatenate(taps), taps_flip=np.concatenate(taps_flip))
    log.info("%d photos -> %s (%.0f s)", len(items), out / f"act{args.upto}.npz", time.time() - start)
