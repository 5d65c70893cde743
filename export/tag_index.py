"""Embeds a language's tag vocabulary once with the sentence encoder and writes tag_index.npz.

    python -m export.tag_index --lang en [--min-count 3] [--out runs/tag_index/en/tag_index.npz]

Vocabulary: tags seen at least --min-count times in the shipped inference/models/<lang>/tags.json
(words -> count), embedded as their words (English "aus open", Chinese the words joined without spaces).
If the float16 vectors would push the file past --max-mb, the most frequent tags that fit are kept.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from inference.runtime.sentence_encoder import REFERENCE, SentenceEncoder
from inference.runtime.shown_vectors import embed_text  # as the runtime embeds a tag

ROOT = Path(__file__).resolve().parents[1]


def vocabulary(lang: str, min_count: int, max_tags: int | None = None) -> list[tuple[str, int]]:
    """(words, count) of the shipped model folder's tags, most frequent first."""
    counts = json.loads((ROOT / "inference" / "models" / lang / "tags.json").read_text(encoding="utf-8"))
    kept = sorted(((w, int(c)) for w, c in counts.items() if int(c) >= min_count and w.strip()), key=lambda x: -x[1])
    return kept[:max_tags] if max_tags else kept


def _write(out: Path, vectors: np.ndarray, vocab: list[tuple[str, int]]) -> int:
    np.savez_compressed(
        out, vectors=vectors, tags=np.array([w for w, _ in vocab]), counts=np.array([c for _, c in vocab], np.int64)
    )
    return out.stat().st_size


def build(lang: str, out: Path, min_count: int = 3, max_mb: float = 8.0, threads: int = 1) -> dict:
    encoder = SentenceEncoder.load(threads=threads, kind=REFERENCE)
    vocab = vocabulary(lang, min_count, int(2 * max_mb * 1e6 // (2 * encoder.dim)))
    start = time.perf_counter()
    vectors = encoder.encode([embed_text(w, lang) for w, _ in vocab]).astype(np.float16)
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    size = _write(out, vectors, vocab)
    while size > max_mb * 1e6:  # keep the most frequent tags that fit
        keep = int(len(vocab) * max_mb * 1e6 / size * 0.99)
        vocab, vectors = vocab[:keep], vectors[:keep]
        size = _write(out, vectors, vocab)
    return {"lang": lang, "tags": len(vocab), "dim": int(vectors.shape[1]), "path": str(out),
            "mb": round(size / 1e6, 2), "embed_s": round(seconds, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.tag_index", description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=["en", "zh"], required=True)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--max-mb", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default runs/tag_index/<lang>/tag_index.npz")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "runs" / "tag_index" / args.lang / "tag_index.npz"
    print(json.dumps(build(args.lang, out, args.min_count, args.max_mb, args.threads), ensure_ascii=False))


if __name__ == "__main__":
    main()
