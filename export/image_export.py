"""Export the image tagger to an ONNX model folder, checking parity with PyTorch first.

    nice -n 5 python -m export.image_export --run runs/image --out inference/models/image

Writes (built in a temporary folder, moved in place only when every check passes):
    tagger.onnx  image [B,3,S,S] float32 -> features [B,1280], imagenet_probs [B,1000],
                 taps [B,T] (Lite0: pooled blocks 10/14/15, 624; the run's backbone: train_meta.json
                 "backbone", S its input.size); TorchScript exporter, opset 17, dynamic batch
                 format 3 (the run has tail.pt from `train_image finetune`): float16 initializers + Cast,
                 BatchNorms folded; features and the taps of blocks 14/15 from the tuned copy of blocks
                 12-15, the original blocks' pooled features appended to the taps, ImageNet classes from
                 the original blocks (`imagenet_vs_float32` in image.json: top-1 agreement with float32)
                 --float16 (any run): the same float16 weights over the frozen backbone, BatchNorms folded (Lite1's
                 graph 21.7 MB -> half; the bank and head stay those fitted on the float32 features)
    knn.npz      from the training run (per similarity space: mean, projection, the training photos'
                 projected vectors; their tags; the linear head's weights, float16; format 4: the per-word
                 calibration calib_weight [W,4] / calib_bias [W])
    image.json   name, version, preprocessing, vocabulary, fusion, tag_scale, dev metrics, sha256s
Parity: PyTorch and onnxruntime on >= 200 dev photos (batches of 1 and 32): identical top-5 tags
(the served ranking: head + kNN + rebalancing, `ImageTagger.vocab_scores`, on each side's graph
outputs) and top-5 ImageNet classes for every photo, max |diff| printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from export.image_data import ImageItem
from export.image_model import VARIANTS, BackboneConfig, TaggerNet, backbone_config, load_pretrained, load_tail
from export.folder_manifest import write_manifest
from inference.runtime.image import (DEFAULT_NORM, IMAGE_CONFIG, INPUT_SIZE, MAX_IMAGE_BYTES, MAX_PIXELS, RESIZE_SHORTER,
                             ImageTagger, preprocess)

log = logging.getLogger("export.image_export")
def export_onnx(net: TaggerNet, path: Path, size: int = INPUT_SIZE) -> None:
    net.eval()  # torch.onnx.export restores the module's mode afterwards: keep it eval
    names = list(net.output_names)
    torch.onnx.export(
        net, (torch.zeros(1, 3, size, size),), str(path), input_names=["image"], output_names=names,
        dynamic_axes={n: {0: "batch"} for n in ("image", *names)}, opset_version=17, dynamo=False,
    )
    net.eval()


def float16_initializers(path: Path, min_elements: int = 64) -> dict:
    """Rewrites the graph's float32 weights as float16 initializers, each followed by a Cast to
    float32 (onnxruntime folds the casts when the session starts: serving speed is unchanged, the
    file is half the size). Lossless when the weights are float16 values already (fuse_bn_fp16)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts, kept, lost = [], [], 0.0
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or arr.size < min_elements:
            kept.append(init)
            continue
        half = arr.astype(np.float16)
        lost = max(lost, float(np.abs(half.astype(np.float32) - arr).max()))
        kept.append(numpy_helper.from_array(half, init.name + "_fp16"))
        casts.append(helper.make_node("Cast", [init.name + "_fp16"], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return {"float16_initializers": len(casts), "max_rounding": lost}


def parity(net: TaggerNet, onnx_path: Path, images: list[bytes], tagger: ImageTagger | None = None,
           resize: str = "crop", size: int = INPUT_SIZE) -> dict:
    """Top-5 tags and ImageNet classes identical between PyTorch and onnxruntime on every image.
    With a tagger (the folder being written), the tags are its served ranking computed on each
    side's outputs; without one, the graph's tag_scores."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = np.stack([tagger.preprocess(b) if tagger else preprocess(b, resize=resize, size=size) for b in images])
    names = list(net.output_names)
    with torch.no_grad():
        expected = dict(zip(names, (t.numpy() for t in net(torch.from_numpy(x)))))
    max_diff = {n: 0.0 for n in names}
    mismatches = 0

    def tags(outputs: dict[str, np.ndarray]) -> np.ndarray:
        return tagger.vocab_scores(outputs, x) if tagger else outputs["tag_scores"]

    for batch in (1, 32):
        parts = [session.run(None, {"image": x[i:i + batch]}) for i in range(0, len(x), batch)]
        got = {name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(names)}
        for name in names:
            max_diff[name] = max(max_diff[name], float(np.abs(expected[name] - got[name]).max()))
        pairs = [(expected["imagenet_probs"], got["imagenet_probs"])]
        if tagger or "tag_scores" in names:
            pairs.append((tags(expected), tags(got)))
        for e, g in pairs:
            mismatches += int((np.argsort(-e, axis=1)[:, :5] != np.argsort(-g, axis=1)[:, :5]).any(axis=1).sum())
    return {"images": len(images), "batch_sizes": [1, 32], "top5_mismatches": mismatches,
            "max_abs_diff": {k: float(f"{v:.3g}") for k, v in max_diff.items()}}


def imagenet_agreement(onnx_path: Path, images: list[bytes], tagger: ImageTagger, cfg: BackboneConfig | None = None) -> dict:
    """Top-1 ImageNet class of the shipped graph vs the original float32 model on the same pixels."""
    x = np.stack([tagger.preprocess(b) for b in images])
    with torch.no_grad():
        reference = torch.softmax(load_pretrained(cfg)(torch.from_numpy(x)), -1).numpy()
    got = tagger.run(x)["imagenet_probs"]
    top5 = [len(set(np.argsort(-r)[:5]) & set(np.argsort(-g)[:5])) / 5 for r, g in zip(reference, got)]
    return {"images": len(x), "top1_same": round(float((reference.argmax(1) == got.argmax(1)).mean()), 4),
            "top5_overlap": round(float(np.mean(top5)), 4), "max_abs_diff": float(f"{np.abs(reference - got).max():.3g}")}


def served_dev(tagger: ImageTagger, dev: list[ImageItem], n_corel: int) -> dict:
    """The Corel protocol on the dev photos, scored by the folder's own serving code from the bytes."""
    from export.train_image import corel_protocol

    index = {t: i for i, t in enumerate(tagger.tags[:n_corel])}
    scores = []
    for i in range(0, len(dev), 32):
        pixels = [tagger.preprocess(Path(it.path).read_bytes()) for it in dev[i:i + 32]]
        scores.append(tagger.vocab_scores(tagger.run(pixels), np.stack(pixels))[:, :n_corel])
    gold = [{index[t] for t in it.tags if t in index} for it in dev]
    return corel_protocol(gold, np.concatenate(scores), n_corel)


def backbone_description(cfg: BackboneConfig) -> str:
    """image.json "backbone": which weights (Lite0's words as every folder before the option said)."""
    return f"{cfg.name} (ImageNet, {VARIANTS[cfg.variant].weights} 0.1.0), TF SAME padding"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/image")
    parser.add_argument("--out", default="inference/models/image")
    parser.add_argument("--parity-images", type=int, default=200)
    parser.add_argument("--version", default=time.strftime("%Y%m%d"))
    parser.add_argument("--float16", action="store_true",
                        help="float16 weights (BatchNorms folded, weights rounded; half the graph's file): Lite1/Lite2 fit 25 MB")
    parser.add_argument("--text-fusion-weight", type=float, default=0.5,
                        help="the image source's weight beside text sources (MediaEval dev sweep: train_image fusion-eval)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    run, out = Path(args.run), Path(args.out)
    meta = json.loads((run / "train_meta.json").read_text())
    cfg = backbone_config(meta.get("backbone"))  # the run's EfficientNet-Lite (runs before the option: Lite0)
    tail = run / "tail.pt"  # format 3: float16 weights, a fine-tuned copy of the last blocks
    fp16 = args.float16 or tail.exists()
    backbone = load_pretrained(cfg, fp16=fp16)
    # the head ships as numbers in knn.npz
    net = TaggerNet(backbone, tail=load_tail(tail, backbone) if tail.exists() else None).eval()
    # 4: a calibrated fusion (per-word sigmoid, co-occurrence: knn.npz calib_*), over either graph;
    # 5: the same with a hubness correction (knn.npz SPACE_hub)
    # the input side the run's features were computed at (train_meta.json, else the cache; 224 before either said)
    cache = np.load(run / "features.npz")
    size = int(meta.get("size", cache["size"] if "size" in cache.files else INPUT_SIZE))
    format_version = 5 if meta["fusion"].get("hub") else 4 if meta["fusion"].get("calibrated") else 3 if net.tail is not None else 2
    vocab = meta["vocab"]
    items = {d["id"]: ImageItem(d["id"], d["path"], tuple(d["tags"])) for d in json.loads((run / "items.json").read_text())}
    dev = [items[i] for i in meta["dev_ids"] if i in items][: args.parity_images]
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        tmp = Path(tmp)
        export_onnx(net, tmp / "tagger.onnx", size)
        if fp16:
            log.info("float16 weights: %s", float16_initializers(tmp / "tagger.onnx"))
        shutil.copy(run / "knn.npz", tmp / "knn.npz")
        config = {
            "format_version": format_version,
            "name": "tagsmith-image",
            "version": args.version,
            "backbone": backbone_description(cfg)
                        + (f"; float16 weights; blocks {net.tail.start}-15 + head conv fine-tuned on Corel-5k train"
                           " (features, taps of blocks 14/15; ImageNet classes from the original blocks)" if net.tail is not None
                           else "; float16 weights (BatchNorms folded)" if fp16 else ""),
            "backbone_config": asdict(cfg),
            "graph": "tagger.onnx",
            "input": {"size": size, "resize": meta.get("resize", "crop"), "resize_shorter": max(RESIZE_SHORTER, size),  # the crop never upsamples below the input
                      "norm": DEFAULT_NORM, "max_bytes": MAX_IMAGE_BYTES, "max_pixels": MAX_PIXELS},
            "norm": DEFAULT_NORM,
            "tags": vocab,
            "n_corel_words": meta["n_corel_words"],
            "fusion": meta["fusion"],
            "tag_scale": meta["tag_scale"],
            "text_fusion_weight": args.text_fusion_weight,
            "dev": meta["dev"],
            "split": meta["split"],
        }
        (tmp / IMAGE_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        check = parity(net, tmp / "tagger.onnx", [Path(it.path).read_bytes() for it in dev], ImageTagger(tmp))
        log.info("parity: %s", check)
        if check["top5_mismatches"] or check["images"] < 200:
            raise SystemExit(f"parity failed: {check}")
        config["parity"] = check
        if fp16:  # the ImageNet classes of the float16 graph against the original float32 model
            config["imagenet_vs_float32"] = imagenet_agreement(tmp / "tagger.onnx", [Path(it.path).read_bytes() for it in dev],
                                                               ImageTagger(tmp), cfg)
            log.info("ImageNet classes, float16 graph vs the float32 model: %s", config["imagenet_vs_float32"])
        config["dev_served"] = served_dev(ImageTagger(tmp), [items[i] for i in meta["dev_ids"] if i.startswith("corel-")],
                                          meta["n_corel_words"])
        log.info("Corel dev through the written folder (ImageTagger.vocab_scores): %s", config["dev_served"])
        config["sha256"] = {name: sha256(tmp / name) for name in ("tagger.onnx", "knn.npz")}
        (tmp / IMAGE_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(tmp, out)
    out.chmod(0o755)  # the temporary folder's 0700 came along
    write_manifest(out)  # format and sha256 of every file (inference/runtime/model_folder.py checks them)
    size = sum(p.stat().st_size for p in out.iterdir())
    log.info("wrote %s (%.1f MB)", out, size / 1e6)


if __name__ == "__main__":
    main()
