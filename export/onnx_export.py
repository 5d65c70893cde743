"""Export a trained hashtag generator to a self-describing ONNX model folder, validating it first.

    python -m export.onnx_export --checkpoint runs/zh-full/ckpt.pt --dev runs/corpus/zh_dev.jsonl \
        --out inference/models/zh [--int8]

The folder: encoder.onnx and decoder.onnx (export/onnx_graphs.py: their inputs and outputs), the
vocabularies, config.json (every file's checksum), and last manifest.json (export/folder_manifest.py:
the format and every file's checksum, what the runtime verifies). Before anything lands in --out
(built in a temporary folder, then moved in place):
    1. onnx.checker on both graphs, and linear_before_reset=1 on every GRU node (PyTorch #189225);
    2. parity with PyTorch on >= 200 dev posts at batch sizes 1, 7, 32: max |Δ log-prob| <= 1e-4
       at every step of the beam and max |Δ| <= 1e-4 on the encoder outputs (each graph on the same
       inputs as PyTorch; end-to-end float32 drift is reported beside, see export/onnx_parity.py), and
       identical top-10 hashtags from beam search with either backend;
    3. with --int8: dynamic int8 quantization (MatMul, Gather; the encoder's GRU ops stay fp32), made the default only
       if dev F1@1 drops by less than 0.5 point.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import onnx
import torch

from export.folder_manifest import write_manifest
from export.model import HashtagGenerator, ModelConfig
from export.onnx_graphs import (DECODER_INT8_FILE, ENCODER_INT8_FILE, OPSET, ExportError, check_graphs, export_graphs,
                                quantize_int8)
from export.onnx_parity import (PARITY_BATCH_SIZES, PARITY_MIN_POSTS, PARITY_TOLERANCE, dev_scores, parity_check,
                                record_tokens)
from inference.runtime.generator import Generator
from inference.runtime.model_folder import (
    CONFIG_FILE,
    DECODER_FILE,
    ENCODER_FILE,
    FORMAT_VERSION,
    SRC_SPECIALS,
    SRC_VOCAB_FILE,
    TGT_SPECIALS,
    TGT_VOCAB_FILE,
    load_model_folder,
    sha256_file,
    write_vocab,
)
from inference.text.preprocess import PREPROCESS_VERSION

log = logging.getLogger("export.onnx_export")

INT8_MAX_F1_DROP = 0.5  # points of F1@1 (percent)
MAX_FOLDER_MB = 25.0


# -- the folder ----------------------------------------------------------------------------------


def build_model_folder(
    model: HashtagGenerator,
    src_vocab: list[str],
    tgt_vocab: list[str],
    out: Path,
    dev_records: list[dict],
    lang: str,
    name: str | None = None,
    training: dict | None = None,
    preprocess_version: int = PREPROCESS_VERSION,
    int8: bool = False,
    parity_posts: int = PARITY_MIN_POSTS,
    batch_sizes=PARITY_BATCH_SIZES,
    eval_posts: int = 1000,
    max_folder_mb: float = MAX_FOLDER_MB,
    threads: int = 1,
    full_out: str | Path | None = None,
) -> dict:
    """Export, validate and write the model folder `out`; returns its config.json content."""
    model = model.eval()
    examples = [record_tokens(r, lang) for r in dev_records]
    if len(examples) < parity_posts:
        raise ExportError(f"parity needs {parity_posts} dev posts, got {len(examples)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as tmp:
        tmp = Path(tmp)
        folder = tmp / "folder"
        folder.mkdir()
        config = write_graphs(model, src_vocab, tgt_vocab, folder, lang, name, training, preprocess_version)
        generator = Generator(folder, providers=["CPUExecutionProvider"], threads=threads)
        config["parity"] = parity_check(model, generator, examples[: max(parity_posts, 1)], batch_sizes,
                                        tolerance=PARITY_TOLERANCE)

        gold = [list(r.get("hashtags") or []) for r in dev_records[:eval_posts]]
        dev = {"fp32": dev_scores(generator, examples[:eval_posts], gold, lang)}
        quantization = {"default": "fp32", "requested": int8}
        if int8:
            quantization.update(add_int8(folder, config, dev, examples[:eval_posts], gold, lang, threads))
        config["quantization"] = quantization
        config["dev_metrics"] = dev
        if full_out is not None:  # every precision, for benchmarks (fp32 vs int8), whatever the size
            shutil.copytree(folder, tmp / "full")
            seal(tmp / "full", json.loads(json.dumps(config)))
        _drop_unused_graphs(folder, config, max_folder_mb)
        seal(folder, config)
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        if max_folder_mb and size_mb > max_folder_mb:
            raise ExportError(f"model folder is {size_mb:.1f} MB, over the {max_folder_mb:g} MB limit "
                              "(try --int8, a smaller vocabulary, or --max-mb 0 for no limit)")

        for built, target in ((folder, out), (tmp / "full", full_out)):
            if target is not None:
                move_into_place(built, Path(target), tmp)
    return config


def write_graphs(model: HashtagGenerator, src_vocab: list[str], tgt_vocab: list[str], folder: Path, lang: str,
                 name: str | None, training: dict | None, preprocess_version: int) -> dict:
    """The fp32 graphs (checked), both vocabularies and a first config.json into `folder`; returns the config."""
    encoder_path, decoder_path = export_graphs(model, folder)
    gru_nodes = check_graphs(encoder_path, decoder_path)
    write_vocab(folder / SRC_VOCAB_FILE, src_vocab)
    write_vocab(folder / TGT_VOCAB_FILE, tgt_vocab)
    config = {
        "format_version": FORMAT_VERSION,
        "name": name or f"tagsmith-{lang}",
        "version": "unversioned",
        "language": lang,
        "architecture": asdict(model.config),
        "src_vocab_size": len(src_vocab),
        "tgt_vocab_size": len(tgt_vocab),
        "special_ids": {"src": dict(SRC_SPECIALS), "tgt": dict(TGT_SPECIALS)},
        "preprocess_version": int(preprocess_version),
        "opset": OPSET,
        "exporter": {"torch": torch.__version__, "onnx": onnx.__version__, "dynamo": False, "gru_nodes": gru_nodes},
        "graphs": {"fp32": {"encoder": ENCODER_FILE, "decoder": DECODER_FILE}},
        "training": training or {},
        "files": {},
    }
    _write_config(folder, config)
    return config


def add_int8(folder: Path, config: dict, dev: dict, examples: list, gold: list[list[str]], lang: str, threads: int) -> dict:
    """Quantize the fp32 graphs into `folder` (checked, listed in config), score them on dev beside fp32
    (into `dev`); returns the decision: int8 the default only if dev F1@1 drops < INT8_MAX_F1_DROP."""
    int8_paths = quantize_int8(folder / ENCODER_FILE, folder / DECODER_FILE, folder)
    check_graphs(*int8_paths)
    config["graphs"]["int8"] = {"encoder": ENCODER_INT8_FILE, "decoder": DECODER_INT8_FILE}
    _write_config(folder, config)
    int8_generator = Generator(folder, providers=["CPUExecutionProvider"], threads=threads, precision="int8")
    dev["int8"] = dev_scores(int8_generator, examples, gold, lang)
    drop = dev["fp32"]["f1@1"] - dev["int8"]["f1@1"]
    keep = drop < INT8_MAX_F1_DROP
    decision = dict(
        default="int8" if keep else "fp32",
        f1_at_1_drop_points=round(drop, 3),
        max_drop_points=INT8_MAX_F1_DROP,
        decision=f"int8 {'kept' if keep else 'rejected'}: dev F1@1 {dev['fp32']['f1@1']:.2f} -> {dev['int8']['f1@1']:.2f}",
        op_types=["MatMul", "Gather"],
    )
    log.info(decision["decision"])
    return decision


def seal(folder: Path, config: dict) -> None:
    """The content version, config.json with every file's checksum, manifest.json, then the runtime's
    own validation (load_model_folder) on exactly what is written."""
    config["version"] = _content_version(folder, config)
    _write_config(folder, config)
    write_manifest(folder)
    load_model_folder(folder)


def move_into_place(built: Path, target: Path, tmp: Path) -> None:
    """`built` becomes `target` (files other tools put in the old `target` kept), with its manifest.json."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        old = tmp / f"old-{target.name}"
        target.rename(old)
        _keep_foreign_files(old, built)
    write_manifest(built)  # again, last: with the files kept from the old folder
    shutil.move(str(built), str(target))


