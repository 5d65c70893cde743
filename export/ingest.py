"""Build the training corpora from the shared data: `python -m export.ingest --out runs/corpus`.

Every set goes through `inference.evaluation.readers.read_records` (so training sees exactly what `tagsmith predict`
sees), then:
1. keep records with at least one gold hashtag and some text (post or thread);
2. de-duplicate on the normalised post (`tokenize`, leading "rt MENTION" dropped; the thread joins the key
   when the post has fewer than 3 tokens), first occurrence wins, so no post sits in both train and dev;
3. carve deterministic dev splits from a hash of the record id: Weibo ~20% of its valid posts; English (all
   English sets combined) ~5%, capped at 3,000 posts (the lowest hashes stay dev, the rest go to train).

Writes {en,zh}_{train,dev}.jsonl (canonical records), zh_tag_prior.txt (`tag<TAB>count` of the paper's
Weibo training split, most frequent first: a popularity prior) and summary.json (printed too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from inference.text.preprocess import PREPROCESS_VERSION, tokenize
from inference.evaluation.readers import read_records

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class IngestConfig:
    shared: Path
    out: Path
    zh_dev_fraction: float = 0.20
    en_dev_fraction: float = 0.05
    en_dev_cap: int = 3000


def default_shared() -> Path:
    return Path(os.environ.get("TAGSMITH_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def english_sources(shared: Path) -> list[Path]:
    """Every English data file of the shared folder, in a fixed order."""
    files: list[Path] = []
    files += sorted((shared / "instagram").glob("*.csv"))
    files += sorted(p for p in (shared / "tweeteval").rglob("*_text.txt"))
    files += sorted((shared / "rumoureval2019").glob("*.jsonl"))
    files += sorted((shared / "sarcasm").glob("*.jsonl"))
    files += sorted((shared / "crisislex").rglob("*.csv"))
    files += sorted((shared / "mediaeval2016").glob("*_posts.txt"))
    return files


def id_hash(rid: str) -> float:
    """A record id -> a stable number in [0, 1)."""
    return int(hashlib.sha1(rid.encode("utf-8")).hexdigest()[:12], 16) / 16**12


def dedup_key(rec: dict) -> str:
    tokens = tokenize(rec["post"], rec["lang"])
    while tokens and tokens[0] in ("rt", "MENTION", "URL"):
        tokens = tokens[1:]
    key = " ".join(tokens)
    if len(tokens) < 3:
        key += " || " + " ".join(tokenize(" ".join(rec["thread"])[:500], rec["lang"]))
    return rec["lang"] + "|" + key


def split_dev(records: list[dict], fraction: float, cap: int | None) -> tuple[list[dict], list[dict]]:
    scored = [(id_hash(r["id"]), r) for r in records]
    dev_hashes = sorted(h for h, _ in scored if h < fraction)
    if cap is not None and len(dev_hashes) > cap:
        fraction = dev_hashes[cap - 1] + 1e-15  # keep the `cap` lowest hashes
    train = [r for h, r in scored if h >= fraction]
    dev = [r for h, r in scored if h < fraction]
    return train, dev


def collect(files: list[Path], lang: str, stats: dict, seen: set) -> list[dict]:
    kept: list[dict] = []
    for path in tqdm(files, desc=f"read {lang}", unit="file", file=sys.stderr):
        for rec in read_records(path, "weibo" if lang == "zh" else None):
            s = stats[rec["source"]]
            s["read"] += 1
            if not rec["hashtags"]:
                s["no_gold"] += 1
                continue
            if rec["lang"] != lang:
                s["other_lang"] += 1
                continue
            if not rec["post"].strip() and not any(t.strip() for t in rec["thread"]):
                s["no_text"] += 1
                continue
            key = dedup_key(rec)
            if key in seen:
                s["duplicate"] += 1
                continue
            seen.add(key)
            s["kept"] += 1
            kept.append(rec)
    return kept


def tag_stats(train: list[dict], dev: list[dict]) -> dict:
    train_tags = Counter(t for r in train for t in r["hashtags"])
    dev_tags = [t for r in dev for t in r["hashtags"]]
    all_recs = train + dev
    return {
        "posts_with_thread": sum(1 for r in all_recs if r["thread"]),
        "tags_per_post": round(sum(len(r["hashtags"]) for r in all_recs) / max(1, len(all_recs)), 3),
        "words_per_tag": round(sum(len(t.split()) for r in all_recs for t in r["hashtags"])
                               / max(1, sum(len(r["hashtags"]) for r in all_recs)), 3),
        "distinct_train_tags": len(train_tags),
        "train_tags_seen_once": sum(1 for c in train_tags.values() if c == 1),
        "dev_tags_seen_in_train": round(sum(1 for t in dev_tags if t in train_tags) / max(1, len(dev_tags)), 4),
        "dev_posts_all_tags_unseen": sum(1 for r in dev if all(t not in train_tags for t in r["hashtags"])),
        "top_train_tags": train_tags.most_common(15),
    }


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_tag_prior(tag_file: Path, out: Path) -> int:
    counts: Counter = Counter()
    with open(tag_file, encoding="utf-8", errors="replace") as f:
        for line in f:
            for tag in line.rstrip("\r\n").split(";"):
                tag = " ".join(tag.split())
                if tag:
                    counts[tag] += 1
    with open(out, "w", encoding="utf-8") as f:
        for tag, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write(f"{tag}\t{count}\n")
    return len(counts)


def ingest(cfg: IngestConfig) -> dict:
    if not cfg.shared.is_dir():
        raise SystemExit(f"error: no shared data folder at {cfg.shared} (set --shared or TAGSMITH_SHARED_DATA)")
    cfg.out.mkdir(parents=True, exist_ok=True)
    stats: dict = defaultdict(Counter)
    summary: dict = {"preprocess_version": PREPROCESS_VERSION, "shared": str(cfg.shared)}
    seen: set = set()

    plan = [("zh", [cfg.shared / "weibo" / "valid"], cfg.zh_dev_fraction, None),
            ("en", english_sources(cfg.shared), cfg.en_dev_fraction, cfg.en_dev_cap)]
    for lang, files, fraction, cap in plan:
        records = collect(files, lang, stats, seen)
        train, dev = split_dev(records, fraction, cap)
        write_jsonl(cfg.out / f"{lang}_train.jsonl", train)
        write_jsonl(cfg.out / f"{lang}_dev.jsonl", dev)
        per_source: dict = defaultdict(Counter)
        for split, recs in (("train", train), ("dev", dev)):
            for r in recs:
                per_source[r["source"]][split] += 1
        summary[lang] = {"train": len(train), "dev": len(dev), "files": len(files),
                         "per_source": {k: dict(v) for k, v in sorted(per_source.items())},
                         "hashtags": tag_stats(train, dev)}

    summary["filtering"] = {source: dict(c) for source, c in sorted(stats.items())}
    tag_file = cfg.shared / "weibo" / "train_tag.txt"
    if tag_file.is_file():
        summary["zh_tag_prior"] = {"file": "zh_tag_prior.txt",
                                   "distinct_tags": write_tag_prior(tag_file, cfg.out / "zh_tag_prior.txt")}
    with open(cfg.out / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=default_shared(), help="shared data folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "corpus", help="output folder")
    parser.add_argument("--zh-dev-fraction", type=float, default=0.20)
    parser.add_argument("--en-dev-fraction", type=float, default=0.05)
    parser.add_argument("--en-dev-cap", type=int, default=3000)
    args = parser.parse_args(argv)
    cfg = IngestConfig(args.shared, args.out, args.zh_dev_fraction, args.en_dev_fraction, args.en_dev_cap)
    summary = ingest(cfg)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
