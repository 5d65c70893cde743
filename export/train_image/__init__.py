"""Train the image tagger's multi-label head on cached EfficientNet-Lite features (Lite0 unless `features --backbone`).

    nice -n 5 python -m export.train_image features --out runs/image      # backbone once: features.npz
    nice -n 5 python -m export.train_image train --out runs/image         # head + kNN + calibration, dev eval
    nice -n 10 python -m export.train_image activations --from runs/image-v3 --out runs/image-v4   # input of block 12
    nice -n 10 python -m export.train_image finetune --from runs/image-v3 --out runs/image-v4 --models cv cv1 cv2 cv3 full
    nice -n 10 python -m export.train_image train --out runs/image-v4     # chooses on the held-out folds (cv* arrays)
    nice -n 10 python -m export.train_image features --size 288 --mirror --out runs/image-v5-288   # a larger input
    nice -n 5 python -m export.train_image features --backbone lite1 --out runs/image-lite1   # EfficientNet-Lite1 (240; lite2: 260)
    nice -n 10 python -m export.train_image views --from runs/image-v3 runs/image-v5-crop --how mean --out runs/image-v5-2v-mean
    python -m export.train_image grounding     # kNN similarity threshold (held-out folds) + event tags into image.json
    python -m export.train_image coherence     # each bank tag's visual coherence + the threshold (held-out bank) into image.json

One module per sub-command (features, views, activations, finetune, train, fusion_eval, dev_labels, grounding,
coherence;
common: the cache, split and labels they share; fit: what `train` fits); __main__ parses the command line.

Fine-tuning (measured, not shipped: docs/results.md): a copy of blocks 12-15 + head conv trained on the
cached input of block 12 (LP-FT, bfloat16 autocast, one thread); with a fine-tuned cache `train` chooses
on held-out folds (each fold's photos scored by a copy that never saw them) instead of leave-one-out.

Backbone frozen (ImageNet weights): the pooled 1280-d features of every Corel-5k and MediaEval image
(--mirror: and of its horizontal mirror) are computed once with the serving
preprocessing (`inference.runtime.image.preprocess`). The head is one linear layer with sigmoid outputs over
the tag vocabulary (Corel words + MediaEval hashtags on >= 3 training images), trained with binary
cross-entropy. At test time its scores are fused with kNN label transfer (see inference.runtime.image) and
rebalanced per tag (a bias raising rare words, tuned on a held-out part of train), then evaluated
with the Corel-5k protocol on the dev split (export.image_eval-style numbers in metrics.json).
Calibration (format 4, TagProp-style): for the Corel words a per-word sigmoid over the kNN votes (the
weighted spaces, the cnn space alone, the colour space alone) and the head's logit, fitted by
likelihood on the leave-one-out scores, then label co-occurrence smoothing (s + beta * s @ C); kept
when it wins on held-out halves of the leave-one-out photos.
"""

from __future__ import annotations

# what other modules and tests read from here: the protocol, the calibration fit, and the serving
# preprocessing (training uses exactly it)
from export.train_image.common import corel_protocol
from export.train_image.fit import fit_calibration
from inference.runtime.image import normalise, open_image, resize_crop

__all__ = ["corel_protocol", "fit_calibration", "normalise", "open_image", "resize_crop"]
