"""Frozen sentence-encoder vectors of a corpus split, computed once and cached for export/tune_encoder.py.

    python -m export.encoder_vectors --lang en zh --split train dev      # fills runs/tune_encoder/vectors/

Per split (runs/corpus/{lang}_{split}.jsonl): every record's post + thread (grounding.context_text, as the
service encodes a request: export/dense_index.py's resumable chunk cache, shared with the dense index)
and every distinct gold tag's words (grounding.embed_text, as the tag index embeds a tag), through the
runtime's own encoder (inference.runtime.sentence_encoder). The cache file
records the corpus file's size and mtime and the encoder graph's sha256; a mismatch recomputes it.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.dense_index import encode_records
from inference.runtime.grounding import embed_text
from inference.text.tags import tag_key

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "runs" / "corpus"
CACHE = ROOT / "runs" / "tune_encoder" / "vectors"
CHUNK = 2000  # texts per encoder call (progress is printed between chunks)


@dataclass
class SplitVectors:
    """One split's frozen vectors: posts [N, D], distinct gold tags [T, D], and the (post, tag) pairs."""

    posts: np.ndarray  # [N, D] float32 unit rows
    tags: list[str]  # [T] gold tag words, one per tag_key
    tag_vectors: np.ndarray  # [T, D] float32 unit rows
    gold: list[list[int]]  # per post: indexes into tags

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(post index, tag index) of every gold pair: two int64 [P] arrays."""
        post = np.array([i for i, g in enumerate(self.gold) for _ in g], dtype=np.int64)
        tag = np.array([t for g in self.gold for t in g], dtype=np.int64)
        return post, tag


def _stamp(path: Path, graph_sha: str) -> str:
    stat = path.stat()
    return json.dumps({"file": path.name, "size": stat.st_size, "mtime": int(stat.st_mtime), "graph": graph_sha})


def _graph_sha() -> str:
    from inference.runtime.sentence_encoder import MANIFEST_NAME, default_cache_dir

    try:
        return json.loads((default_cache_dir() / MANIFEST_NAME).read_text(encoding="utf-8"))["graph_sha256"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def _encode(encoder, texts: list[str], label: str) -> np.ndarray:
    out, start = [], time.perf_counter()
    for i in range(0, len(texts), CHUNK):
        out.append(encoder.encode(texts[i:i + CHUNK]))
        print(f"  {label}: {min(i + CHUNK, len(texts))}/{len(texts)} in {time.perf_counter() - start:.0f}s", flush=True)
    return np.concatenate(out) if out else np.zeros((0, encoder.dim), np.float32)


def compute(records: list[dict], lang: str, encoder, name: str) -> SplitVectors:
    keys: dict[str, int] = {}
    tags, gold = [], []
    for r in records:
        row = []
        for words in r.get("hashtags") or []:
            key = tag_key(words)
            if key and key not in keys:
                keys[key] = len(tags)
                tags.append(words)
            if key and keys[key] not in row:
                row.append(keys[key])
        gold.append(row)
    tag_vectors = _encode(encoder, [embed_text(t, lang) for t in tags], f"{lang} tags")
    posts = encode_records(records, name)  # the dense index's chunk cache: one encoding of a corpus for both
    return SplitVectors(posts, tags, tag_vectors, gold)


def load(lang: str, split: str, encoder=None, corpus: Path = CORPUS, cache: Path = CACHE) -> SplitVectors:
    """The split's vectors from the cache, computed (with `encoder`, else the runtime's) when stale."""
    source = corpus / f"{lang}_{split}.jsonl"
    path = cache / f"{lang}_{split}.npz"
    stamp = _stamp(source, _graph_sha())
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            if str(data["stamp"]) == stamp:
                gold = np.split(data["gold_flat"], np.cumsum(data["gold_len"])[:-1])
                return SplitVectors(data["posts"].astype(np.float32), [str(t) for t in data["tags"]],
                                    data["tag_vectors"].astype(np.float32), [g.tolist() for g in gold])
    if encoder is None:
        from inference.runtime.sentence_encoder import SentenceEncoder

        encoder = SentenceEncoder.load(threads=1)
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    vectors = compute(records, lang, encoder, source.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, stamp=np.array(stamp), posts=vectors.posts.astype(np.float16), tags=np.array(vectors.tags),
             tag_vectors=vectors.tag_vectors.astype(np.float16),
             gold_flat=np.array([t for g in vectors.gold for t in g], np.int64),
             gold_len=np.array([len(g) for g in vectors.gold], np.int64))
    return load(lang, split, corpus=corpus, cache=cache)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.encoder_vectors", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", nargs="+", choices=["en", "zh"], default=["en", "zh"])
    parser.add_argument("--split", nargs="+", default=["train", "dev"])
    args = parser.parse_args(argv)
    for lang in args.lang:
        for split in args.split:
            start = time.perf_counter()
            v = load(lang, split)
            print(f"{lang} {split}: {len(v.posts)} posts, {len(v.tags)} tags in {time.perf_counter() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
