"""Embeds every training post's context with the sentence encoder and writes dense_index.npz.

    python -m export.dense_index --lang en --train runs/corpus/en_train.jsonl --out DIR [--dims 128] [--dtype int8]
    python -m export.dense_index --encode-only runs/corpus/en_dev.jsonl     # fill the cache, nothing written

Each post's context (`grounding.context_text(post, thread)`, as `Grounder.encode_contexts` embeds a
request) is encoded once, in chunks cached under runs/dense_index/cache/ (a rerun resumes). The index
(inference/runtime/dense_retrieval.py reads it) keeps the vectors reduced to fit the folder's budget:
PCA fitted on the training vectors (`--dims`, 0 = the full 512), the reduced rows L2-normalised, stored
int8 with one scale per row (or float16); with them each post's gold tags as a CSR of ids into a tag
table. `DIR/dense_index.npz` is written; the folder's manifest only when --manifest (a model folder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from export.baselines import load_jsonl
from inference.runtime.dense_retrieval import DENSE_INDEX, FORMAT_VERSION, DenseIndex
from inference.runtime.grounding import context_text

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "dense_index" / "cache"
CHUNK = 1000  # records per cached chunk


def _texts(records: list[dict]) -> list[str]:
    return [context_text(r.get("post") or "", r.get("thread") or []) or " " for r in records]


def encode_records(records: list[dict], name: str, threads: int = 1, log=print, reverse: bool = False) -> np.ndarray:
    """float32 [N, 512] unit vectors of the records' contexts; chunks cached under CACHE/name/ by the
    sha256 of their texts, so a rerun resumes where it stopped (`reverse`: last chunk first, so a
    second process can share the work)."""
    texts = _texts(records)
    folder = CACHE / name
    folder.mkdir(parents=True, exist_ok=True)
    encoder, out = None, {}
    starts = range(0, len(texts), CHUNK)
    for start in reversed(starts) if reverse else starts:
        chunk = texts[start:start + CHUNK]
        digest = hashlib.sha256("\x00".join(chunk).encode("utf-8")).hexdigest()[:16]
        path = folder / f"{start:06d}-{digest}.npy"
        if path.exists():
            out[start] = np.load(path)
            continue
        if encoder is None:
            from inference.runtime.sentence_encoder import REFERENCE, SentenceEncoder

            encoder = SentenceEncoder.load(threads=threads, kind=REFERENCE)
        began = time.perf_counter()
        vectors = encoder.encode(chunk).astype(np.float32)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)  # another process never reads half a chunk
        out[start] = vectors
        log(f"{name}: encoded {start + len(chunk)}/{len(texts)} ({time.perf_counter() - began:.1f} s for this chunk)", flush=True)
    return np.concatenate([out[s] for s in starts]) if out else np.zeros((0, 512), np.float32)


def fit_pca(vectors: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], components [D, dims]) of the training vectors; dims 0 keeps the full space (no centring)."""
    if not dims or dims >= vectors.shape[1]:
        return np.zeros(vectors.shape[1], np.float32), np.eye(vectors.shape[1], dtype=np.float32)
    mean = vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(vectors - mean, full_matrices=False)
    return mean.astype(np.float32), np.ascontiguousarray(vt[:dims].T, dtype=np.float32)


def quantise(reduced: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """(stored rows, per-row scales): int8 with scale max|x| / 127, or float16 with scale 1."""
    if dtype == "float16":
        return reduced.astype(np.float16), np.ones(len(reduced), np.float32)
    scale = np.abs(reduced).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.rint(reduced / scale[:, None]), -127, 127).astype(np.int8), scale.astype(np.float32)


def tag_table(records: list[dict]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(tags sorted, offsets [N + 1], ids): each record's distinct gold tags as a CSR of tag ids."""
    lists = [list(dict.fromkeys(" ".join(t.split()) for t in r.get("hashtags") or [] if t.strip())) for r in records]
    tags = sorted({t for ts in lists for t in ts})
    ids = {t: i for i, t in enumerate(tags)}
    offsets = np.cumsum([0] + [len(ts) for ts in lists]).astype(np.int32)
    flat = np.array([ids[t] for ts in lists for t in ts], dtype=np.int32)
    return tags, offsets, flat


def build_index(records: list[dict], vectors: np.ndarray, dims: int, dtype: str) -> DenseIndex:
    mean, components = fit_pca(vectors, dims)
    reduced = (vectors - mean) @ components
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True) + 1e-12
    rows, scales = quantise(reduced, dtype)
    tags, offsets, flat = tag_table(records)
    return DenseIndex(rows, scales, mean, components, tags, offsets, flat)


def write(index: DenseIndex, out_dir: Path, manifest: bool = False) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / DENSE_INDEX
    index.save(path)
    if manifest:
        from export.folder_manifest import write_manifest

        write_manifest(out_dir)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": str(path), "posts": int(index.size), "dims": int(index.dims), "dtype": str(index.rows.dtype),
            "tags": len(index.tags), "mb": round(path.stat().st_size / 1e6, 3), "sha256": sha, "format_version": FORMAT_VERSION}


def set_grounding(folder: Path, settings: list[str]) -> dict:
    """Merge KEY=VALUE dense settings into folder/grounding.json (re-read now; other fields kept)."""
    from inference.runtime.grounding import GROUNDING_JSON, GroundingConfig

    path = folder / GROUNDING_JSON
    data = json.loads(path.read_text(encoding="utf-8"))
    for item in settings:
        key, _, value = item.partition("=")
        if not key.startswith("dense_"):
            raise SystemExit(f"--set {item}: only the dense_* fields are this tool's")
        data[key] = int(value) if value.lstrip("-").isdigit() else float(value)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    GroundingConfig.load(folder)  # still valid
    return {k: v for k, v in data.items() if k.startswith("dense_")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.dense_index", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=["en", "zh"])
    parser.add_argument("--train", type=Path, help="canonical JSONL of the training posts")
    parser.add_argument("--out", type=Path, help="folder for dense_index.npz")
    parser.add_argument("--dims", type=int, default=128, help="PCA dimensions (0: the full 512)")
    parser.add_argument("--dtype", choices=["int8", "float16"], default="int8")
    parser.add_argument("--manifest", action="store_true", help="rewrite DIR/manifest.json (DIR is a model folder)")
    parser.add_argument("--set", action="append", default=[], metavar="dense_KEY=VALUE",
                        help="merge into DIR/grounding.json (a model folder; with --manifest)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--encode-only", type=Path, nargs="*", default=None, help="JSONL files to encode into the cache")
    parser.add_argument("--reverse", action="store_true", help="with --encode-only: last chunk first (a second process)")
    args = parser.parse_args(argv)
    if args.encode_only is not None:
        for path in args.encode_only:
            encode_records(load_jsonl(path), path.stem, args.threads, reverse=args.reverse)
        return
    if not (args.lang and args.train and args.out):
        parser.error("--lang, --train and --out are required (or --encode-only FILES)")
    records = [r for r in load_jsonl(args.train) if r.get("hashtags")]
    vectors = encode_records(records, args.train.stem, args.threads)
    index = build_index(records, vectors, args.dims, args.dtype)
    if args.set:
        print(json.dumps(set_grounding(args.out, args.set)))
    print(json.dumps(write(index, args.out, args.manifest), ensure_ascii=False))


if __name__ == "__main__":
    main()
