"""The image folder (inference/models/image/, written by export/image_export.py) read through the contract.

    manifest.json  format_version and every file's sha256 (`inference.runtime.model_folder.verify_folder`)
    image.json     format_version (IMAGE_FORMATS), name, version, graph, input (size, resize, norm and
                   the limits: max_bytes, max_pixels, resize_shorter), tags, fusion, tag_scale, sha256s
                   grounding (optional): event_tags and person_tags, tags a photo alone never gives
                   (`ImageFolder.identity_tags`); coherence: near_similarity, min_coherence and one
                   number per tag (`TagCoherence`, `python -m export.train_image coherence`)
    tagger.onnx    image [B,3,S,S] -> features [B,1280], imagenet_probs [B,1000], and either
                   tag_scores [B,V] (the head in the graph) or taps [B,624] (pooled blocks 10/14/15)
    tagger.int8.onnx (optional, image.json int8.graph): the same graph in int8 (`export.image_quant`),
                   opened instead on a CPU whose int8 products are exact (`ImageFolder.graph_for`)
    knn.npz        the training photos' bank (`inference.runtime.image_scoring.KnnBank`)

`load_image_folder` raises `InvalidModelFolder` naming what is wrong, before any graph is opened.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.runtime.image_preprocess import (DEFAULT_NORM, DEFAULT_RESIZE, INPUT_SIZE, MAX_IMAGE_BYTES, MAX_PIXELS,
                                                MEAN_STD, RESIZE_SHORTER, RESIZERS, ImageLimits)
from inference.runtime.image_scoring import ImageFusion
from inference.runtime.providers import CPU, int8_exact
from inference.runtime.model_folder import (IMAGE_CONFIG, InvalidModelFolder, check_checksums, check_format,
                                            check_same_format, read_json_object, verify_folder)

# image.json format_version: 1 cnn kNN on features; 2 several similarity spaces, taps, head in knn.npz;
# 3 the same outputs from a graph with float16 weights and a fine-tuned copy of the last blocks;
# 4 format 2 + per-word calibration (knn.npz calib_weight/calib_bias) and label co-occurrence smoothing
IMAGE_FORMATS = (1, 2, 3, 4)
KNN_FILE = "knn.npz"
DEFAULT_GRAPH = "tagger.onnx"


@dataclass(frozen=True)
class TagCoherence:
    """image.json grounding.coherence: how much each bank tag's photos share it because of what they
    show (read on held-out bank photos), the threshold for a coherent tag, and the similarity from which a
    photo is like the bank's own (its other bank tags pass too: `image_scoring.grounded_tags`)."""

    tags: np.ndarray  # [V]
    min_coherence: float
    near_similarity: float

    @property
    def coherent(self) -> np.ndarray:
        return self.tags >= self.min_coherence


@dataclass
class ImageFolder:
    path: Path
    config: dict
    format_version: int
    norm: str
    resize: str
    size: int  # the graph's pads are fixed for it
    limits: ImageLimits
    tags: list[str]
    fusion: ImageFusion
    tag_scale: np.ndarray  # [V] per-tag rebalancing (rare words up) and biases, tuned in training
    # named events and people's names among the tags (image.json grounding.event_tags / person_tags):
    # the photo alone never suggests them, a caption that names them lets them through
    identity_tags: frozenset[str] = frozenset()
    coherence: TagCoherence | None = None  # None (older folders): every bank tag may pass

    @property
    def graph_path(self) -> Path:
        return self.path / self.config.get("graph", DEFAULT_GRAPH)

    @property
    def int8_graph_path(self) -> Path | None:
        """image.json int8.graph (`python -m export.image_quant`): the graph in int8, None where there is none."""
        name = self.config.get("int8", {}).get("graph") if isinstance(self.config.get("int8"), dict) else None
        return self.path / name if name else None

    def graph_for(self, providers: list[str]) -> Path:
        """The graph a session on `providers` opens: the int8 one on a CPU whose int8 products are exact
        (`providers.int8_exact`), the float one on a GPU or another CPU."""
        if self.int8_graph_path is not None and providers[0] == CPU and int8_exact():
            return self.int8_graph_path
        return self.graph_path

    @property
    def knn_path(self) -> Path:
        return self.path / KNN_FILE

    @property
    def imagenet_tags_path(self) -> Path | None:
        """The folder's own ImageNet class -> tags mapping, None for the shipped one."""
        name = self.config.get("imagenet_tags")
        return self.path / name if name and (self.path / name).is_file() else None


