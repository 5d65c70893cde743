"""What the sub-commands of `python -m export.train_image` share: the cache on disk, the split of
its photos, their labels and the Corel-5k protocol they are scored with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.image_data import ImageItem, corel_words, dev_split
from export.image_model import BackboneConfig, backbone_config
from inference.evaluation.metrics import corel_protocol as metrics_corel_protocol

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def corel_protocol(gold: list[set[int]], scores: np.ndarray, n_words: int, top: int = 5) -> dict:
    """The Corel protocol (`inference.evaluation.metrics.corel_protocol`, what `tagsmith evaluate` prints) on scores
    [N,n_words]: each image annotated with its `top` best words."""
    return metrics_corel_protocol(gold, np.argsort(-scores[:, :n_words], axis=1)[:, :top].tolist(), top)


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
    seed: int = 0


@dataclass
class Split:
    """The photos `train` fits on and scores (the same in `finetune`)."""
    dev_corel: set[str]  # ids of the Corel dev photos (the standard test split is evaluated independently)
    dev_media: set[str]  # ids of the MediaEval dev images
    train_idx: np.ndarray  # rows of the cache: every other photo with tags
    vocab: list[str]  # Corel words first (the Corel protocol's columns), then frequent MediaEval hashtags
    n_corel: int  # how many Corel words

    @property
    def dev_ids(self) -> set[str]:
        return self.dev_corel | self.dev_media


def split_rows(items: list[ImageItem], cfg: TrainConfig, corel_dir: str) -> Split:
    """The dev photos, the train rows and the vocabulary, as `train` defines them."""
    dev_corel = dev_split([it.id for it in items if it.id.startswith("corel-")], cfg.n_dev_corel)
    dev_media = dev_split([it.id for it in items if it.id.startswith("mediaeval-")], cfg.n_dev_mediaeval)
    dev_ids = dev_corel | dev_media
    train_idx = np.array([i for i in range(len(items)) if items[i].id not in dev_ids and items[i].tags])
    words = corel_words(corel_dir)
    vocab = build_vocab(items, {items[i].id for i in train_idx}, words, cfg.min_images_per_hashtag)
    return Split(dev_corel, dev_media, train_idx, vocab, len(words))


def corel_folds(items: list[ImageItem], train_ids: set[str], k: int, seed: int = 0) -> np.ndarray:
    """[N] fold 0..k-1 of each Corel training photo (a seeded permutation of the sorted ids), -1 for the rest."""
    ids = sorted(it.id for it in items if it.id in train_ids and it.id.startswith("corel-"))
    fold_of = {i: f % k for f, i in zip(range(len(ids)), np.random.default_rng(seed).permutation(ids))}
    return np.array([fold_of.get(it.id, -1) for it in items], dtype=np.int8)


def load_cache(folder: Path) -> tuple[list[ImageItem], dict[str, np.ndarray]]:
    items = [ImageItem(d["id"], d["path"], tuple(d["tags"])) for d in json.loads((folder / "items.json").read_text())]
    cache = np.load(folder / "features.npz")
    return items, {k: cache[k] for k in cache.files}


def cache_backbone(cache) -> BackboneConfig:
    """The backbone a features cache was computed with (`features --backbone`; caches from before the option: Lite0)."""
    return backbone_config(json.loads(str(cache["backbone"])) if "backbone" in cache else None)


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



def tag_scale_for(y: np.ndarray, alpha: float) -> np.ndarray:
    freq = y.sum(axis=0) + 1.0
    return np.clip((freq / np.median(freq)) ** -alpha, 0.25, 4.0).astype(np.float32)


def gold_sets(y: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(row)) for row in y]
