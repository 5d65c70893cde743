"""Tune the sentence encoder for hashtags: a two-tower head on frozen USE vectors (export/dual_head.py).

    python -m export.tune_encoder --lang en [--lang zh ...] [--out runs/tune_encoder/en] [--write FOLDER]

Data: runs/corpus/{lang}_train.jsonl (post + thread on one side, a gold tag's words on the other; vectors
cached by export/encoder_vectors.py); `--val-fraction` of the train posts is held out for early stopping
(recall@10 of the vocabulary search); runs/corpus/{lang}_dev.jsonl is only measured. Several --lang
train one head on the languages' pairs together. The measure is the grounding stage's vocabulary search:
every dev post's cosine to every tag of the shipped tag index (inference/models/{lang}/tag_index.npz),
gold tags' recall@10 and the MRR of the first one, over the posts with a gold tag in the index; the
untuned encoder (a zero head) beside the tuned one, both through the runtime's numpy head.

Writes into --out: ckpt.pt (TuneConfig, HeadConfig, best weights, history) and report.json. --write
FOLDER puts encoder_head.npz (float16 matrices) + encoder_head.json into a model folder and rewrites
its manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from export import encoder_vectors
from export.dual_head import DualHead, GoldPairs, HeadConfig
from export.folder_manifest import write_manifest
from inference.runtime.encoder_head import FORMAT_VERSION, HEAD_JSON, HEAD_WEIGHTS, KIND, EncoderHead
from inference.runtime.tag_index import TagIndex
from inference.text.tags import tag_key

ROOT = Path(__file__).resolve().parents[1]
K = 10


@dataclass
class TuneConfig:
    langs: list[str] = field(default_factory=lambda: ["en"])
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.05  # AdamW's decoupled decay of the matrices toward zero (the identity map)
    max_epochs: int = 40
    patience: int = 4  # epochs without a better held-out recall@10 before stopping
    val_fraction: float = 0.1  # of the train posts, held out for early stopping
    seed: int = 0
    threads: int = 1
    cached_only: bool = False  # train on the posts whose vectors export/dense_index.py has cached so far
    head: HeadConfig = field(default_factory=HeadConfig)


@dataclass
class LangData:
    """One language's frozen vectors: train pairs, held-out and dev posts, the shipped tag index."""

    lang: str
    train: encoder_vectors.SplitVectors
    fit_posts: np.ndarray  # indexes of train posts used for fitting
    val_posts: np.ndarray  # indexes of train posts held out
    dev: encoder_vectors.SplitVectors
    index: TagIndex


def load_lang(lang: str, config: TuneConfig, index_path: Path | None = None) -> LangData:
    train = encoder_vectors.load(lang, "train", cached_only=config.cached_only)
    dev = encoder_vectors.load(lang, "dev")
    order = np.random.default_rng(config.seed).permutation(len(train.posts))
    n_val = int(round(len(order) * config.val_fraction))
    index = TagIndex.load(index_path or ROOT / "inference" / "models" / lang / "tag_index.npz")
    return LangData(lang, train, np.sort(order[n_val:]), np.sort(order[:n_val]), dev, index)


def vocab_gold(split: encoder_vectors.SplitVectors, posts: np.ndarray, index: TagIndex) -> tuple[list[list[int]], float]:
    """Per post: its gold tags' rows in the tag index; and the share of gold tags the index has."""
    rows = {tag_key(t): i for i, t in enumerate(index.tags)}
    gold = [[rows[tag_key(split.tags[t])] for t in split.gold[p] if tag_key(split.tags[t]) in rows] for p in posts]
    total = sum(len(split.gold[p]) for p in posts)
    return gold, sum(map(len, gold)) / max(1, total)


def vocab_metrics(posts: np.ndarray, vocab: np.ndarray, gold: list[list[int]]) -> dict:
    """Recall@10 of the gold rows and MRR of the first, ranking every vocabulary row by cosine.
    posts [N, D], vocab [V, D]: unit rows; posts with no gold row are left out."""
    keep = [i for i, g in enumerate(gold) if g]
    recall, mrr = [], []
    for start in range(0, len(keep), 256):
        rows = keep[start:start + 256]
        scores = posts[rows] @ vocab.T  # [b, V]
        for s, i in zip(scores, rows):
            ranks = np.sort((s[None, :] > s[gold[i]][:, None]).sum(axis=1))  # [g]: tags scoring above each gold tag
            recall.append(float(np.mean(ranks < K)))
            mrr.append(1.0 / (ranks[0] + 1))
    return {"recall@10": round(float(np.mean(recall)), 4) if recall else 0.0,
            "mrr": round(float(np.mean(mrr)), 4) if mrr else 0.0, "posts": len(keep)}


def measure(head: EncoderHead | None, data: LangData, split: str) -> dict:
    """The vocabulary search's figures on held-out train posts ("val") or dev, through a numpy head."""
    source = data.train if split == "val" else data.dev
    posts = data.val_posts if split == "val" else np.arange(len(data.dev.posts))
    gold, coverage = vocab_gold(source, posts, data.index)
    p, v = source.posts[posts], data.index.vectors
    if head is not None:
        p, v = head.posts(p), head.tags(v)
    return {**vocab_metrics(p, v, gold), "gold_in_index": round(coverage, 3)}


def numpy_head(model: DualHead, info: dict | None = None) -> EncoderHead:
    """The trained maps as the runtime holds them, rounded through float16 as they are written."""
    post, tag = (m.astype(np.float16) for m in (model.post.matrix(), model.tag.matrix()))
    return EncoderHead(post, tag, info)


