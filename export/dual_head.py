"""Two-tower head on frozen sentence-encoder vectors, trained with in-batch InfoNCE (export/tune_encoder.py).

    post tower:  p' = normalise(p + p @ W_post)     W_post [D, D], zero at the start (the identity)
    tag tower:   t' = normalise(t + t @ W_tag)      W_tag  [D, D]
    logits = exp(log_scale) * p' @ t'^T            [B, B]: row i's positive is column i
    loss = (CE(rows) + CE(columns)) / 2, every other pair that is also gold (same tag, same post, or
           the tag is another gold tag of the post) masked out of the negatives

AdamW's decoupled weight decay on W pulls it toward zero, i.e. the head toward the untuned encoder.
The runtime applies the same maps in numpy (inference/runtime/encoder_head.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class HeadConfig:
    dim: int = 512
    temperature: float = 0.05  # initial; learned as log_scale = log(1 / temperature)
    max_scale: float = 100.0


class Tower(nn.Module):
    """x -> normalise(x + x @ W); W [D, D] zero-initialised (stored as a bias-free Linear: W = weight^T)."""

    def __init__(self, dim: int):
        super().__init__()
        self.delta = nn.Linear(dim, dim, bias=False)
        nn.init.zeros_(self.delta.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, D] -> [B, D]
        return F.normalize(x + self.delta(x), dim=-1)

    def matrix(self) -> np.ndarray:
        """W [D_in, D_out] such that the output is normalise(x + x @ W), as the runtime applies it."""
        return self.delta.weight.detach().t().contiguous().numpy()


class DualHead(nn.Module):
    def __init__(self, config: HeadConfig):
        super().__init__()
        self.config = config
        self.post = Tower(config.dim)
        self.tag = Tower(config.dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.temperature)))

    def forward(self, posts: torch.Tensor, tags: torch.Tensor, also_gold: torch.Tensor) -> torch.Tensor:
        """posts, tags: [B, D] frozen vectors of B gold pairs; also_gold: [B, B] bool, True where
        post i and tag j are a gold pair too (the diagonal excepted). Returns the scalar loss."""
        p, t = self.post(posts), self.tag(tags)  # [B, D] each
        scale = self.log_scale.exp().clamp(max=self.config.max_scale)
        logits = scale * p @ t.t()  # [B, B]
        logits = logits.masked_fill(also_gold, float("-inf"))
        target = torch.arange(len(posts))
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2

    def decay_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups: the two matrices decay toward zero (the identity map), the scale does not."""
        return [{"params": [self.post.delta.weight, self.tag.delta.weight], "weight_decay": weight_decay},
                {"params": [self.log_scale], "weight_decay": 0.0}]


class GoldPairs:
    """Membership test for (post, tag) gold pairs, vectorised over a batch."""

    def __init__(self, post: np.ndarray, tag: np.ndarray, n_tags: int):
        self.n_tags = n_tags
        self.codes = np.unique(post * n_tags + tag)  # sorted int64 [P]

    def also_gold(self, post: np.ndarray, tag: np.ndarray) -> torch.Tensor:
        """[B, B] bool: post i with tag j is gold, diagonal False."""
        codes = post[:, None] * self.n_tags + tag[None, :]  # [B, B]
        pos = np.searchsorted(self.codes, codes).clip(max=len(self.codes) - 1)
        mask = self.codes[pos] == codes
        np.fill_diagonal(mask, False)
        return torch.from_numpy(mask)
