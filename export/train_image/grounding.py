"""`python -m export.train_image grounding`: the image folder's grounding settings, written into image.json.

- fusion.min_similarity: a kNN neighbour votes only when its weighted similarity (the served one: cnn
  cosine + colour_sim x colour cosine, on knn.npz's bank vectors) reaches it. Chosen on held-out train
  folds: the bank's photos split into --folds folds, each fold's photos matched against the other
  folds' photos; the threshold is the --quantile quantile of their nearest neighbour's similarity (with
  0.01: 99% of held-out training photos keep their nearest neighbour's vote). Neither dev nor any panel
  is read.
- grounding.event_tags: the bank's tags that name an event: a tag that holds (spaces, case and
  punctuation aside) an event tag or term of the safety lexicon (inference/models/safety.json, five
  characters or more), or the name of a MediaEval event with >= --min-event-photos photos in the bank
  (the image ids' prefix: "sandy", "boston", "sochi", ...); and every hashtag the bank learned from
  one such event's photos alone (`event_bound`: #nyc, #wanted, #fbi come only from the Sandy and Boston
  photos; what a photo looks like cannot tell that it was taken there).
- grounding.person_tags: the bank's tags that are a person's name, from --person-tags (a reviewed list;
  none of today's 605 tags is one, so it is empty).

Then the folder's manifest is rewritten (export.folder_manifest). The tags' visual coherence reads the
event tags: run `python -m export.train_image coherence` after this (it is dropped here).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np

from export.folder_manifest import write_manifest
from export.image_data import corel_items, mediaeval_items, mediaeval_posts
from export.train_image.common import TrainConfig, split_rows
from inference.runtime.image_scoring import ImageFusion, KnnBank
from inference.runtime.image_tagger import names_in

log = logging.getLogger("export.train_image")


def heldout_top1(banks: list[np.ndarray], weights: list[float], folds: int, seed: int = 0) -> np.ndarray:
    """[N] per bank photo: its nearest neighbour's weighted similarity among the other folds' photos."""
    n = len(banks[0])
    fold = np.random.default_rng(seed).permutation(n) % folds
    top1 = np.empty(n, dtype=np.float32)
    for f in range(folds):
        query, rest = np.where(fold == f)[0], np.where(fold != f)[0]
        sims = sum(w * (b[query] @ b[rest].T) for b, w in zip(banks, weights))
        top1[query] = sims.max(axis=1)
    return top1


def event_names(bank_ids: list[str], min_photos: int) -> set[str]:
    """MediaEval events with at least min_photos photos in the bank ("sandyA_fake_12" -> "sandy")."""
    counts = Counter(event_of(i) for i in bank_ids if i.startswith("mediaeval-"))
    return {name for name, c in counts.items() if c >= min_photos}


def event_tags(tags: list[str], safety: dict, names: set[str]) -> list[str]:
    """The tags that hold a safety-lexicon event tag or term (>= 5 letters) or a bank event's name."""
    lexicon = {w for event in safety.get("events", []) for key in ("tags", "terms")
               for words in (event.get(key) or {}).values() for w in words}
    needles = frozenset(w for w in lexicon | names if len(re.sub(r"\W", "", w)) >= 5 or w in names)
    return [t for t in tags if names_in(t, needles)]


def event_of(photo_id: str) -> str:
    """"mediaeval-sandyA_fake_12" -> "sandy", "mediaeval-nepal_04_real" -> "nepal"; Corel photos -> "corel"."""
    if not photo_id.startswith("mediaeval-"):
        return "corel"
    return re.sub(r"[A-Z]?(_\d+)*$", "", re.split(r"_(?:fake|real)", photo_id.removeprefix("mediaeval-"))[0]).lower()


def event_bound(tags: list[str], labels: np.ndarray, photo_ids: list[str], names: set[str], first: int) -> list[str]:
    """The tags from index `first` on (the hashtags, after the Corel words) whose bank photos (labels
    [N,V] 0/1) all come from one event in `names`."""
    events = np.array([event_of(i) for i in photo_ids])
    out = []
    for t in range(first, len(tags)):
        seen = set(events[labels[:, t] > 0])
        if len(seen) == 1 and seen <= names:
            out.append(tags[t])
    return out


def bank_ids(corel: str, mediaeval: str) -> list[str]:
    """The ids of knn.npz's rows: the training photos in `train`'s order (export.train_image.common.split_rows)."""
    items = corel_items(corel) + mediaeval_items(mediaeval_posts(mediaeval))
    split = split_rows(items, TrainConfig(), corel)
    return [items[i].id for i in split.train_idx]


def cmd_grounding(args) -> None:
    folder = Path(args.model)
    config = json.loads((folder / "image.json").read_text(encoding="utf-8"))
    fusion = ImageFusion(**config["fusion"])
    knn = np.load(folder / "knn.npz")
    banks = [knn["cnn_bank"].astype(np.float32)] + ([knn["colour_bank"].astype(np.float32)] if fusion.colour_sim else [])
    top1 = heldout_top1(banks, [1.0, fusion.colour_sim][: len(banks)], args.folds)
    threshold = round(float(np.quantile(top1, args.quantile)), 4)
    ids = bank_ids(args.corel, args.mediaeval)
    if len(ids) != len(banks[0]):
        raise SystemExit(f"error: {len(ids)} training photos in the split, {len(banks[0])} in knn.npz")
    names = event_names(ids, args.min_event_photos)
    safety = json.loads(Path(args.safety).read_text(encoding="utf-8"))
    labels = KnnBank.load(folder / "knn.npz", len(config["tags"]), fusion).labels
    bound = event_bound(config["tags"], labels, ids, names, config.get("n_corel_words", 0)) if args.event_bound else []
    events = sorted(set(event_tags(config["tags"], safety, names)) | set(bound))
    persons = json.loads(Path(args.person_tags).read_text()) if args.person_tags else []
    config["fusion"]["min_similarity"] = threshold
    config["grounding"] = {
        "event_tags": events, "person_tags": persons,
        "how": f"min_similarity: quantile {args.quantile} of the nearest-neighbour similarity of held-out "
               f"training photos ({args.folds} folds of the {len(top1)} bank photos); event tags: safety lexicon "
               f"events + bank events {sorted(names)} + the hashtags learned from one of them alone",
        "heldout_top1_quantiles": {str(q): round(float(np.quantile(top1, q)), 4) for q in (0.01, 0.05, 0.25, 0.5)},
    }
    (folder / "image.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    write_manifest(folder)
    log.info("grounding.coherence dropped: run `python -m export.train_image coherence` next")
    log.info("min_similarity %.4f (quantile %s of %d held-out photos); %d event tags: %s",
             threshold, args.quantile, len(top1), len(events), ", ".join(events))
