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
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export import dense_index
from export.dense_index import encode_records
from inference.runtime.grounding import context_text, embed_text
from inference.runtime.sentence_encoder import DIM
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


def _stamp(path: Path, graph_sha: str, chunks: list[int] | None = None) -> str:
    stat = path.stat()
    stamp = {"file": path.name, "size": stat.st_size, "mtime": int(stat.st_mtime), "graph": graph_sha}
    return json.dumps(stamp if chunks is None else {**stamp, "chunks": chunks})


def _graph_sha() -> str:
    from inference.runtime.sentence_encoder import REFERENCE, default_cache_dir, manifest_name

    try:
        return json.loads((default_cache_dir() / manifest_name(REFERENCE)).read_text(encoding="utf-8"))["graph_sha256"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def _encode(encoder, texts: list[str], label: str) -> np.ndarray:
    out, start = [], time.perf_counter()
    for i in range(0, len(texts), CHUNK):
        out.append(encoder.encode(texts[i:i + CHUNK]))
        print(f"  {label}: {min(i + CHUNK, len(texts))}/{len(texts)} in {time.perf_counter() - start:.0f}s", flush=True)
    return np.concatenate(out) if out else np.zeros((0, encoder.dim), np.float32)


def _save(path: Path, **arrays) -> None:
    """np.savez, atomically: another process never reads half a file."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def tag_table(lang: str, tags: list[str], encoder, cache: Path = CACHE) -> np.ndarray:
    """[T, D] vectors of tags' words, kept in one growing table per language (only new tags encoded)."""
    path, graph = cache / f"{lang}_tags.npz", _graph_sha()
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            if str(data["graph"]) == graph:
                known = dict(zip((str(t) for t in data["tags"]), data["vectors"].astype(np.float32)))
    new = [t for t in dict.fromkeys(tags) if t not in known]
    if new:
        known.update(zip(new, _encode(encoder, [embed_text(t, lang) for t in new], f"{lang} tags")))
        path.parent.mkdir(parents=True, exist_ok=True)
        _save(path, graph=np.array(graph), tags=np.array(list(known)), vectors=np.stack(list(known.values())).astype(np.float16))
    return np.stack([known[t] for t in tags]) if tags else np.zeros((0, DIM), np.float32)


def cached_chunks(records: list[dict], name: str) -> dict[int, Path]:
    """start -> file of the record chunks export/dense_index.py has already encoded (its file names:
    the start and the sha256 of the chunk's context texts)."""
    texts = [context_text(r.get("post") or "", r.get("thread") or []) or " " for r in records]
    found = {}
    for start in range(0, len(texts), dense_index.CHUNK):
        digest = hashlib.sha256("\x00".join(texts[start:start + dense_index.CHUNK]).encode("utf-8")).hexdigest()[:16]
        path = dense_index.CACHE / name / f"{start:06d}-{digest}.npy"
        if path.exists():
            found[start] = path
    return found


def compute(records: list[dict], lang: str, encoder, posts: np.ndarray) -> SplitVectors:
    """posts: the records' context vectors [N, D]; the gold tags' vectors are looked up or encoded."""
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
    tag_vectors = tag_table(lang, tags, encoder)
    return SplitVectors(posts, tags, tag_vectors, gold)


def load(lang: str, split: str, encoder=None, corpus: Path = CORPUS, cache: Path = CACHE,
         cached_only: bool = False) -> SplitVectors:
    """The split's vectors from the cache, computed (with `encoder`, else the runtime's) when stale.
    cached_only: only the records whose chunk the dense index's cache already holds (none encoded now)."""
    source = corpus / f"{lang}_{split}.jsonl"
    path = cache / f"{lang}_{split}.npz"
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = cached_chunks(records, source.stem) if cached_only else {}
    partial = cached_only and len(found) < -(-len(records) // dense_index.CHUNK)
    stamp = _stamp(source, _graph_sha(), sorted(found) if partial else None)
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            if str(data["stamp"]) == stamp:
                gold = np.split(data["gold_flat"], np.cumsum(data["gold_len"])[:-1])
                return SplitVectors(data["posts"].astype(np.float32), [str(t) for t in data["tags"]],
                                    data["tag_vectors"].astype(np.float32), [g.tolist() for g in gold])
    if encoder is None:
        from inference.runtime.sentence_encoder import REFERENCE, SentenceEncoder

        encoder = SentenceEncoder.load(threads=1, kind=REFERENCE)
    if partial:  # the chunks cached so far, nothing encoded now
        posts = np.concatenate([np.load(found[s]) for s in sorted(found)])
        records = [r for s in sorted(found) for r in records[s:s + dense_index.CHUNK]]
    else:  # the dense index's chunk cache: one encoding of a corpus for both
        posts = encode_records(records, source.stem)
    vectors = compute(records, lang, encoder, posts)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(path, stamp=np.array(stamp), posts=vectors.posts.astype(np.float16), tags=np.array(vectors.tags),
             tag_vectors=vectors.tag_vectors.astype(np.float16),
             gold_flat=np.array([t for g in vectors.gold for t in g], np.int64),
             gold_len=np.array([len(g) for g in vectors.gold], np.int64))
    as_saved = lambda x: x.astype(np.float16).astype(np.float32)  # noqa: E731  what a later load reads
    return SplitVectors(as_saved(vectors.posts), vectors.tags, as_saved(vectors.tag_vectors), vectors.gold)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.encoder_vectors", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", nargs="+", choices=["en", "zh"], default=["en", "zh"])
    parser.add_argument("--split", nargs="+", default=["train", "dev"])
    parser.add_argument("--cached-only", action="store_true", help="only the chunks the dense index's cache holds")
    args = parser.parse_args(argv)
    for lang in args.lang:
        for split in args.split:
            start = time.perf_counter()
            v = load(lang, split, cached_only=args.cached_only)
            print(f"{lang} {split}: {len(v.posts)} posts, {len(v.tags)} tags in {time.perf_counter() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