def _whole(config_path: Path, key: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidModelFolder(f"{config_path}: {key} {value!r} is not a whole number in {low}..{high}")
    return value


def _input(config_path: Path, config: dict) -> tuple[str, str, int, ImageLimits]:
    """norm, resize, size and the request limits. A folder may lower the limits, not raise them over
    the runtime's (the service sizes its request bodies for MAX_IMAGE_BYTES, Pillow guards MAX_PIXELS)."""
    given = config.get("input", {})
    norm = config.get("norm", DEFAULT_NORM)
    if norm not in MEAN_STD:
        raise InvalidModelFolder(f"{config_path}: norm {norm!r} is not one of {sorted(MEAN_STD)}")
    resize = given.get("resize", DEFAULT_RESIZE)
    if resize not in RESIZERS:
        raise InvalidModelFolder(f"{config_path}: input.resize {resize!r} is not one of {sorted(RESIZERS)}")
    size = _whole(config_path, "input.size", given.get("size", INPUT_SIZE), 32, 1024)
    limits = ImageLimits(
        max_bytes=_whole(config_path, "input.max_bytes", given.get("max_bytes", MAX_IMAGE_BYTES), 1, MAX_IMAGE_BYTES),
        max_pixels=_whole(config_path, "input.max_pixels", given.get("max_pixels", MAX_PIXELS), 1, MAX_PIXELS),
        shorter=_whole(config_path, "input.resize_shorter", given.get("resize_shorter", RESIZE_SHORTER), size, 4096),
    )
    return norm, resize, size, limits


def _fusion(config_path: Path, config: dict, version: int) -> ImageFusion:
    given = config.get("fusion", {})
    known = {f.name for f in dataclasses.fields(ImageFusion)}
    unknown = sorted(set(given) - known) if isinstance(given, dict) else ["(not an object)"]
    if unknown:
        raise InvalidModelFolder(f"{config_path}: fusion has settings this tagsmith does not know: {', '.join(unknown)}")
    fusion = ImageFusion(**given)
    if (fusion.calibrated or fusion.cooc) and version < 4:
        raise InvalidModelFolder(f"{config_path}: a calibrated fusion needs format_version 4 (this one says {version})")
    if not (isinstance(fusion.cooc, (int, float)) and math.isfinite(fusion.cooc) and fusion.cooc >= 0):
        raise InvalidModelFolder(f"{config_path}: fusion.cooc must be a number >= 0")
    m = fusion.min_similarity
    if m is not None and not (isinstance(m, (int, float)) and not isinstance(m, bool) and math.isfinite(m)):
        raise InvalidModelFolder(f"{config_path}: fusion.min_similarity must be a number or null")
    return fusion


def _identity_tags(config_path: Path, config: dict) -> frozenset[str]:
    """grounding.event_tags + grounding.person_tags: lists of tag words."""
    given = config.get("grounding", {})
    found = set()
    for key in ("event_tags", "person_tags"):
        words = given.get(key, []) if isinstance(given, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise InvalidModelFolder(f"{config_path}: grounding.{key} must be a list of tag words")
        found.update(words)
    return frozenset(found)


def _number(config_path: Path, key: str, value: object) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidModelFolder(f"{config_path}: {key} must be a number")
    return float(value)


def _coherence(config_path: Path, config: dict, n_tags: int) -> TagCoherence | None:
    """grounding.coherence: {"tags": [V numbers], "min_coherence": c, "near_similarity": s}, or absent."""
    given = config.get("grounding", {}).get("coherence") if isinstance(config.get("grounding"), dict) else None
    if given is None:
        return None
    if not isinstance(given, dict):
        raise InvalidModelFolder(f"{config_path}: grounding.coherence must be an object")
    tags = given.get("tags")
    if not isinstance(tags, list) or len(tags) != n_tags:
        raise InvalidModelFolder(f"{config_path}: grounding.coherence.tags must hold one number per tag ({n_tags})")
    values = np.asarray([_number(config_path, "grounding.coherence.tags", v) for v in tags], dtype=np.float32)
    return TagCoherence(values, _number(config_path, "grounding.coherence.min_coherence", given.get("min_coherence")),
                        _number(config_path, "grounding.coherence.near_similarity", given.get("near_similarity")))


def load_image_folder(path: str | Path) -> ImageFolder:
    """Read and validate an image folder; raise InvalidModelFolder with a clear message if it is bad."""
    path = Path(path)
    config_path = path / IMAGE_CONFIG
    if not config_path.is_file():
        raise InvalidModelFolder(f"{config_path} not found: not an image model folder")
    manifest_version = verify_folder(path, IMAGE_FORMATS)
    config = read_json_object(config_path)
    version = check_format(path, config.get("format_version", 1), IMAGE_FORMATS, IMAGE_CONFIG)
    check_same_format(path, manifest_version, version, IMAGE_CONFIG)
    if manifest_version is None:  # no manifest: the exporter's own checksums
        check_checksums(path, config.get("sha256", {}), IMAGE_CONFIG)
    norm, resize, size, limits = _input(config_path, config)
    tags = config.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise InvalidModelFolder(f"{config_path}: tags must be a non-empty list of strings")
    tag_scale = np.asarray(config.get("tag_scale", [1.0] * len(tags)), dtype=np.float32)
    if tag_scale.shape != (len(tags),) or not np.isfinite(tag_scale).all() or (tag_scale <= 0).any():
        raise InvalidModelFolder(f"{config_path}: tag_scale must hold {len(tags)} positive numbers")
    int8 = config.get("int8", {})
    if not isinstance(int8, dict) or not isinstance(int8.get("graph", ""), str):
        raise InvalidModelFolder(f"{config_path}: int8 must be an object whose graph is a file name")
    for name in (config.get("graph", DEFAULT_GRAPH), KNN_FILE, *([int8["graph"]] if int8.get("graph") else [])):
        if not (path / name).is_file():
            raise InvalidModelFolder(f"model folder {path} lacks {name}")
    return ImageFolder(path, config, version, norm, resize, size, limits, list(tags),
                       _fusion(config_path, config, version), tag_scale, _identity_tags(config_path, config),
                       _coherence(config_path, config, len(tags)))
