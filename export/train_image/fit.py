"""What `train` fits: the linear head, the kNN spaces, the per-word calibration and biases, and the
chunked Corel protocol every choice is made on."""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F

from export.image_model import HeadConfig, TagHead
from export.train_image.common import TrainConfig
from inference.runtime.image import KnnBank, project

log = logging.getLogger("export.train_image")


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

