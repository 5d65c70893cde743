"""The paper's baselines (Table 4) on our corpora, scored with the paper's metrics.

    python -m export.baselines --train runs/corpus/zh_train.jsonl --dev runs/corpus/zh_dev.jsonl \
        --lang zh --out runs/baselines-zh [--prior /work/shared/data/weibo/train_tag.txt]

RANDOM (random training hashtags), MOST-POPULAR, TF-IDF n-gram extraction (n <= 5, post + thread),
RETRIEVAL (TF-IDF nearest training posts vote their hashtags, inference/runtime/retrieval.py) and
CLASSIFIER post-only / post+conv (Gong & Zhang 2016: attention CNN over the training hashtags).
Writes `<out>/<name>.txt` per baseline in the `tagsmith predict` format and prints a table.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from inference.text.preprocess import SPECIAL_TOKENS, tokenize
from inference.runtime.retrieval import RetrievalConfig, RetrievalIndex, TagLexicon

METRICS = ("F1@1", "F1@5", "MAP@5", "RG-1", "RG-SU4")


# -- data ------------------------------------------------------------------------------------------
def load_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_tag_file(path: str | Path) -> list[list[str]]:
    """A `*_tag.txt` file: one line per post, tags joined by ';'."""
    with open(path, encoding="utf-8") as f:
        return [[" ".join(t.split()) for t in line.strip().split(";") if t.strip()] for line in f]


@functools.lru_cache(maxsize=4)
def tokenizer(lang: str):
    return functools.partial(tokenize, lang=lang)


def tokens_of(records: list[dict], lang: str) -> list[tuple[list[str], list[str]]]:
    """(post tokens, thread tokens) per record."""
    tok = tokenizer(lang)
    return [(tok(r.get("post") or ""), tok(" ".join(r.get("thread") or []))) for r in records]


def write_predictions(path: Path, predictions: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for tags in predictions:
            f.write(";".join(" ".join(t.split()) for t in tags) + "\n")


def score(gold: list[list[str]], predictions: list[list[str]], lang: str) -> dict:
    from inference.evaluation.metrics import evaluate

    return evaluate(gold, predictions, lang)


def format_table(rows: list[tuple[str, dict]]) -> str:
    lines = [f"{'method':28s}" + "".join(f"{m:>9s}" for m in METRICS)]
    for name, figures in rows:
        lines.append(f"{name:28s}" + "".join(f"{_percent(figures[m]):9.2f}" for m in METRICS))
    return "\n".join(lines)


def _percent(value: float) -> float:
    """Metrics may come as fractions or percentages; print percentages."""
    return value


# -- unsupervised baselines ------------------------------------------------------------------------
def random_baseline(train_tags: list[str], n: int, k: int, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    pool = sorted(set(train_tags))
    return [rng.sample(pool, min(k, len(pool))) for _ in range(n)]


def most_popular(lexicon: TagLexicon, n: int, k: int) -> list[list[str]]:
    top = [t for t, _ in lexicon.prior(k)]
    return [list(top) for _ in range(n)]


def ngrams(tokens: list[str], max_n: int = 5):
    for i in range(len(tokens)):
        for n in range(1, min(max_n, len(tokens) - i) + 1):
            gram = tokens[i : i + n]
            if any(t in SPECIAL_TOKENS for t in gram):
                break
            yield " ".join(gram)


def tfidf_extraction(train_tokens, dev_tokens, k: int, max_n: int = 5) -> list[list[str]]:
    """Rank the n-grams (n <= max_n) of post + thread by tf * idf, idf from the training posts."""
    df = Counter()
    for post, thread in train_tokens:
        df.update(set(ngrams(post, max_n)) | set(ngrams(thread, max_n)))
    n_docs = len(train_tokens)
    out = []
    for post, thread in dev_tokens:
        tf = Counter(ngrams(post, max_n)) + Counter(ngrams(thread, max_n))
        scored = sorted(tf.items(), key=lambda kv: (-kv[1] * math.log((1 + n_docs) / (1 + df[kv[0]])), kv[0]))
        out.append([g for g, _ in scored[:k]])
    return out


def retrieval_baseline(train: list[dict], train_tokens, dev_tokens, k: int, k_neighbors: int | None = None):
    index = RetrievalIndex.build(_with_tokens(train, train_tokens), _identity, RetrievalConfig())
    return [[t for t, _ in votes[:k]] for votes in index.query(dev_tokens, k_neighbors)]


def _with_tokens(records, token_pairs):
    """Records whose post/thread are already token lists joined by spaces (tokenise once)."""
    return [{"post": " ".join(p), "thread": [" ".join(t)], "hashtags": r["hashtags"]} for r, (p, t) in zip(records, token_pairs)]


def _identity(text: str) -> list[str]:
    return text.split()


# -- CLASSIFIER (Gong & Zhang 2016) ----------------------------------------------------------------
@dataclass
class ClassifierConfig:
    embed: int = 100
    filters: int = 100  # per window size of the global channel
    windows: tuple = (1, 2, 3)
    attention_window: int = 5  # local attention channel: score of a word from its neighbourhood
    dropout: float = 0.3
    max_tokens: int = 120
    max_vocab: int = 50000
    max_tags: int = 10000
    epochs: int = 8
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0


def train_classifier(train_tokens, train_tags, dev_tokens, k: int, with_conv: bool, config: ClassifierConfig):
    """Attention CNN: a local attention channel plus a global convolution channel, softmax over tags."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(config.seed)
    torch.set_num_threads(1)  # the shared machine is oversubscribed: more threads only spin

    def words(pair):
        post, thread = pair
        return (post + ["<sep>"] + thread if with_conv else post)[: config.max_tokens]

    vocab_counts = Counter(w for pair in train_tokens for w in words(pair))
    itos = ["<pad>", "<unk>"] + [w for w, _ in vocab_counts.most_common(config.max_vocab)]
    stoi = {w: i for i, w in enumerate(itos)}
    tag_counts = Counter(t for tags in train_tags for t in tags)
    tag_list = [t for t, _ in tag_counts.most_common(config.max_tags)]
    tag_id = {t: i for i, t in enumerate(tag_list)}

    def encode(pairs):
        seqs = [[stoi.get(w, 1) for w in words(p)] or [1] for p in pairs]
        length = max(max(len(s) for s in seqs), config.attention_window)
        x = torch.zeros(len(seqs), length, dtype=torch.long)
        for i, s in enumerate(seqs):
            x[i, : len(s)] = torch.tensor(s)
        return x

    class AttentionCNN(nn.Module):
        def __init__(self):
            super().__init__()
            c = config
            self.embed = nn.Embedding(len(itos), c.embed, padding_idx=0)
            self.attend = nn.Conv1d(c.embed, 1, c.attention_window, padding=c.attention_window // 2)
            self.local = nn.Linear(c.embed, c.filters)
            self.convs = nn.ModuleList(nn.Conv1d(c.embed, c.filters, w, padding=w // 2) for w in c.windows)
            self.drop = nn.Dropout(c.dropout)
            self.out = nn.Linear(c.filters * (1 + len(c.windows)), len(tag_list))

        def forward(self, x):  # x: (B, L)
            mask = x != 0  # (B, L)
            e = self.embed(x)  # (B, L, E)
            et = e.transpose(1, 2)  # (B, E, L)
            L = x.shape[1]
            a = self.attend(et)[:, 0, :L].masked_fill(~mask, -1e9).softmax(-1)  # (B, L)
            local = torch.tanh(self.local((a.unsqueeze(-1) * e).sum(1)))  # (B, F)
            pooled = [torch.tanh(conv(et)[:, :, :L]).masked_fill(~mask.unsqueeze(1), -1e9).max(-1).values for conv in self.convs]
            return self.out(self.drop(torch.cat([local] + pooled, -1)))  # (B, T)

    examples = [(p, [tag_id[t] for t in tags if t in tag_id]) for p, tags in zip(train_tokens, train_tags)]
    examples = [ex for ex in examples if ex[1]]
    model = AttentionCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = random.Random(config.seed)
    for epoch in range(config.epochs):
        model.train()
        rng.shuffle(examples)
        total = 0.0
        for start in range(0, len(examples), config.batch):
            batch = examples[start : start + config.batch]
            x = encode([p for p, _ in batch])
            target = torch.zeros(len(batch), len(tag_list))
            for i, (_, ids) in enumerate(batch):
                target[i, ids] = 1.0 / len(ids)  # multi-label as a target distribution
            loss = -(target * F.log_softmax(model(x), -1)).sum(-1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"  classifier ({'post+conv' if with_conv else 'post only'}) epoch {epoch + 1}: loss {total / max(1, len(examples)):.3f}", flush=True)
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(dev_tokens), 256):
            logits = model(encode(dev_tokens[start : start + 256]))
            top = logits.topk(min(k, len(tag_list)), -1).indices.tolist()
            out.extend([[tag_list[i] for i in row] for row in top])
    return out


# -- driver ----------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> list[tuple[str, dict]]:
    lang, k = args.lang, args.k
    train, dev = load_jsonl(args.train), load_jsonl(args.dev)
    train = [r for r in train if r.get("hashtags")]
    if args.max_train:
        train = train[: args.max_train]
    gold = [r.get("hashtags") or [] for r in dev]
    t0 = time.time()
    train_tokens, dev_tokens = tokens_of(train, lang), tokens_of(dev, lang)
    print(f"{len(train)} training / {len(dev)} dev records, tokenised in {time.time() - t0:.1f}s", flush=True)
    train_tags = [r["hashtags"] for r in train]
    prior_lists = train_tags + (read_tag_file(args.prior) if args.prior else [])
    lexicon = TagLexicon.from_tag_lists(prior_lists)

    out = Path(args.out)
    methods = {
        "random": lambda: random_baseline([t for ts in prior_lists for t in ts], len(dev), k),
        "most-popular": lambda: most_popular(lexicon, len(dev), k),
        "tf-idf": lambda: tfidf_extraction(train_tokens, dev_tokens, k),
        "retrieval": lambda: retrieval_baseline(train, train_tokens, dev_tokens, k, args.k_neighbors),
        "classifier-post": lambda: train_classifier(train_tokens, train_tags, dev_tokens, k, False, ClassifierConfig(epochs=args.epochs)),
        "classifier-post-conv": lambda: train_classifier(train_tokens, train_tags, dev_tokens, k, True, ClassifierConfig(epochs=args.epochs)),
    }
    wanted = args.only.split(",") if args.only else list(methods)
    rows = []
    for name in wanted:
        t0 = time.time()
        predictions = methods[name]()
        write_predictions(out / f"{name}.txt", predictions)
        figures = score(gold, predictions, lang)
        rows.append((name, figures))
        print(f"{name}: {time.time() - t0:.1f}s  " + "  ".join(f"{m} {_percent(figures[m]):.2f}" for m in METRICS), flush=True)
    table = format_table(rows)
    print(table)
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")
    return rows


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus every experiment command reads: train and dev JSONL of export.ingest, the language,
    and the optional extra hashtag list (Weibo's train_tag.txt)."""
    parser.add_argument("--train", required=True)
    parser.add_argument("--dev", required=True)
    parser.add_argument("--lang", choices=["en", "zh"], required=True)
    parser.add_argument("--prior", default=None, help="extra *_tag.txt of training hashtags (Weibo train_tag.txt)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_corpus_arguments(parser)
    parser.add_argument("--out", required=True)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--k-neighbors", type=int, default=None, help="default: RetrievalConfig.k_neighbors")
    parser.add_argument("--epochs", type=int, default=8, help="classifier epochs")
    parser.add_argument("--max-train", type=int, default=0, help="use only the first N training records")
    parser.add_argument("--only", default="", help="comma-separated subset of baselines")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
