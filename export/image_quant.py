"""An int8 copy of an image folder's graph (static quantization), measured against the float graph.

    cp -r inference/models/image DIR/image && nice -n 10 python -m export.image_quant --folder DIR/image

The shipped folder has no int8 graph: through `tagsmith predict` it cost a point of Corel dev F1
(docs/results.md, Backbones) for a graph the service's 2 cores run in about 8 ms anyway. A slower CPU
with VNNI may want one. This writes `tagger.int8.onnx` into the folder and records it in image.json
"int8" (graph, calibration, parity), its sha256 in image.json and manifest.json. onnxruntime.quantization's
`quantize_static`, QDQ format: every convolution (with its Clip, Add and Pad) in int8, activations uint8
with ranges read on Corel training photos (never the dev split), weights int8 per output channel; the
ImageNet classifier (Gemm, Softmax) stays float32.

The weights keep all 8 bits (with onnxruntime's `reduce_range`, 7, the features drift several times as
far). onnxruntime's u8s8 kernels add two uint8 x int8 products in int16 on an x86 CPU without VNNI and may
saturate there, so the runtime opens this graph only where the products are exact
(`inference.runtime.providers.int8_exact`) and the float graph elsewhere.

Parity (on the dev photos, float graph vs int8, each scored by the folder's own serving code): features
cosine, ImageNet top-1 agreement, served top-5 tags' overlap, and the Corel protocol on the dev split
through both graphs' bank scores (`ImageTagger.vocab_scores`; the ImageNet classes' tags, which the
product's path adds, are left out). The graph is refused (nothing written) when that dev F1 falls by
more than MAX_F1_DROP or the mean features cosine is under MIN_COSINE.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
from pathlib import Path

import numpy as np

from export.folder_manifest import write_manifest
from export.image_data import corel_items, dev_split
from export.train_image.common import SHARED, TrainConfig, corel_protocol
from inference.runtime.image_tagger import ImageTagger
from inference.runtime.model_folder import IMAGE_CONFIG, sha256_file
from inference.runtime.providers import CPU

log = logging.getLogger("export.image_quant")

INT8_GRAPH = "tagger.int8.onnx"
MAX_F1_DROP = 0.5  # Corel dev F1 points
MIN_COSINE = 0.99  # mean cosine of the features, int8 vs float


def quantize(source: Path, target: Path, photos: list[np.ndarray], method: str = "percentile") -> None:
    """source graph (float) -> target (QDQ int8), activation ranges from `photos` ([3,S,S] each)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Photos(CalibrationDataReader):
        def __init__(self):
            self.left = iter(photos)

        def get_next(self):
            x = next(self.left, None)
            return None if x is None else {"image": x[None].astype(np.float32)}

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        float_nodes = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type in ("Gemm", "Softmax")]
        quiet = logging.getLogger()  # the quantizer logs its progress on the root logger
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            quantize_static(str(prepared), str(target), Photos(), quant_format=QuantFormat.QDQ, per_channel=True,
                            reduce_range=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            nodes_to_exclude=float_nodes,
                            calibrate_method={"percentile": CalibrationMethod.Percentile, "minmax": CalibrationMethod.MinMax}[method])
        finally:
            quiet.setLevel(level)


