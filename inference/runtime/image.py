"""The image side's old import path, kept for its importers (export/, the server, the suggester).

The code lives in modules with one job each; new code imports from them:
    image_preprocess  bytes -> model input, the image error types (InvalidImage, ImageTooLarge)
    image_scoring     the fusion's settings, kNN votes, calibration, the training photos' bank
    image_folder      image.json and the folder's files through the model-folder contract
    image_tagger      ImageTagger: the ONNX session and the tag lists
The benchmark is `python -m inference.evaluation.bench_image`.
"""

from inference.runtime.image_folder import IMAGE_FORMATS, ImageFolder, load_image_folder
from inference.runtime.image_preprocess import (COLOUR_BINS, DEFAULT_NORM, DEFAULT_RESIZE, INPUT_SIZE, MAX_IMAGE_BYTES,
                                                MAX_PIXELS, MEAN_STD, RESIZE_SHORTER, RESIZERS, ImageError, ImageLimits,
                                                ImageTooLarge, InvalidImage, colour_histograms, normalise, open_image,
                                                preprocess, resize_crop, resize_squash, to_rgb)
from inference.runtime.image_scoring import (CALIB_INPUTS, ImageFusion, KnnBank, calibrate, calibration_inputs,
                                             cooc_matrix, fuse_vocab, knn_vote, needed_spaces, project, score_tags,
                                             space_inputs, space_weights)
from inference.runtime.image_tagger import IMAGENET_TAGS, ImageTagger, load_imagenet_tags
from inference.runtime.model_folder import IMAGE_CONFIG

__all__ = [
    "CALIB_INPUTS", "COLOUR_BINS", "DEFAULT_NORM", "DEFAULT_RESIZE", "IMAGE_CONFIG", "IMAGE_FORMATS", "IMAGENET_TAGS",
    "INPUT_SIZE", "MAX_IMAGE_BYTES", "MAX_PIXELS", "MEAN_STD", "RESIZERS", "RESIZE_SHORTER", "ImageError", "ImageFolder",
    "ImageFusion", "ImageLimits", "ImageTagger", "ImageTooLarge", "InvalidImage", "KnnBank", "calibrate",
    "calibration_inputs", "colour_histograms", "cooc_matrix", "fuse_vocab", "knn_vote", "load_image_folder",
    "load_imagenet_tags", "needed_spaces", "normalise", "open_image", "preprocess", "project", "resize_crop",
    "resize_squash", "score_tags", "space_inputs", "space_weights", "to_rgb",
]