EXPORTER_FILES = {CONFIG_FILE, SRC_VOCAB_FILE, TGT_VOCAB_FILE, ENCODER_FILE, DECODER_FILE, ENCODER_INT8_FILE, DECODER_INT8_FILE}


def _keep_foreign_files(old: Path, new: Path) -> None:
    """Files other tools put in the folder (retrieval index, fusion weights...) survive a re-export."""
    for item in old.iterdir():
        if item.name not in EXPORTER_FILES and not (new / item.name).exists():
            shutil.move(str(item), str(new / item.name))


def _drop_unused_graphs(folder: Path, config: dict, max_folder_mb: float) -> None:
    """Ship both precisions when they fit in max_folder_mb, else only the default one."""
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    if size_mb <= max_folder_mb or len(config["graphs"]) == 1:
        return
    for precision in [p for p in config["graphs"] if p != config["quantization"]["default"]]:
        for file in config["graphs"].pop(precision).values():
            (folder / file).unlink()
    # the one precision left takes the plain names: encoder.onnx / decoder.onnx are always there
    for precision, graphs in config["graphs"].items():
        for role, plain in (("encoder", ENCODER_FILE), ("decoder", DECODER_FILE)):
            (folder / graphs[role]).rename(folder / plain)
            graphs[role] = plain
    config["quantization"]["shipped"] = list(config["graphs"])
    log.info("folder %.1f MB > %.0f MB: shipping only %s graphs", size_mb, max_folder_mb, list(config["graphs"]))


