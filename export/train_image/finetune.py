"""`python -m export.train_image finetune`: the last blocks fine-tuned on cached activations.

Measured, not shipped (docs/results.md): a copy of blocks 12-15 + head conv trained on the cached
input of block 12 (LP-FT, bfloat16 autocast, one thread); with a fine-tuned cache `train` chooses
on held-out folds (each fold's photos scored by a copy that never saw them) instead of leave-one-out.
"""

from __future__ import annotations

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

from export.image_model import TunedTail, fuse_bn_fp16, load_pretrained
from export.train_image.common import (TrainConfig, corel_folds, corel_protocol, gold_sets, label_matrix, load_cache,
                                       split_rows, tag_scale_for)
from export.train_image.fit import train_head

log = logging.getLogger("export.train_image")


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



def finetune_tail(act: np.ndarray, act_flip: np.ndarray, y: np.ndarray, rows: np.ndarray, upto: int,
                  cfg: FinetuneConfig, held: np.ndarray | None = None) -> TunedTail:
    """Blocks cfg.start..15 + head conv + a classifier, BCE on the Corel words, on the cached inputs of
    block `upto` of `rows` (each step draws the photo or its mirror); bfloat16 autocast, one thread."""
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
    split = split_rows(items, TrainConfig(), args.corel)
    n_corel = split.n_corel
    y = label_matrix(items, split.vocab[:n_corel])
    folds = corel_folds(items, {items[i].id for i in split.train_idx}, cfg.folds, cfg.seed)
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
