"""`python -m export.train_image views`: two `features` runs of the same photos made one cache."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("export.train_image")


def cmd_views(args) -> None:
    """Two views of each photo (e.g. the squashed photo and a centre crop, each from a `features` run
    over the same items): their pooled features and taps averaged (--how mean, same widths) or
    concatenated (--how concat), mirrors likewise; colour histograms and ImageNet probabilities from
    the first view. Writes a cache `train` reads like any other."""
    first, second = (Path(f) for f in getattr(args, "from"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    a, b = np.load(first / "features.npz"), np.load(second / "features.npz")
    if not np.array_equal(a["ids"], b["ids"]):
        raise SystemExit(f"{first} and {second} do not hold the same photos in the same order")
    arrays = {k: a[k] for k in a.files}
    for key in ("features", "taps", "features_flip", "taps_flip"):
        if key in a.files and key in b.files:
            arrays[key] = (a[key] + b[key]) / 2 if args.how == "mean" else np.concatenate([a[key], b[key]], axis=1)
    arrays["resize"] = np.array(f"{a['resize']}+{b['resize']} ({args.how})")
    np.savez(out / "features.npz", **arrays)
    (out / "items.json").write_text((first / "items.json").read_text())
    log.info("%d photos, features %s -> %s", len(arrays["ids"]), arrays["features"].shape, out / "features.npz")
