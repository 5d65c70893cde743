"""Image data sets for the tagger: Corel-5k and MediaEval-2016 (tweets with their images).

    corel_items(root) -> [ImageItem(id, path, tags)]   tags: Corel words ("sky", "polar bear" stays "polar")
    mediaeval_items(path) -> per image the hashtags of the posts carrying it (tag words)
    dev_split(ids, n) -> the deterministic dev ids (sha1 order), the rest is train

Corel: `images/ID.jpeg`, `training_label` lines `ID idx idx …` (1-based into `words`). The standard
test split is not in the shared folder; any folder in the same format can be passed.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from inference.evaluation.readers import read_records


@dataclass(frozen=True)
class ImageItem:
    id: str
    path: str
    tags: tuple[str, ...]


def corel_items(root: str | Path, labels: str = "training_label") -> list[ImageItem]:
    root = Path(root)
    words = [w.strip() for w in (root / "words").read_text().splitlines() if w.strip()]
    items = []
    for line in (root / labels).read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        tags = tuple(dict.fromkeys(words[int(i) - 1] for i in parts[1:]))
        items.append(ImageItem(f"corel-{parts[0]}", str(root / "images" / f"{parts[0]}.jpeg"), tags))
    return items


def corel_words(root: str | Path) -> list[str]:
    return [w.strip() for w in (Path(root) / "words").read_text().splitlines() if w.strip()]


def mediaeval_posts(path: str | Path) -> list[dict]:
    """Canonical records (inference.evaluation.readers) that carry an image file that exists."""
    return [r for r in read_records(path, "mediaeval") if r.get("image") and Path(r["image"]).exists()]


def mediaeval_items(posts: list[dict], min_posts: int = 1) -> list[ImageItem]:
    """One item per image: the hashtags of the posts carrying it (each tag on >= min_posts posts)."""
    per_image: dict[str, Counter] = defaultdict(Counter)
    for post in posts:
        per_image[post["image"]].update(set(post["hashtags"]))
        per_image[post["image"]].update([])
    items = []
    for path, counts in sorted(per_image.items()):
        tags = tuple(t for t, c in counts.most_common() if c >= min_posts)
        items.append(ImageItem(f"mediaeval-{Path(path).stem}", path, tags))
    return items


def dev_split(ids: list[str], n_dev: int) -> set[str]:
    """The n_dev ids first in sha1 order: stable across runs, machines and file orders."""
    return set(sorted(ids, key=lambda i: hashlib.sha1(i.encode()).hexdigest())[:n_dev])
