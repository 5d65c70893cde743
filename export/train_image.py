"""Train the image tagger's multi-label head on cached EfficientNet-Lite0 features.

    nice -n 5 python -m export.train_image features --out runs/image      # backbone once: features.npz
    nice -n 5 python -m export.train_image train --out runs/image         # head + kNN + calibration, dev eval

Backbone frozen (ImageNet weights): the pooled 1280-d features of every Corel-5k and MediaEval image
(--mirror: and of its horizontal mirror) are computed once with the serving
preprocessing (`inference.image.preprocess`). The head is one linear layer with sigmoid outputs over
the tag vocabulary (Corel words + MediaEval hashtags on >= 3 training images), trained with binary
cross-entropy. At test time its scores are fused with kNN label transfer (see inference.image) and
rebalanced per tag (a bias raising rare words, tuned on a held-out part of train), then evaluated
with the Corel-5k protocol on the dev split (export.image_eval-style numbers in metrics.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from export.image_data import ImageItem, corel_items, corel_words, dev_split, mediaeval_items, mediaeval_posts
from export.image_model import HeadConfig, TagHead, load_pretrained
from inference.image import ImageFusion, fuse_vocab, knn_vote, normalise, open_image, project, resize_crop

log = logging.getLogger("export.train_image")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


# -- evaluation (Corel-5k protocol) ---------------------------------------------------------------
def corel_protocol(gold: list[set[int]], scores: np.ndarray, n_words: int, top: int = 5) -> dict:
    """Each image annotated with its `top` best words; per-word precision and recall averaged over
    the words of the test vocabulary (words with >= 1 gold image); F1 of the two averages; N+ =
    words with recall > 0. Precision of a word never predicted counts 0 (the usual convention)."""
    predicted = np.argsort(-scores, axis=1)[:, :top]
    hits, n_pred, n_gold = np.zeros(n_words), np.zeros(n_words), np.zeros(n_words)
    for tags, row in zip(gold, predicted):
        for w in row:
            n_pred[w] += 1
            hits[w] += w in tags
        for w in tags:
            n_gold[w] += 1
    vocab = n_gold > 0
    precision = np.where(n_pred > 0, hits / np.maximum(n_pred, 1), 0.0)[vocab].mean()
    recall = (hits / np.maximum(n_gold, 1))[vocab].mean()
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"P": round(100 * precision, 2), "R": round(100 * recall, 2), "F1": round(100 * f1, 2),
            "N+": int(((hits > 0) & vocab).sum()), "test_words": int(vocab.sum()), "images": len(gold)}


# -- features ----------------------------------------------------------------------------------------
class BackboneOutputs(torch.nn.Module):
    """x [B,3,224,224] -> features [B,1280], imagenet_probs [B,1000] (the cached arrays)."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        features = self.backbone.features(x)
        return features, torch.softmax(self.backbone._fc(features), -1)