def _content_version(folder: Path, config: dict) -> str:
    digest = hashlib.sha256()
    for graphs in config["graphs"].values():
        for file in graphs.values():
            digest.update(sha256_file(folder / file).encode())
    return digest.hexdigest()[:10]


def _write_config(folder: Path, config: dict) -> None:
    config["files"] = {
        f.name: sha256_file(f) for f in sorted(folder.iterdir()) if f.is_file() and f.name != CONFIG_FILE
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")



# -- command line --------------------------------------------------------------------------------


def _json_safe(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return None


def load_checkpoint(path: Path) -> tuple[HashtagGenerator, dict]:
    """ckpt.pt -> (model with the best dev-loss weights, checkpoint dict), as export/train.py writes it."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model = HashtagGenerator(ModelConfig(**checkpoint["config"]))
    model.load_state_dict(checkpoint.get("best_model") or checkpoint["model"])
    return model.eval(), checkpoint


def training_summary(checkpoint: dict, checkpoint_path: Path) -> dict:
    """What config.json records about training: the run's metrics.json (dev metrics, data sizes,
    command) when it sits beside the checkpoint, and the loss history."""
    summary = {"checkpoint": str(checkpoint_path)}
    for key in ("epoch", "step", "best_dev_loss", "train_seconds", "history"):
        if key in checkpoint and _json_safe(checkpoint[key]) is not None:
            summary[key] = checkpoint[key]
    metrics_path = checkpoint_path.parent / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        summary["run"] = metrics.pop("run", None)
        summary["dev_metrics_torch"] = metrics
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.onnx_export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--dev", required=True, type=Path, help="dev JSONL (canonical records)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--lang", choices=["en", "zh"], default=None, help="default: the checkpoint's, else the dev records'")
    parser.add_argument("--name", default=None, help="model name (default tagsmith-LANG)")
    parser.add_argument("--int8", action="store_true", help="also quantize; default only if dev F1@1 holds")
    parser.add_argument("--parity-posts", type=int, default=PARITY_MIN_POSTS)
    parser.add_argument("--eval-posts", type=int, default=1000, help="dev posts scored for the int8 decision")
    parser.add_argument("--max-mb", type=float, default=MAX_FOLDER_MB, help="refuse a bigger folder (0: no limit)")
    parser.add_argument("--full-out", type=Path, default=None,
                        help="also write the folder with every precision here (for benchmarks; may exceed --max-mb)")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads (1 is fastest on a busy machine)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    from export.data import load_records

    model, checkpoint = load_checkpoint(args.checkpoint)
    dev_records = [r for r in load_records(args.dev) if r.get("hashtags")]  # as training scores dev
    lang = args.lang or checkpoint.get("lang") or dev_records[0].get("lang") or "en"
    trained_with = str(checkpoint.get("preprocess_version", ""))
    if trained_with != str(PREPROCESS_VERSION):
        print(f"export refused: the checkpoint was trained with preprocess version {trained_with!r}, "
              f"serving tokenizes with {PREPROCESS_VERSION}", file=sys.stderr)
        return 1
    try:
        config = build_model_folder(
            model, checkpoint["src_vocab"], checkpoint["tgt_vocab"], args.out, dev_records, lang,
            name=args.name,
            training={**training_summary(checkpoint, args.checkpoint),
                      "export_command": "python -m export.onnx_export " + " ".join(sys.argv[1:] if argv is None else argv)},
            int8=args.int8, parity_posts=args.parity_posts, eval_posts=args.eval_posts, max_folder_mb=args.max_mb,
            threads=args.threads, full_out=args.full_out,
        )
    except ExportError as exc:
        print(f"export failed, nothing written: {exc}", file=sys.stderr)
        return 1
    size_mb = sum(f.stat().st_size for f in args.out.iterdir()) / 1e6
    print(json.dumps({
        "out": str(args.out), "model": f"{config['name']}@{config['version']}", "size_mb": round(size_mb, 2),
        "parity_max_abs_log_prob_diff": {
            bs: {"step": v["max_abs_log_prob_diff"], "encoder": v["max_abs_encoder_diff"],
                 "end_to_end_vs_torch_fp32": v["end_to_end_max_abs_log_prob_diff_vs_torch_fp32"],
                 "end_to_end_vs_torch_fp64": v["end_to_end_max_abs_log_prob_diff_vs_torch_fp64"],
                 "torch_fp32_vs_fp64": v["torch_fp32_vs_fp64_max_abs_log_prob_diff"], "top10_identical": v["identical_top_k"]}
            for bs, v in config["parity"]["batch_sizes"].items()},
        "quantization": config["quantization"], "dev_f1@1": {k: v["f1@1"] for k, v in config["dev_metrics"].items()},
    }, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
