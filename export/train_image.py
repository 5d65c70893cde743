"""Train the image tagger's multi-label head on cached EfficientNet-Lite0 features.

    nice -n 5 python -m export.train_image features --out runs/image      # backbone once: features.npz
    nice -n 5 python -m export.train_image train --out runs/image         # head + kNN + calibration, dev eval
    nice -n 10 python -m export.train_image activations --from runs/image-v3 --out runs/image-v4   # input of block 12
    nice -n 10 python -m export.train_image finetune --from runs/image-v3 --out runs/image-v4 --models cv cv1 cv2 cv3 full
    nice -n 10 python -m export.train_image train --out runs/image-v4     # chooses on the held-out folds (cv* arrays)
    nice -n 10 python -m export.train_image features --size 288 --mirror --out runs/image-v5-288   # a larger input
    nice -n 10 python -m export.train_image views --from runs/image-v3 runs/image-v5-crop --how mean --out runs/image-v5-2v-mean

Fine-tuning (measured, not shipped: docs/results.md): a copy of blocks 12-15 + head conv trained on the
cached input of block 12 (LP-FT, bfloat16 autocast, one thread); with a fine-tuned cache `train` chooses
on held-out folds (each fold's photos scored by a copy that never saw them) instead of leave-one-out.

Backbone frozen (ImageNet weights): the pooled 1280-d features of every Corel-5k and MediaEval image
(--mirror: and of its horizontal mirror) are computed once with the serving
preprocessing (`inference.runtime.image.preprocess`). The head is one linear layer with sigmoid outputs over
the tag vocabulary (Corel words + MediaEval hashtags on >= 3 training images), trained with binary
cross-entropy. At test time its scores are fused with kNN label transfer (see inference.runtime.image) and
rebalanced per tag (a bias raising rare words, tuned on a held-out part of train), then evaluated
with the Corel-5k protocol on the dev split (export.image_eval-style numbers in metrics.json).
Calibration (format 4, TagProp-style): for the Corel words a per-word sigmoid over the kNN votes (the
weighted spaces, the cnn space alone, the colour space alone) and the head's logit, fitted by
likelihood on the leave-one-out scores, then label co-occurrence smoothing (s + beta * s @ C); kept
when it wins on held-out halves of the leave-one-out photos.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from export.image_data import ImageItem, corel_items, corel_words, dev_split, mediaeval_items, mediaeval_posts
from export.image_model import HeadConfig, TagHead, TaggerNet, fuse_bn_fp16, load_pretrained
from inference.runtime.image import (RESIZERS, ImageFusion, KnnBank, calibrate, calibration_inputs, colour_histograms, cooc_matrix,
                             fuse_vocab, knn_vote, needed_spaces, normalise, open_image, project, resize_crop, score_tags,
                             space_inputs, space_weights)
from inference.evaluation.metrics import corel_protocol as metrics_corel_protocol

log = logging.getLogger("export.train_image")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


# -- evaluation (Corel-5k protocol) ---------------------------------------------------------------
def corel_protocol(gold: list[set[int]], scores: np.ndarray, n_words: int, top: int = 5) -> dict:
    """The Corel protocol (`inference.evaluation.metrics.corel_protocol`, what `tagsmith evaluate` prints) on scores
    [N,n_words]: each image annotated with its `top` best words."""
    return metrics_corel_protocol(gold, np.argsort(-scores[:, :n_words], axis=1)[:, :top].tolist(), top)


# -- features ----------------------------------------------------------------------------------------
def export_backbone(path: Path, size: int = 224) -> None:
    """The served graph without a head: image -> features, imagenet_probs, taps (SAME pads fixed for `size`)."""
    net = TaggerNet(load_pretrained()).eval()  # eval: export restores the module's mode
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
    items = corel_items(args.corel) + mediaeval_items(mediaeval_posts(args.mediaeval))
    export_backbone(out / "backbone.onnx", args.size)
    arrays = extract(items, out / "backbone.onnx", args.resize, workers=args.threads, mirror=args.mirror, size=args.size)
    np.savez(out / "features.npz", ids=np.array([it.id for it in items]), resize=np.array(args.resize),
             size=np.array(args.size), **arrays)
    (out / "items.json").write_text(json.dumps([asdict(it) for it in items]))
    log.info("%d images -> %s", len(items), out / "features.npz")


def cmd_views(args) -> None:
    """Two views of each photo (e.g. the squashed photo and a centre crop, each from a `features` run
    over the same items): their pooled features and taps averaged (--how mean, same widths) or
    concatenated (--how concat), mirrors likewise; colour histograms and ImageNet probabilities from
    the first view. Writes a cache `train` reads like any other."""
    first, second = (Path(f) for f in getattr(args, "from"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    a, b = np.load(first / "features.npz"), np.load(second / "features.npz")
    if not np.array_equal(a["ids"], b["ids"]):
        raise SystemExit(f"{first} and {second} do not hold the same photos in the same order")
    arrays = {k: a[k] for k in a.files}
    for key in ("features", "taps", "features_flip", "taps_flip"):
        if key in a.files and key in b.files:
            arrays[key] = (a[key] + b[key]) / 2 if args.how == "mean" else np.concatenate([a[key], b[key]], axis=1)
    arrays["resize"] = np.array(f"{a['resize']}+{b['resize']} ({args.how})")
    np.savez(out / "features.npz", **arrays)
    (out / "items.json").write_text((first / "items.json").read_text())
    log.info("%d photos, features %s -> %s", len(arrays["ids"]), arrays["features"].shape, out / "features.npz")


def cmd_activations(args) -> None:
    """The input of block --upto for every photo of --from's cache and its mirror, float16
    [N,C,7,7] (what fine-tuning the last blocks trains on), with onnxruntime on one thread."""
    import onnxruntime as ort

    from export.image_model import Prefix

    torch.set_num_threads(1)
    src, out = Path(getattr(args, "from")), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items, _ = load_cache(src)
    resize = str(np.load(src / "features.npz")["resize"])
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


# -- fine-tuning the last blocks on cached activations ---------------------------------------------------
@dataclass
class FinetuneConfig:
    start: int = 12  # fine-tune blocks start..15 + the head conv (the cache holds the input of block `upto`)
    epochs: int = 3  # held-out fold 0: 3 beat 6 and 8 (the copy overfits 3,000 photos fast)
    batch_size: int = 64
    lr: float = 1e-4  # the copied blocks
    head_lr: float = 1e-3  # the classifier, started from a linear probe on the original features (LP-FT)
    weight_decay: float = 1e-4
    dropout: float = 0.2
    folds: int = 4  # fold 0 of the Corel train photos is held out: `train` chooses on it
    linear_probe: bool = True
    taps_original: bool = True  # the original blocks' pooled features join the taps (head and kNN see both)
    rare_power: float = 0.0  # BCE positive weight per word (train frequency / median)^-rare_power, clipped to [0.25, 4]
    seed: int = 0


def corel_folds(items: list[ImageItem], train_ids: set[str], k: int, seed: int = 0) -> np.ndarray:
    """[N] fold 0..k-1 of each Corel training photo (a seeded permutation of the sorted ids), -1 for the rest."""
    ids = sorted(it.id for it in items if it.id in train_ids and it.id.startswith("corel-"))
    fold_of = {i: f % k for f, i in zip(range(len(ids)), np.random.default_rng(seed).permutation(ids))}
    return np.array([fold_of.get(it.id, -1) for it in items], dtype=np.int8)


def split_rows(items: list[ImageItem], cfg: "TrainConfig", corel_dir: str):
    """(dev ids, train rows, vocabulary, Corel word count) as `train` defines them."""
    corel = [it.id for it in items if it.id.startswith("corel-")]
    media = [it.id for it in items if it.id.startswith("mediaeval-")]
    dev_ids = dev_split(corel, cfg.n_dev_corel) | dev_split(media, cfg.n_dev_mediaeval)
    train_idx = np.array([i for i in range(len(items)) if items[i].id not in dev_ids and items[i].tags])
    words = corel_words(corel_dir)
    vocab = build_vocab(items, {items[i].id for i in train_idx}, words, cfg.min_images_per_hashtag)
    return dev_ids, train_idx, vocab, len(words)


def finetune_tail(act: np.ndarray, act_flip: np.ndarray, y: np.ndarray, rows: np.ndarray, upto: int,
                  cfg: FinetuneConfig, held: np.ndarray | None = None) -> "TunedTail":
    """Blocks cfg.start..15 + head conv + a classifier, BCE on the Corel words, on the cached inputs of
    block `upto` of `rows` (each step draws the photo or its mirror); bfloat16 autocast, one thread."""
    from export.image_model import TunedTail

    torch.manual_seed(cfg.seed)
    backbone = load_pretrained(fp16=True)  # BatchNorms folded: the tail trains conv weights and biases
    tail = TunedTail(backbone, cfg.start, y.shape[1], cfg.dropout)
    frozen = frozen_blocks(backbone, upto, cfg.start)
    if cfg.linear_probe:  # a random classifier's first gradients would wreck the copied blocks' features
        with tempfile.TemporaryDirectory() as tmp:
            (x, _, _), (x_flip, _, _) = tail_outputs(tail.eval(), frozen, [act[rows], act_flip[rows]], Path(tmp))
        probe = train_head(np.concatenate([x, x_flip]), np.concatenate([y[rows], y[rows]]), TrainConfig())
        tail.classifier.load_state_dict(probe.net[-1].state_dict())
        log.info("linear probe on the original features of %d photos and mirrors", len(rows))
    head_params = list(tail.classifier.parameters())
    body = [p for n, p in tail.named_parameters() if not n.startswith("classifier.")]
    opt = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": head_params, "lr": cfg.head_lr}],
                            weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(rows) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr, cfg.head_lr], total_steps=steps, pct_start=0.15)
    yt = torch.from_numpy(y)
    pos_weight = torch.from_numpy(tag_scale_for(y[rows], cfg.rare_power)) if cfg.rare_power else None
    rng = np.random.default_rng(cfg.seed)
    tail.train()
    start = time.time()
    for epoch in range(cfg.epochs):
        order = rng.permutation(rows)
        total = 0.0
        for b in range(0, len(order), cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            flip = rng.random(len(idx)) < 0.5
            x = torch.from_numpy(np.where(flip[:, None, None, None], act_flip[idx], act[idx]).astype(np.float32))
            with torch.no_grad():
                x = frozen(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                _, _, logits = tail(x)
            loss = F.binary_cross_entropy_with_logits(logits.float(), yt[idx], pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        held_f1 = ""
        if held is not None:  # the classifier's Corel protocol on held-out rows, for the epoch count
            tail.eval()
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                logits = torch.cat([tail(frozen(torch.from_numpy(act[held[i:i + 256]].astype(np.float32))))[2].float()
                                    for i in range(0, len(held), 256)]).numpy()
            tail.train()
            held_f1 = f", held-out classifier {corel_protocol(gold_sets(y[held]), logits, y.shape[1])}"
        log.info("fine-tune epoch %d: loss %.4f (%.0f s)%s", epoch, total / len(order), time.time() - start, held_f1)
    return fuse_bn_fp16(tail.eval())  # float16 values, as shipped; tail.pt holds the tuned copy only


def frozen_blocks(backbone, upto: int, start: int) -> nn.Module:
    """The original blocks between the cached input of block `upto` and the tuned copy from `start`."""
    return nn.Sequential(*backbone._blocks[upto:start]).eval()


class _TailGraph(nn.Module):
    def __init__(self, tail, frozen: nn.Module, original, upto: int | None):
        super().__init__()
        self.tail, self.frozen, self.original, self.upto = tail, frozen, original, upto

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features, taps, logits = self.tail(self.frozen(x))
        if self.original is not None:  # the original blocks upto..15 + head conv, pooled
            taps = torch.cat([taps, self.original.features(x, first_block=self.upto)], dim=1)
        return features, taps, logits


def tail_outputs(tail, frozen: nn.Module, acts: list[np.ndarray], folder: Path, batch: int = 64,
                 upto: int | None = None) -> list[tuple[np.ndarray, ...]]:
    """Cached block inputs [N,C,7,7] -> features [N,1280], taps of blocks 14/15 [N,512] (++ with `upto`,
    the original blocks' pooled features [N,1280]), logits [N,W] (float32), with onnxruntime on one
    thread (~3x less CPU than eager PyTorch)."""
    import onnxruntime as ort

    path = folder / "tail.onnx"
    original = load_pretrained(fp16=True) if upto is not None else None
    net = _TailGraph(tail, frozen, original, upto).eval()
    torch.onnx.export(net, (torch.zeros(1, *acts[0].shape[1:]),), str(path), input_names=["act"],
                      output_names=["features", "taps", "logits"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "b"} for n in ("act", "features", "taps", "logits")})
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    results = []
    for act in acts:
        parts = [session.run(None, {"act": act[i:i + batch].astype(np.float32)}) for i in range(0, len(act), batch)]
        results.append(tuple(np.concatenate([p[j] for p in parts]) for j in range(3)))
    return results


def cmd_finetune(args) -> None:
    """Fine-tune the last blocks twice: on Corel train folds 1..k-1 (its features of every photo
    become the cv_* arrays: `train` chooses everything on fold 0, held out) and on all of train (the
    shipped copy, tail.pt). Writes --out/features.npz: --from's cache with features and the taps of
    blocks 14/15 replaced by the tuned tail's."""
    torch.set_num_threads(1)
    cfg = FinetuneConfig(**{k: v for k, v in (("epochs", args.epochs), ("start", args.start), ("rare_power", args.rare_power))
                            if v is not None})
    src, out = Path(getattr(args, "from")), Path(args.out)
    items, cache = load_cache(src)
    data = np.load(out / f"act{args.upto}.npz")
    assert list(data["ids"]) == [it.id for it in items], "activations and features cache disagree"
    act, act_flip = data["act"], data["act_flip"]
    dev_ids, train_idx, vocab, n_corel = split_rows(items, TrainConfig(), args.corel)
    y = label_matrix(items, vocab[:n_corel])
    folds = corel_folds(items, {items[i].id for i in train_idx}, cfg.folds, cfg.seed)
    early, early_flip = data["taps"], data["taps_flip"]  # block 10's tap: the frozen (float16-weight) prefix's
    arrays = dict(cache)
    if (out / "features.npz").exists():  # a later call keeps the other models' arrays and replaces its own
        arrays.update(np.load(out / "features.npz"))
    for name in args.models:
        held_fold = 0 if name == "cv" else int(name[2:]) if name.startswith("cv") else -1
        rows = np.flatnonzero((folds != held_fold) & (folds >= 0))
        log.info("fine-tune %s: %d photos, %s", name, len(rows), cfg)
        start = time.time()
        tail = finetune_tail(act, act_flip, y, rows, args.upto, cfg, np.flatnonzero(folds == held_fold) if held_fold >= 0 else None)
        tail.taps_original = cfg.taps_original
        frozen = frozen_blocks(load_pretrained(fp16=True), args.upto, cfg.start)
        (feats, taps, logits), (feats_flip, taps_flip, _) = tail_outputs(tail, frozen, [act, act_flip], out,
                                                                         upto=args.upto if cfg.taps_original else None)
        log.info("features of %d photos and mirrors (%.0f s in all)", len(act), time.time() - start)
        held = np.flatnonzero(folds == max(held_fold, 0))
        log.info("%s tail classifier on held-out fold %d: %s", name, max(held_fold, 0),
                 corel_protocol(gold_sets(y[held]), logits[held], n_corel))
        prefix = "" if held_fold < 0 else "cv_" if held_fold == 0 else f"cv{held_fold}_"
        dtype = np.float16 if held_fold > 0 else np.float32  # the extra folds' arrays: half the disk
        arrays[prefix + "features"], arrays[prefix + "features_flip"] = feats.astype(dtype), feats_flip.astype(dtype)
        arrays[prefix + "taps"] = np.concatenate([early, taps], axis=1).astype(dtype)
        arrays[prefix + "taps_flip"] = np.concatenate([early_flip, taps_flip], axis=1).astype(dtype)
        if name == "full":
            torch.save({"state_dict": tail.state_dict(), "config": asdict(cfg), "upto": args.upto}, out / "tail.pt")
    arrays["cv_fold"] = folds
    np.savez(out / "features.npz", **arrays)
    (out / "items.json").write_text((src / "items.json").read_text())
    log.info("wrote %s", out / "features.npz")


# -- training ----------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    n_dev_corel: int = 500  # Corel dev photos (the standard test split is evaluated independently)
    n_dev_mediaeval: int = 80  # MediaEval dev images (their posts make the fusion dev split)
    min_images_per_hashtag: int = 3  # MediaEval hashtags in the vocabulary
    epochs: int = 25
    lr: float = 1e-2
    weight_decay: float = 1e-4
    batch_size: int = 512
    head_folds: int = 5  # the head's held-out scores on train: cross-fitted
    loo_chunks: int = 8  # leave-one-out scores of the Corel train photos, scored in chunks of ~500 (like dev)
    pca_dim: int = 256  # cnn space (features ++ taps, 1904-d)
    colour_dim: int = 48  # colour space (3 x 192 HSV bins)
    imagenet_dim: int = 48  # ImageNet space (1000 classes)
    cnn_power: float = 0.5
    head_mirror: bool = True  # train the head on the mirrored photos too, when the cache has them
    bias_rounds: int = 3  # coordinate ascent on per-word log-biases: at most; held-out halves pick how many
    bias_steps: tuple[float, ...] = (-1.0, -0.5, -0.25, 0.25, 0.5, 1.0)
    # TagProp-style per-word sigmoid over kNN votes and the head's logit (Corel words), fitted by
    # likelihood on the leave-one-out scores; kept when its held-out halves beat the uncalibrated fusion
    calibrate: bool = True
    calib_lams: tuple[float, ...] = (1.0, 10.0, 100.0)  # L2 on the per-word deviations from the shared fit
    calib_steps: int = 400
    cooc_betas: tuple[float, ...] = (0.0, 0.1, 0.15, 0.2, 0.3)  # s + beta * s @ C (label co-occurrence)
    hub_weights: tuple[float, ...] = (0.0,)  # hubness correction weights to choose among on the held-out halves
    hub_k: int = 10  # a bank photo's hub offset: its mean similarity to this many nearest bank photos
    seed: int = 0


def load_cache(folder: Path) -> tuple[list[ImageItem], dict[str, np.ndarray]]:
    items = [ImageItem(d["id"], d["path"], tuple(d["tags"])) for d in json.loads((folder / "items.json").read_text())]
    cache = np.load(folder / "features.npz")
    return items, {k: cache[k] for k in cache.files}


def build_vocab(items: list[ImageItem], train_ids: set[str], corel_vocab: list[str], min_images: int) -> list[str]:
    """Corel words first (their columns are the Corel protocol's), then frequent MediaEval hashtags."""
    counts: dict[str, int] = {}
    for it in items:
        if it.id in train_ids and it.id.startswith("mediaeval-"):
            for t in it.tags:
                counts[t] = counts.get(t, 0) + 1
    known = set(corel_vocab)
    return corel_vocab + sorted(t for t, c in counts.items() if c >= min_images and t not in known)


def label_matrix(items: list[ImageItem], vocab: list[str]) -> np.ndarray:
    index = {t: i for i, t in enumerate(vocab)}
    y = np.zeros((len(items), len(vocab)), dtype=np.float32)
    for row, it in enumerate(items):
        for t in it.tags:
            if t in index:
                y[row, index[t]] = 1.0
    return y


def train_head(x: np.ndarray, y: np.ndarray, cfg: TrainConfig) -> TagHead:
    """Linear multi-label head, BCE, AdamW; x [N,F], y [N,V]."""
    torch.manual_seed(cfg.seed)
    head = TagHead(HeadConfig(num_tags=y.shape[1], in_features=x.shape[1]))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    steps = cfg.epochs * math.ceil(len(x) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    head.train()
    for _ in range(cfg.epochs):
        for idx in torch.randperm(len(x)).split(cfg.batch_size):
            loss = F.binary_cross_entropy_with_logits(head(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return head.eval()


def head_arrays(head: TagHead) -> tuple[np.ndarray, np.ndarray]:
    """The linear head as served (knn.npz head_weight [F,V] float16, head_bias [V])."""
    linear = head.net[-1]
    weight = linear.weight.detach().numpy().T.astype(np.float16).astype(np.float32)
    return weight, linear.bias.detach().numpy().astype(np.float32)


def served_head_scores(weight: np.ndarray, bias: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ weight + bias)))


def fit_pca(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean.astype(np.float32), vt[:dim].T.astype(np.float16).astype(np.float32)  # [F], [F,D] as served


def tag_scale_for(y: np.ndarray, alpha: float) -> np.ndarray:
    freq = y.sum(axis=0) + 1.0
    return np.clip((freq / np.median(freq)) ** -alpha, 0.25, 4.0).astype(np.float32)


def gold_sets(y: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(row)) for row in y]


def hub_offsets(bank: KnnBank, k: int) -> dict[str, np.ndarray]:
    """Per space [N]: each training photo's mean similarity to its k nearest other training photos (the
    hubness correction takes hub x this off every similarity to it; see ImageFusion.hub)."""
    out = {}
    for space, (_, _, b) in bank.spaces.items():
        sims = b @ b.T  # [N,N]
        np.fill_diagonal(sims, -np.inf)
        out[space] = (-np.partition(-sims, k - 1, axis=1)[:, :k]).mean(axis=1).astype(np.float32)
    return out


def fit_bank(vectors: dict[str, np.ndarray], labels: np.ndarray, cfg: TrainConfig) -> KnnBank:
    """Per space: mean and PCA on the training photos, their projected vectors (float16 as shipped)."""
    dims = {"cnn": cfg.pca_dim, "colour": cfg.colour_dim, "imagenet": cfg.imagenet_dim}
    spaces = {}
    for space, x in vectors.items():
        mean, proj = fit_pca(x, dims[space])
        spaces[space] = (mean, proj, project(x, mean, proj).astype(np.float16).astype(np.float32))
    return KnnBank(spaces, labels)


class ChunkedProtocol:
    """The Corel protocol on leave-one-out scores of the Corel train photos, averaged over chunks
    of ~500 photos so that the per-word averages cover a dev-sized vocabulary. Vectorised: the
    per-word bias search calls it thousands of times."""

    def __init__(self, y: np.ndarray, n_chunks: int, seed: int, use: list[int] | None = None):
        self.y = y  # [N,W] 0/1
        order = np.random.default_rng(seed).permutation(len(y))
        self.chunks = [order[i::n_chunks] for i in range(n_chunks)]
        self.gold = np.stack([y[c].sum(axis=0) for c in self.chunks])  # [C,W]
        self.use = list(range(n_chunks)) if use is None else use

    def subset(self, use: list[int]) -> "ChunkedProtocol":
        other = ChunkedProtocol.__new__(ChunkedProtocol)
        other.y, other.chunks, other.gold, other.use = self.y, self.chunks, self.gold, use
        return other

    def __call__(self, scores: np.ndarray) -> dict:
        n_words = self.y.shape[1]
        top = np.argpartition(-scores, 5, axis=1)[:, :5]  # [N,5]
        hit = np.take_along_axis(self.y, top, axis=1)
        ps, rs, f1s, nplus = [], [], [], []
        for rows, gold in ((self.chunks[c], self.gold[c]) for c in self.use):
            t, h = top[rows].ravel(), hit[rows].ravel()
            n_pred = np.bincount(t, minlength=n_words)
            hits = np.bincount(t, weights=h, minlength=n_words)
            vocab = gold > 0
            p = np.where(n_pred > 0, hits / np.maximum(n_pred, 1), 0.0)[vocab].mean()
            r = (hits / np.maximum(gold, 1))[vocab].mean()
            ps.append(p), rs.append(r), f1s.append(2 * p * r / max(p + r, 1e-9)), nplus.append(((hits > 0) & vocab).sum())
        return {"P": round(100 * float(np.mean(ps)), 2), "R": round(100 * float(np.mean(rs)), 2),
                "F1": round(100 * float(np.mean(f1s)), 2), "N+": round(float(np.mean(nplus)), 1)}


def fit_calibration(x: np.ndarray, y: np.ndarray, lam: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-word logistic regression (TagProp's word-specific sigmoid, with its inputs as features):
    x [L,W,F] (`inference.runtime.image.calibration_inputs`), y [L,W] 0/1 -> weight [W,F], bias [W]. Shared
    weights plus per-word deviations with an L2 penalty `lam` on the deviations, so a rare word stays
    near the shared fit; full-batch Adam on the summed log-likelihood (deterministic)."""
    n_words, n_in = x.shape[1:]
    shared_w = torch.ones(n_in, requires_grad=True)
    shared_b = torch.tensor(-4.0, requires_grad=True)
    dev_w = torch.zeros(n_words, n_in, requires_grad=True)
    dev_b = torch.zeros(n_words, requires_grad=True)
    opt = torch.optim.Adam([shared_w, shared_b, dev_w, dev_b], lr=0.05)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(steps):
        z = (xt * (shared_w + dev_w)).sum(-1) + shared_b + dev_b  # [L,W]
        loss = (F.binary_cross_entropy_with_logits(z, yt, reduction="sum") + lam * ((dev_w ** 2).sum() + (dev_b ** 2).sum())) / len(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (shared_w + dev_w).detach().numpy().astype(np.float32), (shared_b + dev_b).detach().numpy().astype(np.float32)


def tune_biases(log_scores: np.ndarray, protocol: ChunkedProtocol, cfg: TrainConfig):
    """Per-word log-biases b [W] maximising the chunked leave-one-out F1 (coordinate ascent, frequent
    words first): the metric averages over words, so a word's turn in the top 5 is worth tuning.
    Yields the biases after each round."""
    bias = np.zeros(log_scores.shape[1], dtype=np.float32)
    scores = log_scores.copy()
    current = protocol(scores)["F1"]
    for rnd in range(cfg.bias_rounds):
        for w in np.argsort(-protocol.y.sum(axis=0)):
            best = (current, 0.0)
            for step in cfg.bias_steps:
                scores[:, w] += step
                f1 = protocol(scores)["F1"]
                scores[:, w] -= step
                if f1 > best[0] + 1e-6:
                    best = (f1, step)
            if best[1]:
                scores[:, w] += best[1]
                bias[w] += best[1]
                current = best[0]
        log.info("bias round %d: leave-one-out F1 %.2f on chunks %s", rnd, current, protocol.use)
        yield bias.copy()


def cmd_train(args) -> None:
    torch.set_num_threads(1)  # tiny matrices: more threads only spin on a shared machine
    cfg = TrainConfig(hub_weights=tuple(args.hub_weights))
    out = Path(args.out)
    items, cache = load_cache(out)
    features = cache["features"].astype(np.float32)
    corel = [i for i, it in enumerate(items) if it.id.startswith("corel-")]
    media = [i for i, it in enumerate(items) if it.id.startswith("mediaeval-")]
    dev_corel = dev_split([items[i].id for i in corel], cfg.n_dev_corel)
    dev_media = dev_split([items[i].id for i in media], cfg.n_dev_mediaeval)
    dev_ids = dev_corel | dev_media
    train_idx = np.array([i for i in range(len(items)) if items[i].id not in dev_ids and items[i].tags])
    vocab = build_vocab(items, {items[i].id for i in train_idx}, corel_words(args.corel), cfg.min_images_per_hashtag)
    n_corel = len(corel_words(args.corel))
    y_all = label_matrix(items, vocab)
    y_train = y_all[train_idx]
    loo = np.flatnonzero([items[i].id.startswith("corel-") for i in train_idx])  # rows of train_idx
    log.info("vocab %d (%d Corel words); train %d (%d Corel: leave-one-out), dev %d Corel + %d MediaEval",
             len(vocab), n_corel, len(train_idx), len(loo), len(dev_corel), len(dev_media))
    t0 = time.time()

    # 1. the served representation of every photo, the spaces fitted on train
    full = ImageFusion(cnn_taps=True, cnn_power=cfg.cnn_power, colour_sim=1.0, imagenet_sim=1.0)
    vectors = space_inputs(full, features, cache["taps"].astype(np.float32), cache["colour"].astype(np.float32),
                           cache["imagenet_probs"].astype(np.float32))
    plain = {"cnn": features}  # format-1 cnn space: pooled features alone, no power
    bank = fit_bank({s: v[train_idx] for s, v in vectors.items()}, y_train, cfg)
    bank_plain = fit_bank({"cnn": features[train_idx]}, y_train, TrainConfig(pca_dim=192))

    def sims_of(b: KnnBank, vecs: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
        return b.space_similarities({s: vecs[s][rows] for s in b.spaces})

    # 2. the head: input features ++ taps (35.8 vs 26.6 leave-one-out F1 for the features alone); with
    #    `features --mirror` the mirrored photos join its training rows (augmentation only; serving
    #    sees the photo as sent)
    mirrored = "taps_flip" in cache and cfg.head_mirror

    def head_inputs(prefix: str) -> tuple[np.ndarray, np.ndarray | None]:
        x = np.concatenate([cache[prefix + "features"], cache[prefix + "taps"]], axis=1).astype(np.float32)  # [N,1904]
        flip = np.concatenate([cache[prefix + "features_flip"], cache[prefix + "taps_flip"]], axis=1).astype(np.float32) if mirrored else None
        return x, flip

    head_x, head_x_flip = head_inputs("")

    def fit_head(rows: np.ndarray, x_all: np.ndarray, x_flip: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        x, y = x_all[rows], y_all[rows]
        if mirrored:
            x, y = np.concatenate([x, x_flip[rows]]), np.concatenate([y, y])
        return head_arrays(train_head(x, y, cfg))

    holdout = args.holdout or "cv_fold" in cache
    if not holdout:  # leave-one-out: each Corel train photo against all the others; the head cross-fitted
        loo_sims = sims_of(bank, vectors, train_idx[loo])  # [L,N] per space
        loo_sims["plain"] = sims_of(bank_plain, plain, train_idx[loo])["cnn"]
        for s in loo_sims.values():
            s[np.arange(len(loo)), loo] = -1e4  # leave the photo itself out
        protocol = ChunkedProtocol(y_train[loo][:, :n_corel], cfg.loo_chunks, cfg.seed)
        folds = np.arange(len(train_idx)) % cfg.head_folds
        head_oof = np.zeros_like(y_train)
        for f in range(cfg.head_folds):
            weight, bias = fit_head(train_idx[folds != f], head_x, head_x_flip)
            head_oof[folds == f] = served_head_scores(weight, bias, head_x[train_idx][folds == f])
        head_loo = head_oof[loo]
    else:  # held-out fold 0 of the Corel train photos: queries against a bank of the other train photos,
        # in the space of a model (fine-tuned tail: the cache's cv_* arrays; frozen: its own) that never saw them
        fold_of = cache["cv_fold"] if "cv_fold" in cache else corel_folds(items, {items[i].id for i in train_idx}, FinetuneConfig().folds)
        fold_tr = fold_of[train_idx]
        held_folds = [0] + [f for f in range(1, 8) if f"cv{f}_features" in cache] if "cv_features" in cache \
            else sorted(set(fold_tr[fold_tr >= 0].tolist()))  # frozen features: every fold
        loo_parts, sims_parts, head_parts = [], [], []
        for f in held_folds:
            queries, bank_rows = np.flatnonzero(fold_tr == f), np.flatnonzero(fold_tr != f)  # rows of train_idx
            prefix = ("cv_" if f == 0 else f"cv{f}_") if "cv_features" in cache else ""
            cv_features = cache[prefix + "features"].astype(np.float32)
            cv_vectors = space_inputs(full, cv_features, cache[prefix + "taps"].astype(np.float32), cache["colour"].astype(np.float32),
                                      cache["imagenet_probs"].astype(np.float32))
            cv_bank = fit_bank({s: v[train_idx[bank_rows]] for s, v in cv_vectors.items()}, y_train[bank_rows], cfg)
            cv_plain = fit_bank({"cnn": cv_features[train_idx[bank_rows]]}, y_train[bank_rows], TrainConfig(pca_dim=192))
            part = {}
            for name, (b, vecs) in {"": (cv_bank, cv_vectors), "plain": (cv_plain, {"cnn": cv_features})}.items():
                for space, sims in sims_of(b, vecs, train_idx[queries]).items():
                    wide = np.full((len(queries), len(train_idx)), -1e4, dtype=np.float32)  # fold f: never a neighbour
                    wide[:, bank_rows] = sims
                    part[name or space] = wide
            cv_x, cv_x_flip = head_inputs(prefix)
            weight, bias = fit_head(train_idx[bank_rows], cv_x, cv_x_flip)
            loo_parts.append(queries), sims_parts.append(part), head_parts.append(served_head_scores(weight, bias, cv_x[train_idx[queries]]))
        loo = np.concatenate(loo_parts)
        loo_sims = {k: np.concatenate([p[k] for p in sims_parts]) for k in sims_parts[0]}
        head_loo = np.concatenate(head_parts)
        protocol = ChunkedProtocol(y_train[loo][:, :n_corel], max(2, round(len(loo) / 500)), cfg.seed)
    chosen_on = f"held-out folds {held_folds} of train" if holdout else "leave-one-out train"
    log.info("%s sims and head in %.1f s; head alone %s", chosen_on,
             time.time() - t0, protocol(head_loo[:, :n_corel]))

    # 3. grid on leave-one-out train: k, temperature, similarity weights, head weight, rebalancing
    def score(sims: np.ndarray, fusion: ImageFusion, scale: np.ndarray, head: np.ndarray) -> np.ndarray:
        knn = knn_vote(None, None, y_train, fusion.knn_k, fusion.knn_temperature, sims=sims)
        return fuse_vocab(head, knn, fusion, scale)

    def grid(space_options, heads, alphas, extra: dict) -> tuple[ImageFusion, dict]:
        best = None
        for colour_sim, imagenet_sim in space_options:
            if extra.get("plain"):
                sims = loo_sims["plain"]
            else:
                sims = loo_sims["cnn"] + colour_sim * loo_sims["colour"] + imagenet_sim * loo_sims["imagenet"]
            for knn_k in (10, 20, 40):
                for temp in (0.03, 0.05, 0.08):
                    knn = knn_vote(None, None, y_train, knn_k, temp, sims=sims)
                    for w_head in heads:
                        for alpha in alphas:
                            f = ImageFusion(head=w_head, knn=1.0, knn_k=knn_k, knn_temperature=temp, alpha=alpha, head_taps=True,
                                            colour_sim=colour_sim, imagenet_sim=imagenet_sim,
                                            cnn_taps=not extra.get("plain"), cnn_power=1.0 if extra.get("plain") else cfg.cnn_power)
                            s = fuse_vocab(head_loo, knn, f, tag_scale_for(y_train, alpha))
                            m = protocol(s[:, :n_corel])
                            key = m["F1"] + 0.02 * m["N+"]
                            if best is None or key > best[0]:
                                best = (key, f, m)
        return best[1], best[2]

    rows_loo, fusions = {}, {}
    variants = {
        "knn (centre crop features, old)": dict(spaces=[(0.0, 0.0)], heads=[0.0], alphas=[0.0], plain=True),
        "knn (features ++ taps)": dict(spaces=[(0.0, 0.0)], heads=[0.0], alphas=[0.0]),
        "knn (+ colour + imagenet sims)": dict(spaces=[(c, i) for c in (0.0, 0.1, 0.2, 0.3) for i in (0.0, 0.1, 0.2)], heads=[0.0], alphas=[0.0]),
    }
    for name, v in variants.items():
        fusions[name], rows_loo[name] = grid(v["spaces"], v["heads"], v["alphas"], v)
        log.info("loo %-34s %s %s (%.0f s)", name, rows_loo[name], fusions[name], time.time() - t0)
    best_spaces = (fusions["knn (+ colour + imagenet sims)"].colour_sim, fusions["knn (+ colour + imagenet sims)"].imagenet_sim)
    name = "head+knn+rebalance"
    fusions[name], rows_loo[name] = grid([best_spaces], (0.0, 0.25, 0.5, 1.0, 2.0), (0.0, 0.5, 0.75, 1.0, 1.25, 1.5), {})
    log.info("loo %-34s %s %s", name, rows_loo[name], fusions[name])

    def corel_scale(alpha: float) -> np.ndarray:
        """Calibrated fusions' rebalancing: the Corel words against their own median (the clip at
        [0.25, 4] then falls elsewhere than with the hashtags' median), the hashtags at 1."""
        scale = np.ones(len(vocab), np.float32)
        scale[:n_corel] = tag_scale_for(y_train[:, :n_corel], alpha)
        return scale

    # 4. calibration (TagProp-style per-word sigmoid) + label co-occurrence, on held-out halves of the
    #    chunks: the sigmoid fitted on one half's leave-one-out scores scores the other (both ways); and
    #    the hubness correction's weight (each bank photo's similarities less hub x its mean similarity
    #    to its own nearest bank photos), chosen the same way
    fusion = fusions[name]
    n_chunks = len(protocol.chunks)
    halves = (list(range(n_chunks // 2)), list(range(n_chunks // 2, n_chunks)))
    half_rows = [np.concatenate([protocol.chunks[c] for c in h]) for h in halves]
    offsets = hub_offsets(bank, cfg.hub_k) if not holdout and any(cfg.hub_weights) else {}  # [N,N] per space: only when asked
    calibs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    calibrated = None
    if cfg.calibrate:
        y_cal = y_train[loo][:, :n_corel]
        cooc = cooc_matrix(y_train[:, :n_corel])  # as served: from the bank's tag lists
        key = lambda m: m["F1"] + 0.02 * m["N+"]
        best, x_cals = None, {}
        for hub in cfg.hub_weights if offsets else (0.0,):
            calib_fusion = ImageFusion(**{**asdict(fusion), "calibrated": True, "hub": hub})
            space_sims = {s: loo_sims[s] - hub * offsets[s][None, :] if hub else loo_sims[s] for s in ("cnn", "colour", "imagenet")}
            x_cals[hub] = x_cal = calibration_inputs(head_loo, space_sims, y_train, calib_fusion, n_corel)  # [L,W,4]
            for lam in cfg.calib_lams:
                held_p = np.zeros_like(y_cal)
                for fit_rows, score_rows in (half_rows, half_rows[::-1]):
                    held_p[score_rows] = calibrate(x_cal[score_rows], *fit_calibration(x_cal[fit_rows], y_cal[fit_rows], lam, cfg.calib_steps))
                for beta in cfg.cooc_betas:
                    smoothed = held_p + beta * held_p @ cooc
                    for alpha in (0.5, 0.75, 1.0, 1.25, 1.5):
                        m = protocol(smoothed * corel_scale(alpha)[:n_corel])
                        log.info("calibrated hub %g, lam %g, cooc %g, alpha %g: held-out halves %s", hub, lam, beta, alpha, m)
                        if best is None or key(m) > key(best[0]):
                            best = (m, lam, beta, alpha, smoothed, hub)
                        if hub == 0 and beta == 0 and ("calibrated+rebalance" not in rows_loo or key(m) > key(rows_loo["calibrated+rebalance"])):
                            rows_loo["calibrated+rebalance"] = m
                            fusions["calibrated+rebalance"] = ImageFusion(**{**asdict(calib_fusion), "alpha": alpha, "cooc": 0.0})
                            calibs["calibrated+rebalance"] = lam
        m, lam, beta, alpha, smoothed, hub = best
        name_c = "calibrated+cooc+rebalance" + (f"+hubness {hub:g}" if hub else "")
        rows_loo[name_c], calibs[name_c] = m, lam
        fusions[name_c] = ImageFusion(**{**asdict(fusion), "calibrated": True, "alpha": alpha, "cooc": beta, "hub": hub})
        for n_ in ("calibrated+rebalance", name_c):  # refit on all the leave-one-out photos
            calibs[n_] = fit_calibration(x_cals[fusions[n_].hub], y_cal, calibs[n_], cfg.calib_steps)
        log.info("loo %-34s %s (held-out halves) %s", "calibrated+rebalance", rows_loo["calibrated+rebalance"], fusions["calibrated+rebalance"])
        log.info("loo %-34s %s (held-out halves) %s", name_c, m, fusions[name_c])
        if key(m) > key(rows_loo[name]):
            calibrated, fusion = smoothed, fusions[name_c]
        log.info("calibrated: %s (held-out halves F1 %.2f vs %.2f uncalibrated)", calibrated is not None, m["F1"], rows_loo[name]["F1"])

    # 5. per-word biases on the leave-one-out scores of the best fusion (calibrated: the held-out halves' scores)
    sims_best = loo_sims["cnn"] + fusion.colour_sim * loo_sims["colour"] + fusion.imagenet_sim * loo_sims["imagenet"]
    rebalance = tag_scale_for(y_train, fusion.alpha) if calibrated is None else corel_scale(fusion.alpha)
    if calibrated is None:
        fused = score(sims_best, fusion, rebalance, head_loo)[:, :n_corel]
    else:
        fused = calibrated * rebalance[:n_corel]
    # how many rounds: fitted on half of the chunks, scored on the other half (both ways)
    base = np.log(fused + 1e-6)
    held = np.zeros(cfg.bias_rounds + 1)
    for fit_on, score_on in (halves, halves[::-1]):
        held[0] += protocol.subset(score_on)(base)["F1"] / 2
        for r, b in enumerate(tune_biases(base, protocol.subset(fit_on), cfg), start=1):
            held[r] += protocol.subset(score_on)(base + b)["F1"] / 2
    rounds = int(held.argmax())
    held = {r: round(float(f), 2) for r, f in enumerate(held)}
    log.info("per-word bias rounds -> held-out half F1 %s: %d rounds", held, rounds)
    bias = np.zeros(n_corel, np.float32)
    for r, b in enumerate(tune_biases(base, protocol, cfg) if rounds else (), start=1):
        bias = b
        if r == rounds:
            break
    # rebalancing and biases serve the Corel protocol's per-word averages: only the Corel words get
    # them; the MediaEval hashtags (scored per post in the fusion) keep scale 1
    tag_scale = np.ones_like(rebalance)
    tag_scale[:n_corel] = rebalance[:n_corel] * np.exp(bias)
    fusion_bias = ImageFusion(**{**asdict(fusion), "per_word_bias": True})
    name_b = (name_c if calibrated is not None else "head+knn+rebalance") + "+per-word bias"
    rows_loo[name_b] = protocol(np.log(fused + 1e-6) + bias)
    fusions[name_b] = fusion_bias
    if calibrated is not None:
        calibs[name_b] = calibs[name_c]
    log.info("loo per-word bias (fitted there: optimistic) %s (%.0f s)", rows_loo[name_b], time.time() - t0)

    # 6. refit the head on all of train; dev, scored exactly as served
    weight, head_bias = fit_head(train_idx, head_x, head_x_flip)
    bank.head_weight, bank.head_bias = weight, head_bias
    dev_c = np.array([i for i in range(len(items)) if items[i].id in dev_corel])
    gold_dev = gold_sets(y_all[dev_c][:, :n_corel])
    head_dev = served_head_scores(weight, head_bias, head_x[dev_c])
    dev_sims = sims_of(bank, vectors, dev_c)
    dev_sims["plain"] = sims_of(bank_plain, plain, dev_c)["cnn"]
    results = {}
    ones = np.ones(len(vocab), dtype=np.float32)
    dev_cooc = cooc_matrix(y_train[:, :n_corel])
    for name, f in fusions.items():
        scale = tag_scale if f.per_word_bias else corel_scale(f.alpha) if f.calibrated else \
            tag_scale_for(y_train, f.alpha) if f.alpha else ones
        if f.calibrated:  # exactly as served (inference.runtime.image.score_tags; KnnBank takes the hub offsets off)
            sims = {sp: v - f.hub * offsets[sp][None, :] if f.hub and sp in offsets else v for sp, v in dev_sims.items()}
            s = score_tags(head_dev, sims, y_train, f, scale, calibs[name], dev_cooc)
        else:
            sims = dev_sims["plain"] if not f.cnn_taps else \
                dev_sims["cnn"] + f.colour_sim * dev_sims["colour"] + f.imagenet_sim * dev_sims["imagenet"]
            s = score(sims, f, scale, head_dev)
        results[name] = corel_protocol(gold_dev, s[:, :n_corel], n_corel)
        log.info("dev %-34s %s", name, results[name])
    shipped = fusions[name_b]
    indptr = np.concatenate([[0], np.cumsum(y_train.sum(axis=1).astype(np.int64))])
    indices = np.concatenate([np.flatnonzero(r) for r in y_train]).astype(np.int32)
    arrays = {"indptr": indptr, "indices": indices, "head_weight": weight.astype(np.float16), "head_bias": head_bias}
    if shipped.calibrated:
        arrays["calib_weight"], arrays["calib_bias"] = calibs[name_b]
    for space, (mean, proj, b) in bank.spaces.items():
        if space in needed_spaces(shipped):
            arrays.update({f"{space}_mean": mean, f"{space}_proj": proj.astype(np.float16), f"{space}_bank": b.astype(np.float16)})
            if shipped.hub:
                arrays[f"{space}_hub"] = offsets[space]
    np.savez(out / "knn.npz", **arrays)
    (out / "train_meta.json").write_text(json.dumps({
        "vocab": vocab, "n_corel_words": n_corel, "fusion": asdict(shipped), "tag_scale": tag_scale.round(4).tolist(),
        "resize": str(cache["resize"]) if "resize" in cache else "crop", "head_mirrored": bool(mirrored),
        "size": int(cache["size"]) if "size" in cache else 224,
        "dev": results, "leave_one_out": rows_loo, "chosen_on": chosen_on, "shipped": name_b, "fusions": {k: asdict(v) for k, v in fusions.items()},
        "bias_rounds_held_out": held, "config": asdict(cfg), "dev_ids": sorted(dev_ids),
        "split": {"train": len(train_idx), "dev_corel": len(dev_corel), "dev_mediaeval": len(dev_media)},
    }, indent=1))
    log.info("wrote %s (%.0f s)", out, time.time() - t0)


# -- fusion with text on MediaEval (posts whose image is in the dev split) -----------------------------
def cmd_fusion_eval(args) -> None:
    """Text-only vs image-only vs fused suggestions on the MediaEval dev posts (their images unseen
    in training): a retrieval text model built from the train posts, the shipped image tagger."""
    from inference.runtime.image import ImageTagger
    from inference.evaluation.metrics import evaluate
    from inference.text.preprocess import tokenize
    from inference.runtime.retrieval import RetrievalIndex, TagLexicon
    from inference.runtime.suggester import IMAGE_SHARE, LanguageModel, SuggestRequest, Suggester

    out = Path(args.out)
    meta = json.loads((out / "train_meta.json").read_text())
    items = {d["id"]: d for d in json.loads((out / "items.json").read_text())}
    dev_images = {items[i]["path"] for i in meta["dev_ids"] if i.startswith("mediaeval-") and i in items}
    posts = mediaeval_posts(args.mediaeval)
    train = [p for p in posts if p["image"] not in dev_images and p["hashtags"]]
    dev = [p for p in posts if p["image"] in dev_images and p["hashtags"]]
    text_folder = out / "text-mediaeval"
    text_folder.mkdir(parents=True, exist_ok=True)
    RetrievalIndex.build(train, lambda text: tokenize(text, "en")).save(text_folder)
    TagLexicon.from_tag_lists(p["hashtags"] for p in train).save(text_folder)
    (text_folder / "config.json").write_text(json.dumps({"name": "mediaeval-train-retrieval", "version": "dev", "language": "en"}))
    (text_folder / "fusion.json").write_text(json.dumps({"weights": {"retrieval": 1.0, "extract": 0.5}, "norms": {}}))
    tagger = ImageTagger(args.model)
    pixels = {path: tagger.preprocess(Path(path).read_bytes()) for path in sorted({p["image"] for p in dev})}
    gold = [p["hashtags"] for p in dev]
    log.info("MediaEval fusion dev: %d posts, %d images (train: %d posts)", len(dev), len(pixels), len(train))
    rows = {}
    k = args.k
    for weight, share in [(w, IMAGE_SHARE) for w in args.image_weights] + [(0.5, 0.0)]:
        suggester = Suggester({"en": LanguageModel.load(text_folder)}, image_tagger=tagger, image_weight=weight, image_share=share)
        fused = f"fused (image weight {weight})" + ("" if share else ", no places kept for the photo")
        variants = {"text only": lambda p: SuggestRequest(p["post"], k=k, lang="en"),
                    "image only": lambda p: SuggestRequest("", k=k, lang="en", image=pixels[p["image"]]),
                    fused: lambda p: SuggestRequest(p["post"], k=k, lang="en", image=pixels[p["image"]])}
        for name, make in variants.items():
            if name in rows:
                continue
            results = []
            for i in range(0, len(dev), 64):
                results += suggester.suggest_batch([make(p) for p in dev[i:i + 64]])
            m = evaluate(gold, [[s.words for s in r.suggestions] for r in results], "en")
            rows[name] = {key: round(m[key], 2) for key in ("P@1", "F1@1", "P@5", "R@5", "F1@5", "MAP@5")}
            log.info("%-28s %s", name, rows[name])
    (out / f"fusion_eval_k{k}.json").write_text(json.dumps({"posts": len(dev), "images": len(pixels), "k": k, "rows": rows}, indent=1))


def cmd_dev_labels(args) -> None:
    """The Corel dev split as a Corel-5k folder (`words`, `dev_label`, `images` linked to the data's), so
    `tagsmith predict` + `tagsmith evaluate` score it exactly as they would the standard test split."""
    corel, out = Path(args.corel), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dev = dev_split([it.id for it in corel_items(corel)], TrainConfig().n_dev_corel)
    lines = [line for line in (corel / "training_label").read_text().splitlines() if line.split() and f"corel-{line.split()[0]}" in dev]
    (out / "dev_label").write_text("\n".join(lines) + "\n")
    (out / "words").write_text((corel / "words").read_text())
    if not (out / "images").exists():
        (out / "images").symlink_to((corel / "images").resolve(), target_is_directory=True)
    log.info("%d dev photos -> %s", len(lines), out / "dev_label")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("features")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--mediaeval", default=str(SHARED / "mediaeval2016" / "train_posts.txt"))
    p.add_argument("--out", default="runs/image")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mirror", action="store_true", help="also the mirrored images (2x the time)")
    p.add_argument("--resize", choices=sorted(RESIZERS), default="squash", help="serving preprocessing: whole photo or centre crop")
    p.add_argument("--size", type=int, default=224, help="input side in pixels (the graph's pads are fixed for it)")
    p.set_defaults(fn=cmd_features)
    p = sub.add_parser("dev-labels", help="the Corel dev split as a Corel-5k label file (for tagsmith predict/evaluate)")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/corel-dev")
    p.set_defaults(fn=cmd_dev_labels)
    p = sub.add_parser("views", help="combine two `features` runs of the same photos (two views)")
    p.add_argument("--from", nargs=2, required=True, help="two features runs (colour and ImageNet from the first)")
    p.add_argument("--how", choices=["mean", "concat"], default="mean")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_views)

    p = sub.add_parser("activations", help="cache the input of the last blocks (fine-tuning)")
    p.add_argument("--from", default="runs/image-v3", help="a features run: its items.json and resize")
    p.add_argument("--out", default="runs/image-v4")
    p.add_argument("--upto", type=int, default=12)
    p.set_defaults(fn=cmd_activations)
    p = sub.add_parser("finetune", help="fine-tune the last blocks on the cached activations")
    p.add_argument("--from", default="runs/image-v3", help="a features run (items.json, features.npz)")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/image-v4")
    p.add_argument("--upto", type=int, default=12)
    p.add_argument("--start", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--rare-power", type=float)
    p.add_argument("--models", nargs="+", choices=["cv", "cv1", "cv2", "cv3", "full"], default=["cv", "full"],
                   help="cv: trained on folds 1..k-1 (train chooses on fold 0); cvF: without fold F (with all of "
                        "cv, cv1..cv3 train chooses on every Corel train photo, each held out once); full: on all of train (shipped)")
    p.set_defaults(fn=cmd_finetune)
    p = sub.add_parser("train")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/image")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--holdout", action="store_true", help="choose on held-out fold 0 (automatic with a finetune cache)")
    p.add_argument("--hub-weights", type=float, nargs="+", default=[0.0],
                   help="hubness correction weights the held-out halves choose among (0: none; docs/results.md)")
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("fusion-eval")
    p.add_argument("--mediaeval", default=str(SHARED / "mediaeval2016" / "train_posts.txt"))
    p.add_argument("--model", default="inference/models/image")
    p.add_argument("--out", default="runs/image")
    p.add_argument("--image-weights", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    p.add_argument("--k", type=int, default=10, help="suggestions asked for per post (the metrics' @1 and @5 read its top)")
    p.set_defaults(fn=cmd_fusion_eval)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
