"""The PyTorch generator on dev: its loss, and its beam-search hashtags (the numpy search of
inference/runtime/beam.py over the torch decoder, as the exported graphs run it), scored with the
paper's metrics. export/train.py calls them after every epoch and at the end of a run."""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from export.data import Tokenized, Vocab, batches, make_examples
from export.model import BOS, EOS, HashtagGenerator


@torch.no_grad()
def dev_loss(model: HashtagGenerator, examples, batch_size: int) -> float:
    """Mean NLL per target token over the dev (post, hashtag) pairs."""
    model.eval()
    total, tokens = 0.0, 0
    for b in batches(examples, batch_size):
        n = int((b["tgt_out"] != 0).sum())
        total += float(model.loss(b["post"], b["post_mask"], b["conv"], b["conv_mask"], b["tgt_in"], b["tgt_out"])) * n
        tokens += n
    return total / max(tokens, 1)


def make_step_fn(model: HashtagGenerator, memory: torch.Tensor, memory_mask: torch.Tensor):
    """Numpy step function for inference.runtime.beam over the torch decoder; memory gathered per element."""
    cache: dict = {}

    def step(tokens: np.ndarray, element_rows: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        key = element_rows.tobytes()
        if cache.get("key") != key:  # elements rarely retire between steps: gather the memory once
            rows = torch.from_numpy(np.ascontiguousarray(element_rows))
            cache.update(key=key, memory=memory[rows], mask=memory_mask[rows])
        with torch.no_grad():
            log_probs, hidden = model.decode_step(torch.from_numpy(np.ascontiguousarray(tokens)),
                                                  torch.from_numpy(np.ascontiguousarray(state[0])),
                                                  cache["memory"], cache["mask"])
        return log_probs.numpy(), (hidden.numpy(),)

    return step


@torch.no_grad()
def predict(model: HashtagGenerator, data: list[Tokenized], src: Vocab, tgt: Vocab, beam_size: int = 20,
            n_best: int = 10, batch_size: int = 16, progress: bool = False) -> list[list[str]]:
    """Beam search for every post -> ranked distinct hashtags, each its words joined by spaces."""
    from inference.runtime.beam import BeamSearch

    c = model.config
    model.eval()
    search = BeamSearch(beam_size=beam_size, max_len=c.max_tag_len, bos_id=BOS, eos_id=EOS, n_best=n_best, state_axes=(1,))
    examples = make_examples(data, src, tgt, c.max_post_len, c.max_conv_len, c.max_tag_len, per_tag=False)
    out: list[list[str]] = [[] for _ in data]
    for b in tqdm(list(batches(examples, batch_size)), desc="beam search", disable=not progress, mininterval=5):
        memory, memory_mask, hidden0 = model.encode(b["post"], b["post_mask"], b["conv"], b["conv_mask"])
        hyps = search.run(make_step_fn(model, memory, memory_mask), init_state=(hidden0.numpy(),),
                          batch_size=len(b["index"]))
        for i, h in zip(b["index"].tolist(), hyps):
            out[i] = [" ".join(tgt.decode(x.tokens)) for x in h]
    return out


def score(gold: list[list[str]], pred: list[list[str]], lang: str) -> dict:
    from inference.evaluation.metrics import evaluate

    return evaluate(gold, pred, lang)
