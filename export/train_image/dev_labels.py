"""`python -m export.train_image dev-labels`: the Corel dev split as a Corel-5k label file."""

from __future__ import annotations

import logging
from pathlib import Path

from export.image_data import corel_items, dev_split
from export.train_image.common import TrainConfig

log = logging.getLogger("export.train_image")


def cmd_dev_labels(args) -> None:
    """The Corel dev split as a Corel-5k folder (`words`, `dev_label`, `images` linked to the data's), so
    `tagsmith predict` + `tagsmith evaluate` score it exactly as they would the standard test split."""
    corel, out = Path(args.corel), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dev = dev_split([it.id for it in corel_items(corel)], TrainConfig().n_dev_corel)
    lines = [line for line in (corel / "training_label").read_text().splitlines() if line.split() and f"corel-{line.split()[0]}" in dev]
    (out / "dev_label").write_text("\n".join(lines) + "\n")
    (out / "words").write_text((corel / "words").read_text())
    if not (out / "images").exists():
        (out / "images").symlink_to((corel / "images").resolve(), target_is_directory=True)
    log.info("%d dev photos -> %s", len(lines), out / "dev_label")