def _scores(tagger: ImageTagger, pixels: list[np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The graph's outputs and the served vocabulary scores [B,V], one photo at a time as served."""
    outputs = tagger.run(pixels)
    return outputs, tagger.vocab_scores(outputs, np.stack(pixels))


def compare(folder: Path, int8_path: Path, dev: list, n_corel: int) -> dict:
    """Parity of the int8 graph against the folder's float graph on the dev photos (`dev`: ImageItem)."""
    reference, quantized = ImageTagger(folder, providers=[CPU]), ImageTagger(folder, providers=[CPU])
    reference.use_graph(reference.spec.graph_path, [CPU])  # the float graph, whatever the folder holds already
    quantized.use_graph(int8_path, [CPU])
    index = {t: i for i, t in enumerate(reference.tags[:n_corel])}
    cos, top1, overlap, corel = [], [], [], {"float": [], "int8": []}
    for start in range(0, len(dev), 32):
        pixels = [reference.preprocess(Path(it.path).read_bytes()) for it in dev[start:start + 32]]
        (ref_out, ref_scores), (q_out, q_scores) = _scores(reference, pixels), _scores(quantized, pixels)
        a, b = ref_out["features"], q_out["features"]
        cos.extend((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
        top1.extend(ref_out["imagenet_probs"].argmax(1) == q_out["imagenet_probs"].argmax(1))
        for r, q in zip(ref_scores, q_scores):
            overlap.append(len(set(np.argsort(-r)[:5]) & set(np.argsort(-q)[:5])) / 5)
        corel["float"].append(ref_scores[:, :n_corel])
        corel["int8"].append(q_scores[:, :n_corel])
    gold = [{index[t] for t in it.tags if t in index} for it in dev]
    return {"images": len(dev), "features_cosine": {"mean": round(float(np.mean(cos)), 4), "min": round(float(np.min(cos)), 4)},
            "imagenet_top1_same": round(float(np.mean(top1)), 4), "served_top5_overlap": round(float(np.mean(overlap)), 4),
            "corel_dev": {side: corel_protocol(gold, np.concatenate(parts), n_corel) for side, parts in corel.items()}}


def calibration_photos(tagger: ImageTagger, corel: Path, n: int, dev_ids: set[str]) -> list[np.ndarray]:
    """n Corel training photos (a fixed shuffle; the dev split left out), preprocessed as served."""
    items = [it for it in corel_items(corel) if it.id not in dev_ids]
    random.Random(0).shuffle(items)
    return [tagger.preprocess(Path(it.path).read_bytes()) for it in items[:n]]


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", required=True, help="an image folder (a copy: it is written into)")
    parser.add_argument("--corel", default=str(SHARED / "corel5k"))
    parser.add_argument("--calibration", type=int, default=200, help="Corel training photos for the activation ranges")
    parser.add_argument("--method", choices=["percentile", "minmax"], default="percentile")
    args = parser.parse_args(argv)
    folder, corel = Path(args.folder), Path(args.corel)
    tagger = ImageTagger(folder, providers=[CPU])
    items = corel_items(corel)
    dev_ids = dev_split([it.id for it in items], TrainConfig().n_dev_corel)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        candidate = Path(tmp) / INT8_GRAPH
        quantize(tagger.spec.graph_path, candidate, calibration_photos(tagger, corel, args.calibration, dev_ids), args.method)
        config = json.loads((folder / IMAGE_CONFIG).read_text())
        check = compare(folder, candidate, [it for it in items if it.id in dev_ids], config["n_corel_words"])
        log.info("int8 vs float: %s", check)
        drop = check["corel_dev"]["float"]["F1"] - check["corel_dev"]["int8"]["F1"]
        if drop > MAX_F1_DROP or check["features_cosine"]["mean"] < MIN_COSINE:
            raise SystemExit(f"int8 graph refused (Corel dev F1 -{drop:.2f}, features cosine {check['features_cosine']}): {check}")
        add_int8_graph(folder, candidate, {"calibration": {"photos": args.calibration, "method": args.method,
                                                            "source": "Corel-5k training photos (dev split left out)"},
                                            "parity": check})
    log.info("wrote %s (%.1f MB)", folder / INT8_GRAPH, (folder / INT8_GRAPH).stat().st_size / 1e6)


def add_int8_graph(folder: Path, graph: Path, record: dict) -> None:
    """Move `graph` into the folder as its int8 graph: image.json "int8" (record + graph), sha256s, manifest."""
    graph.replace(folder / INT8_GRAPH)
    config = json.loads((folder / IMAGE_CONFIG).read_text())
    config["int8"] = {"graph": INT8_GRAPH, "weights": "int8 per output channel, 8 bits (exact only with VNNI: providers.int8_exact)",
                      **record}
    config.setdefault("sha256", {})[INT8_GRAPH] = sha256_file(folder / INT8_GRAPH)
    (folder / IMAGE_CONFIG).write_text(json.dumps(config, indent=1) + "\n")
    write_manifest(folder)


if __name__ == "__main__":
    main()
