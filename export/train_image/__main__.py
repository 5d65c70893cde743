"""`python -m export.train_image SUBCOMMAND ...`: one module of export/train_image/ per sub-command."""

from __future__ import annotations

import argparse
import logging

import export.train_image as package
from export.image_model import VARIANTS
from export.train_image.activations import cmd_activations
from export.train_image.coherence import cmd_coherence
from export.train_image.common import SHARED
from export.train_image.dev_labels import cmd_dev_labels
from export.train_image.features import cmd_features
from export.train_image.finetune import cmd_finetune
from export.train_image.fusion_eval import cmd_fusion_eval
from export.train_image.grounding import cmd_grounding
from export.train_image.train import cmd_train
from export.train_image.views import cmd_views
from inference.runtime.image import RESIZERS


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m export.train_image", description=package.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("features")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--mediaeval", default=str(SHARED / "mediaeval2016" / "train_posts.txt"))
    p.add_argument("--out", default="runs/image")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mirror", action="store_true", help="also the mirrored images (2x the time)")
    p.add_argument("--resize", choices=sorted(RESIZERS), default="squash", help="serving preprocessing: whole photo or centre crop")
    p.add_argument("--size", type=int, help="input side in pixels (the graph's pads are fixed for it; default: the backbone's own)")
    p.add_argument("--backbone", choices=sorted(VARIANTS), default="lite0", help="EfficientNet-Lite variant (input 224/240/260)")
    p.set_defaults(fn=cmd_features)
    p = sub.add_parser("dev-labels", help="the Corel dev split as a Corel-5k label file (for tagsmith predict/evaluate)")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/corel-dev")
    p.set_defaults(fn=cmd_dev_labels)
    p = sub.add_parser("views", help="combine two `features` runs of the same photos (two views)")
    p.add_argument("--from", nargs=2, required=True, help="two features runs (colour and ImageNet from the first)")
    p.add_argument("--how", choices=["mean", "concat"], default="mean")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_views)

    p = sub.add_parser("activations", help="cache the input of the last blocks (fine-tuning)")
    p.add_argument("--from", default="runs/image-v3", help="a features run: its items.json and resize")
    p.add_argument("--out", default="runs/image-v4")
    p.add_argument("--upto", type=int, default=12)
    p.set_defaults(fn=cmd_activations)
    p = sub.add_parser("finetune", help="fine-tune the last blocks on the cached activations")
    p.add_argument("--from", default="runs/image-v3", help="a features run (items.json, features.npz)")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/image-v4")
    p.add_argument("--upto", type=int, default=12)
    p.add_argument("--start", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--rare-power", type=float)
    p.add_argument("--models", nargs="+", choices=["cv", "cv1", "cv2", "cv3", "full"], default=["cv", "full"],
                   help="cv: trained on folds 1..k-1 (train chooses on fold 0); cvF: without fold F (with all of "
                        "cv, cv1..cv3 train chooses on every Corel train photo, each held out once); full: on all of train (shipped)")
    p.set_defaults(fn=cmd_finetune)
    p = sub.add_parser("train")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--out", default="runs/image")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--holdout", action="store_true", help="choose on held-out fold 0 (automatic with a finetune cache)")
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("fusion-eval")
    p.add_argument("--mediaeval", default=str(SHARED / "mediaeval2016" / "train_posts.txt"))
    p.add_argument("--model", default="inference/models/image")
    p.add_argument("--out", default="runs/image")
    p.add_argument("--image-weights", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    p.add_argument("--k", type=int, default=10, help="suggestions asked for per post (the metrics' @1 and @5 read its top)")
    p.add_argument("--captions", action="store_true",
                   help="the image tagger reads each post's text too (the proposed suggester edit: caption-named event tags)")
    p.set_defaults(fn=cmd_fusion_eval)
    p = sub.add_parser("grounding", help="kNN similarity threshold (held-out train folds) and event tags into image.json")
    p.add_argument("--model", default="inference/models/image")
    p.add_argument("--corel", default=str(SHARED / "corel5k"))
    p.add_argument("--mediaeval", default=str(SHARED / "mediaeval2016" / "train_posts.txt"))
    p.add_argument("--safety", default="inference/models/safety.json")
    p.add_argument("--person-tags", help="a JSON list of the bank's tags that are people's names (default: none)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--quantile", type=float, default=0.01)
    p.add_argument("--min-event-photos", type=int, default=3)
    p.add_argument("--event-bound", action="store_true",
                   help="also every hashtag the bank learned from one event's photos alone (#nyc, #wanted: Sandy, Boston)")
    p.set_defaults(fn=cmd_grounding)
    p = sub.add_parser("coherence", help="each bank tag's visual coherence and the threshold a photo needs, into image.json")
    p.add_argument("--model", default="inference/models/image")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--near-quantile", type=float, default=0.25,
                   help="near_similarity: this quantile of the held-out nearest-neighbour similarity")
    p.set_defaults(fn=cmd_coherence)
    args = parser.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