def training_pairs(langs: list[LangData]) -> tuple[np.ndarray, np.ndarray, GoldPairs, np.ndarray, np.ndarray]:
    """Every fit post's gold pairs of every language: post ids [P], tag ids [P] (offset per language so
    they index the stacked arrays), their gold-pair test, and the stacked post [N, D] and tag [T, D] vectors."""
    posts, tags, post_vecs, tag_vecs, n_posts, n_tags = [], [], [], [], 0, 0
    for data in langs:
        post, tag = data.train.pairs()
        fit = np.isin(post, data.fit_posts)
        posts.append(post[fit] + n_posts)
        tags.append(tag[fit] + n_tags)
        post_vecs.append(data.train.posts)
        tag_vecs.append(data.train.tag_vectors)
        n_posts, n_tags = n_posts + len(data.train.posts), n_tags + len(data.train.tags)
    post, tag = np.concatenate(posts), np.concatenate(tags)
    return post, tag, GoldPairs(post, tag, n_tags), np.concatenate(post_vecs), np.concatenate(tag_vecs)


def train(config: TuneConfig, langs: list[LangData], log=print) -> tuple[DualHead, list[dict]]:
    """Fits the head; keeps the weights of the epoch with the best mean held-out recall@10."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    post, tag, gold, post_vecs, tag_vecs = training_pairs(langs)
    post_vecs, tag_vecs = torch.from_numpy(post_vecs), torch.from_numpy(tag_vecs)
    model = DualHead(config.head)
    optimizer = torch.optim.AdamW(model.decay_groups(config.weight_decay), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    best, best_state, stale = -1.0, None, 0
    history = [{"epoch": 0, "val": {d.lang: measure(None, d, "val") for d in langs}}]  # the untuned encoder
    for epoch in range(config.max_epochs):
        start, losses = time.perf_counter(), []
        order = rng.permutation(len(post))
        for i in range(0, len(order) - config.batch_size + 1, config.batch_size):
            b = order[i:i + config.batch_size]  # [B] pair indexes
            loss = model(post_vecs[post[b]], tag_vecs[tag[b]], gold.also_gold(post[b], tag[b]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        head = numpy_head(model)
        val = {d.lang: measure(head, d, "val") for d in langs}
        score = float(np.mean([v["recall@10"] for v in val.values()]))
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4), "val": val,
                        "temperature": round(float(1 / model.log_scale.detach().exp()), 4), "s": round(time.perf_counter() - start, 1)})
        log(json.dumps(history[-1], ensure_ascii=False))
        if score > best:
            best, best_state, stale = score, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best_state)
    return model, history


def write_head(folder: Path, head: EncoderHead, info: dict) -> None:
    """encoder_head.npz (float16 matrices) and encoder_head.json into `folder`, then its manifest."""
    folder = Path(folder)
    weights = folder / HEAD_WEIGHTS
    np.savez(weights, post=head.post.astype(np.float16), tag=head.tag.astype(np.float16))
    meta = {"format_version": FORMAT_VERSION, "kind": KIND, "dim": head.dim, "weights": HEAD_WEIGHTS,
            "dtype": "float16", "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), **info}
    (folder / HEAD_JSON).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_manifest(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.tune_encoder", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", action="append", choices=["en", "zh"], required=True)
    parser.add_argument("--out", type=Path, help="default runs/tune_encoder/<langs>")
    parser.add_argument("--write", type=Path, help="a model folder to write the head into")
    defaults = TuneConfig()
    for name in ("batch_size", "lr", "weight_decay", "max_epochs", "patience", "val_fraction", "seed", "threads"):
        parser.add_argument("--" + name.replace("_", "-"), type=type(getattr(defaults, name)), default=getattr(defaults, name))
    parser.add_argument("--temperature", type=float, default=HeadConfig.temperature)
    parser.add_argument("--cached-only", action="store_true", help="train on the train posts already encoded")
    args = parser.parse_args(argv)
    config = TuneConfig(langs=args.lang, head=HeadConfig(temperature=args.temperature), cached_only=args.cached_only,
                        **{k: getattr(args, k) for k in ("batch_size", "lr", "weight_decay", "max_epochs", "patience",
                                                           "val_fraction", "seed", "threads")})
    out = args.out or ROOT / "runs" / "tune_encoder" / "-".join(config.langs)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    langs = [load_lang(lang, config) for lang in config.langs]
    model, history = train(config, langs)
    train_s = round(time.perf_counter() - start, 1)
    head = numpy_head(model)
    dev = {d.lang: {"untuned": measure(None, d, "dev"), "tuned": measure(head, d, "dev")} for d in langs}
    best = max(history[1:], key=lambda h: np.mean([v["recall@10"] for v in h["val"].values()]))
    info = {"config": asdict(config), "training": {
        "data": [f"runs/corpus/{d.lang}_train.jsonl" for d in langs], "fit_posts": {d.lang: len(d.fit_posts) for d in langs},
        "val_posts": {d.lang: len(d.val_posts) for d in langs},
        "best_epoch": best["epoch"], "epochs_run": len(history) - 1, "seconds": train_s, "val": best["val"]},
        "dev": dev, "dev_data": [f"runs/corpus/{d.lang}_dev.jsonl" for d in langs]}
    torch.save({"config": asdict(config), "state": model.state_dict(), "history": history, "dev": dev}, out / "ckpt.pt")
    (out / "report.json").write_text(json.dumps({**info, "history": history}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"dev": dev, "best_epoch": best["epoch"], "train_s": train_s}, ensure_ascii=False))
    if args.write:
        write_head(args.write, head, info)
        print(f"wrote {args.write / HEAD_JSON} and {args.write / HEAD_WEIGHTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
