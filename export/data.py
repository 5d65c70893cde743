"""Vocabularies and batches for the hashtag generator, from canonical JSONL records
(docs/architecture.md): {"post", "thread": [...], "hashtags": ["aus open", ...], "lang", ...}.

One training example per (post, gold hashtag) pair, as the paper does (copies of a post with
several tags). Source vocabulary: post and thread words seen at least `min_freq` times; target
vocabulary: the words of the training hashtags only (a small output layer keeps serving fast).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from export.model import BOS, EOS, PAD, SRC_PAD, SRC_UNK, UNK

SRC_SPECIALS = ["<pad>", "<unk>"]
TGT_SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]


def _fallback_tokenize(text: str, lang: str | None = None) -> list[str]:
    return text.lower().split()


def get_tokenizer():
    """inference.text.preprocess.tokenize (shared with serving) when it exists, else a whitespace split."""
    try:
        from inference.text.preprocess import tokenize
    except ImportError:
        return _fallback_tokenize
    return tokenize


def preprocess_version() -> str:
    try:
        from inference.text.preprocess import PREPROCESS_VERSION
    except ImportError:
        return "whitespace-0"
    return str(PREPROCESS_VERSION)


# -- records ------------------------------------------------------------------------------------
def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_weibo(prefix: str | Path) -> list[dict]:
    """DIR/valid -> canonical records from DIR/valid_{post,conv,tag}.txt (already tokenised)."""
    prefix = str(prefix)
    lines = {}
    for part in ("post", "conv", "tag"):
        with open(f"{prefix}_{part}.txt", encoding="utf-8") as f:
            lines[part] = f.read().split("\n")[:-1]
    name = Path(prefix).name
    return [
        {"id": f"weibo-{name}-{i}", "post": post, "thread": [conv] if conv.strip() else [],
         "hashtags": [t.strip() for t in tags.split(";") if t.strip()], "image": None, "lang": "zh", "source": "weibo"}
        for i, (post, conv, tags) in enumerate(zip(lines["post"], lines["conv"], lines["tag"]))
    ]


def load_records(path: str | Path) -> list[dict]:
    """Canonical JSONL; or a Weibo prefix (DIR/valid); readers.read_records for anything else."""
    path = str(path)
    if path.endswith(".jsonl"):
        return read_jsonl(path)
    if Path(f"{path}_post.txt").exists():
        return read_weibo(path)
    from inference.evaluation.readers import read_records

    return list(read_records(path))


# -- vocabularies -------------------------------------------------------------------------------
class Vocab:
    def __init__(self, itos: list[str], unk_id: int):
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.unk_id = unk_id

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, words: list[str]) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in words]

    def decode(self, ids) -> list[str]:
        return [self.itos[i] for i in ids]

    @classmethod
    def build(cls, counts: Counter, specials: list[str], unk_id: int, min_freq: int, max_size: int) -> "Vocab":
        words = [w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_freq and w not in specials]
        return cls(specials + words[: max(0, max_size - len(specials))], unk_id)


@dataclass
class Tokenized:
    post: list[str]
    conv: list[str]
    tags: list[list[str]]  # each gold hashtag as its words
    record: dict


def tokenize_records(records: list[dict], tokenize=None, max_conv_len: int | None = None) -> list[Tokenized]:
    """max_conv_len: stop reading a thread once it has this many tokens (long Instagram threads)."""
    tokenize = tokenize or get_tokenizer()
    out = []
    for r in records:
        lang = r.get("lang")
        conv: list[str] = []
        for message in r.get("thread") or []:
            if max_conv_len is not None and len(conv) >= max_conv_len:
                break
            conv.extend(tokenize(message, lang))
        tags = [t.lower().split() for t in r.get("hashtags") or []]
        out.append(Tokenized(tokenize(r.get("post") or "", lang), conv[:max_conv_len], [t for t in tags if t], r))
    return out


def build_vocabs(data: list[Tokenized], min_freq: int = 2, src_max: int = 50000, tgt_min_freq: int = 1,
                 tgt_max: int = 8000) -> tuple[Vocab, Vocab]:
    src, tgt = Counter(), Counter()
    for t in data:
        src.update(t.post)
        src.update(t.conv)
        for tag in t.tags:
            tgt.update(tag)
    return (Vocab.build(src, SRC_SPECIALS, SRC_UNK, min_freq, src_max),
            Vocab.build(tgt, TGT_SPECIALS, UNK, tgt_min_freq, tgt_max))


# -- examples and batches -----------------------------------------------------------------------
@dataclass
class Example:
    post: list[int]
    conv: list[int]
    tag: list[int]  # target words, without <bos>/<eos>; [] for inference-only examples
    index: int  # position of the record in its data set


def make_examples(data: list[Tokenized], src: Vocab, tgt: Vocab, max_post_len: int, max_conv_len: int,
                  max_tag_len: int, per_tag: bool = True) -> list[Example]:
    """per_tag: one example per (post, hashtag) pair (training, dev loss); else one per post."""
    out = []
    for i, t in enumerate(data):
        post, conv = src.encode(t.post[:max_post_len]), src.encode(t.conv[:max_conv_len])
        if not per_tag:
            out.append(Example(post, conv, [], i))
            continue
        for tag in t.tags:
            out.append(Example(post, conv, tgt.encode(tag[: max_tag_len - 1]), i))  # room for <eos>
    return out


def _pad(rows: list[list[int]], pad: int, min_len: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(min_len, max((len(r) for r in rows), default=0))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    return ids, torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)


def collate(examples: list[Example]) -> dict[str, torch.Tensor]:
    """-> post [B,Tp], post_mask, conv [B,Tc], conv_mask, tgt_in [B,Tt] (<bos> y..), tgt_out (y.. <eos>)."""
    post, post_mask = _pad([e.post for e in examples], SRC_PAD)
    conv, conv_mask = _pad([e.conv for e in examples], SRC_PAD)
    tgt_in, _ = _pad([[BOS] + e.tag for e in examples], PAD)
    tgt_out, _ = _pad([e.tag + [EOS] for e in examples], PAD)
    return {"post": post, "post_mask": post_mask, "conv": conv, "conv_mask": conv_mask,
            "tgt_in": tgt_in, "tgt_out": tgt_out, "index": torch.tensor([e.index for e in examples])}


def batches(examples: list[Example], batch_size: int, shuffle: bool = False, rng: random.Random | None = None,
            pool: int = 50):
    """Length-bucketed batches: examples sorted by length within pools of `pool` batches (less
    padding, much faster on a CPU), pools and batches shuffled when training."""
    order = list(range(len(examples)))
    if shuffle:
        (rng or random).shuffle(order)
    chunks = []
    step = batch_size * pool
    for start in range(0, len(order), step):
        group = sorted(order[start : start + step], key=lambda i: (len(examples[i].conv), len(examples[i].post)))
        chunks.extend(group[j : j + batch_size] for j in range(0, len(group), batch_size))
    if shuffle:
        (rng or random).shuffle(chunks)
    for chunk in chunks:
        yield collate([examples[i] for i in chunk])