def export_backbone(path: Path) -> None:
    model = BackboneOutputs(load_pretrained()).eval()  # eval: export restores the module's mode
    torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), str(path), input_names=["image"],
                      output_names=["features", "imagenet_probs"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch"} for n in ("image", "features", "imagenet_probs")})


def extract(items: list[ImageItem], onnx_path: Path, workers: int = 2, batch_size: int = 16,
            mirror: bool = False) -> dict[str, np.ndarray]:
    """Pooled features and ImageNet probabilities of each image (and of its mirror: 2x the CPU).
    onnxruntime with one thread per worker: ~3x less CPU than eager PyTorch here, same numbers
    (tests/test_image_export.py checks the parity)."""
    import onnxruntime as ort
    from concurrent.futures import ThreadPoolExecutor

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sessions = [ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"]) for _ in range(workers)]
    batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    start = time.time()

    def run(job: int) -> tuple[np.ndarray, ...]:
        crops = [resize_crop(open_image(Path(it.path).read_bytes())) for it in batches[job]]
        x = np.stack([normalise(c) for c in crops])
        if mirror:
            x = np.concatenate([x, np.stack([normalise(c.transpose(Image.Transpose.FLIP_LEFT_RIGHT)) for c in crops])])
        features, probs = sessions[job % workers].run(None, {"image": x})
        if job % 20 == 0:
            log.info("batch %d/%d, %.1f s", job, len(batches), time.time() - start)
        n = len(crops)
        return features[:n], features[n:], probs[:n]

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(run, range(len(batches))))
    flips = {"features_flip": np.concatenate([r[1] for r in results])} if mirror else {}
    return {"features": np.concatenate([r[0] for r in results]), **flips,
            "imagenet_probs": np.concatenate([r[2] for r in results]).astype(np.float16)}


def cmd_features(args) -> None:
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = corel_items(args.corel) + mediaeval_items(mediaeval_posts(args.mediaeval))
    export_backbone(out / "backbone.onnx")
    arrays = extract(items, out / "backbone.onnx", workers=args.threads, mirror=args.mirror)
    np.savez(out / "features.npz", ids=np.array([it.id for it in items]), **arrays)
    (out / "items.json").write_text(json.dumps([asdict(it) for it in items]))
    log.info("%d images -> %s", len(items), out / "features.npz")


# -- training ----------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    n_dev_corel: int = 500  # Corel dev photos (the standard test split is evaluated independently)
    n_dev_mediaeval: int = 80  # MediaEval dev images (their posts make the fusion dev split)
    n_calib: int = 400  # Corel train photos held out to tune fusion and rebalancing
    min_images_per_hashtag: int = 3  # MediaEval hashtags in the vocabulary
    epochs: int = 25
    lr: float = 1e-2
    weight_decay: float = 1e-4
    batch_size: int = 512
    pca_dim: int = 192
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
    """Linear multi-label head, BCE, AdamW; x [N,1280], y [N,V]."""
    torch.manual_seed(cfg.seed)
    head = TagHead(HeadConfig(num_tags=y.shape[1]))
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


def head_scores(head: TagHead, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.sigmoid(head(torch.from_numpy(x))).numpy()


def fit_pca(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean.astype(np.float32), vt[:dim].T.astype(np.float32)  # [1280], [1280,D]


def tag_scale_for(y: np.ndarray, alpha: float) -> np.ndarray:
    freq = y.sum(axis=0) + 1.0
    return np.clip((freq / np.median(freq)) ** -alpha, 0.25, 4.0).astype(np.float32)


@dataclass
class Fitted:
    head: TagHead
    mean: np.ndarray
    proj: np.ndarray
    bank: np.ndarray  # [N,D] L2-normalised, float16 when shipped
    labels: np.ndarray  # [N,V]


def fit(x: np.ndarray, y: np.ndarray, cfg: TrainConfig) -> Fitted:
    head = train_head(x, y, cfg)
    mean, proj = fit_pca(x, cfg.pca_dim)
    bank = project(x, mean, proj).astype(np.float16).astype(np.float32)  # as served
    return Fitted(head, mean, proj.astype(np.float16).astype(np.float32), bank, y)


def score(fitted: Fitted, x: np.ndarray, fusion: ImageFusion, tag_scale: np.ndarray) -> np.ndarray:
    knn = knn_vote(project(x, fitted.mean, fitted.proj), fitted.bank, fitted.labels, fusion.knn_k, fusion.knn_temperature)
    return fuse_vocab(head_scores(fitted.head, x), knn, fusion, tag_scale)


def gold_sets(y: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(row)) for row in y]


def cmd_train(args) -> None:
    torch.set_num_threads(1)  # tiny matrices: more threads only spin on a shared machine
    cfg = TrainConfig()
    out = Path(args.out)
    items, cache = load_cache(out)
    x_all = cache["features"].astype(np.float32)
    corel = [i for i, it in enumerate(items) if it.id.startswith("corel-")]
    media = [i for i, it in enumerate(items) if it.id.startswith("mediaeval-")]
    dev_corel = dev_split([items[i].id for i in corel], cfg.n_dev_corel)
    dev_media = dev_split([items[i].id for i in media], cfg.n_dev_mediaeval)
    dev_ids = dev_corel | dev_media
    train_idx = [i for i in range(len(items)) if items[i].id not in dev_ids and items[i].tags]
    calib_ids = dev_split([items[i].id for i in train_idx if items[i].id.startswith("corel-")], cfg.n_calib)
    vocab = build_vocab(items, {items[i].id for i in train_idx}, corel_words(args.corel), cfg.min_images_per_hashtag)
    n_corel = len(corel_words(args.corel))
    y_all = label_matrix(items, vocab)
    log.info("vocab %d (%d Corel words); train %d, calib %d, dev %d Corel + %d MediaEval",
             len(vocab), n_corel, len(train_idx), len(calib_ids), len(dev_corel), len(dev_media))

    # 1. tune fusion and rebalancing on calib, the head trained without it
    inner = [i for i in train_idx if items[i].id not in calib_ids]
    calib = [i for i in train_idx if items[i].id in calib_ids]
    t0 = time.time()
    fitted = fit(x_all[inner], y_all[inner], cfg)
    log.info("head + PCA fitted in %.1f s", time.time() - t0)
    head_only = head_scores(fitted.head, x_all[calib])
    z_calib = project(x_all[calib], fitted.mean, fitted.proj)
    gold_calib = gold_sets(y_all[calib][:, :n_corel])
    best = None
    for knn_k in (5, 10, 20, 40):
        for temp in (0.02, 0.05, 0.1):
            knn = knn_vote(z_calib, fitted.bank, fitted.labels, knn_k, temp)
            log.info("grid knn_k=%d temperature=%s (%.1f s)", knn_k, temp, time.time() - t0)
            for w_knn in (0.0, 0.5, 1.0, 2.0, 4.0):
                for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
                    fusion = ImageFusion(head=1.0, knn=w_knn, knn_k=knn_k, knn_temperature=temp, alpha=alpha)
                    s = fuse_vocab(head_only, knn, fusion, tag_scale_for(y_all[inner], alpha))
                    m = corel_protocol(gold_calib, s[:, :n_corel], n_corel)
                    key = (m["F1"] + 0.05 * m["N+"], m["F1"])
                    if best is None or key > best[0]:
                        best = (key, fusion, m)
    _, fusion, calib_metrics = best
    log.info("calib best %s: %s", fusion, calib_metrics)

    # 2. refit on all of train, evaluate on dev
    fitted = fit(x_all[train_idx], y_all[train_idx], cfg)
    tag_scale = tag_scale_for(y_all[train_idx], fusion.alpha)
    dev_c = [i for i in range(len(items)) if items[i].id in dev_corel]
    gold_dev = gold_sets(y_all[dev_c][:, :n_corel])
    x_dev = x_all[dev_c]
    results = {}
    variants = {
        "head": ImageFusion(head=1.0, knn=0.0),
        "knn": ImageFusion(head=0.0, knn=1.0, knn_k=fusion.knn_k, knn_temperature=fusion.knn_temperature),
        "head+knn": ImageFusion(**{**asdict(fusion), "alpha": 0.0}),
        "head+knn+rebalance": fusion,
    }
    for name, f in variants.items():
        scale = tag_scale if name.endswith("rebalance") else np.ones(len(vocab), dtype=np.float32)
        results[name] = corel_protocol(gold_dev, score(fitted, x_dev, f, scale)[:, :n_corel], n_corel)
        log.info("dev %-20s %s", name, results[name])
    torch.save({"state_dict": fitted.head.state_dict(), "head_config": asdict(fitted.head.cfg), "vocab": vocab}, out / "head.pt")
    indptr = np.concatenate([[0], np.cumsum(fitted.labels.sum(axis=1).astype(np.int64))])
    indices = np.concatenate([np.flatnonzero(r) for r in fitted.labels]).astype(np.int32)
    np.savez(out / "knn.npz", mean=fitted.mean, proj=fitted.proj.astype(np.float16),
             bank=fitted.bank.astype(np.float16), indptr=indptr, indices=indices)
    (out / "train_meta.json").write_text(json.dumps({
        "vocab": vocab, "n_corel_words": n_corel, "fusion": asdict(fusion), "tag_scale": tag_scale.round(4).tolist(),
        "dev": results, "calib": calib_metrics, "config": asdict(cfg),
        "dev_ids": sorted(dev_ids), "split": {"train": len(train_idx), "dev_corel": len(dev_corel), "dev_mediaeval": len(dev_media)},
    }, indent=1))
    log.info("wrote %s", out)


# -- fusion with text on MediaEval (posts whose image is in the dev split) -----------------------------
def cmd_fusion_eval(args) -> None:
    """Text-only vs image-only vs fused suggestions on the MediaEval dev posts (their images unseen
    in training): a retrieval text model built from the train posts, the shipped image tagger."""
    from inference.image import ImageTagger
    from inference.metrics import evaluate
    from inference.preprocess import tokenize
    from inference.retrieval import RetrievalIndex, TagLexicon
    from inference.suggester import LanguageModel, SuggestRequest, Suggester

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
    for weight in args.image_weights:
        suggester = Suggester({"en": LanguageModel.load(text_folder)}, image_tagger=tagger, image_weight=weight)
        variants = {"text only": lambda p: SuggestRequest(p["post"], k=10, lang="en"),
                    "image only": lambda p: SuggestRequest("", k=10, lang="en", image=pixels[p["image"]]),
                    f"fused (image weight {weight})": lambda p: SuggestRequest(p["post"], k=10, lang="en", image=pixels[p["image"]])}
        for name, make in variants.items():
            if name in rows:
                continue
            results = []
            for i in range(0, len(dev), 64):
                results += suggester.suggest_batch([make(p) for p in dev[i:i + 64]])
            m = evaluate(gold, [[s.words for s in r.suggestions] for r in results], "en")
            rows[name] = {k: round(m[k], 2) for k in ("P@1", "F1@1", "P@5", "R@5", "F1@5", "MAP@5")}
            log.info("%-28s %s", name, rows[name])
    (out / "fusion_eval.json").write_text(json.dumps({"posts": len(dev), "images": len(pixels), "rows": rows}, indent=1))


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
    p.set_defaults(fn=cmd_features)
    p = sub.add_parser("train")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/image")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("fusion-eval")
    p.add_argument("--mediaeval", default=str(SHARED / "mediaeval2016" / "train_posts.txt"))
    p.add_argument("--model", default="inference/models/image")
    p.add_argument("--out", default="runs/image")
    p.add_argument("--image-weights", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    p.set_defaults(fn=cmd_fusion_eval)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
