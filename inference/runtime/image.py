"""Hashtags for images: Pillow preprocessing, bad-image handling, the ONNX tagger, tag ranking.

Torch-free. Training (export/train_image.py) imports `preprocess` from here, so the pixels the
model was trained on and the pixels it serves are made by the same code:

    bytes --(<= 10 MB, header-only size check <= MAX_PIXELS)--> Pillow decode (first frame of an
    animation; JPEG DCT-domain downscale via `draft` while both sides stay >= 256)
    --> EXIF orientation --> RGB (alpha / palette transparency composited on white, 16-bit and
    32-bit greyscale scaled to 8 bits, CMYK converted) --> the whole photo resized to 224 x 224
    (image.json input.size, 224 when absent; "squash", image.json input.resize; Corel photos are 3:2 and a centre crop cut a third of them)
    or, for folders that say "crop", the shorter side to 256 then the centre 224 x 224 (bilinear,
    Pillow's reducing_gap=None) --> float32 (x - 127) / 128, CHW.

Bad input raises an `ImageError` (a `ServiceError`): `InvalidImage` (400) for bytes that are not a
decodable image, `ImageTooLarge` (413) over 10 MB or over MAX_PIXELS pixels.

Model folder (inference/models/image/, written by export/image_export.py):
    image.json   format_version (IMAGE_FORMATS), name, version, input/normalisation, tag vocabulary,
                 fusion weights, per-tag scales, sha256s
    tagger.onnx  image [B,3,224,224] -> features [B,1280], imagenet_probs [B,1000], and either
                 tag_scores [B,V] (the head in the graph) or taps [B,624] (pooled blocks 10/14/15)
    knn.npz      per similarity space (cnn: pooled features [+ taps]; colour: HSV histograms;
                 imagenet: class probabilities) a mean, a projection and the L2-normalised projected
                 vectors of the training photos; their tags (CSR); head_weight/head_bias when the
                 head is not in the graph. kNN label transfer on the weighted sum of the spaces'
                 cosine similarities is fused with the head's scores. Format 4: calib_weight [W,4] and
                 calib_bias [W], a per-word sigmoid over kNN votes and the head's logit for the first W
                 tags (`score_tags`), smoothed by their label co-occurrence in the bank (fusion.cooc).
The ImageNet classes become open-vocabulary tags through inference/data/imagenet_tags.json.

    tagger = ImageTagger(folder); tagger.tag_batch([jpeg_bytes], k=10) -> [[("golden retriever", 0.71), ...]]
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.server.errors import ServiceError

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# photos per onnxruntime call (see ImageTagger.run): on CPU one at a time costs no more per photo and
# keeps the backbone's activations to one photo's; a GPU wants batches
MAX_RUN_BATCH = {"CPUExecutionProvider": 1}
MAX_RUN_BATCH_DEFAULT = 16
MAX_PIXELS = 50_000_000  # ~ 8660 x 5773; a decoded RGB frame stays <= 150 MB before the draft downscale
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard; we also check the header before decoding
INPUT_SIZE = 224
RESIZE_SHORTER = 256
# Per-channel (mean, std) on 0..255 pixels. The TF-ported Lite0 weights expect "tf": (x - 127) / 128
# (python -m export.image_model --check shows the ImageNet mean/std variant is less confident).
MEAN_STD = {
    "tf": ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
}
DEFAULT_NORM = "tf"
IMAGE_CONFIG = "image.json"
# image.json format_version: 1 cnn kNN on features; 2 several similarity spaces, taps, head in knn.npz;
# 3 the same outputs from a graph with float16 weights and a fine-tuned copy of the last blocks;
# 4 format 2 + per-word calibration (knn.npz calib_weight/calib_bias) and label co-occurrence smoothing
IMAGE_FORMATS = (1, 2, 3, 4, 5)
IMAGENET_TAGS = Path(__file__).parent.parent / "data" / "imagenet_tags.json"


class ImageError(ServiceError):
    code = "invalid_image"


class InvalidImage(ImageError):
    """Not an image, a format Pillow cannot read, truncated or corrupt data."""

    status = 400
    code = "invalid_image"


class ImageTooLarge(ImageError):
    status = 413
    code = "image_too_large"


# -- preprocessing ---------------------------------------------------------------------------------
def open_image(data: bytes) -> Image.Image:
    """Decode the first frame of an image into an RGB Pillow image, refusing what would not fit."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise InvalidImage("the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"the image has {len(data):,} bytes; at most {MAX_IMAGE_BYTES:,} allowed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageTooLarge(f"the image is {width}x{height} pixels; at most {MAX_PIXELS:,} pixels allowed")
            if width < 1 or height < 1:
                raise InvalidImage(f"the image is {width}x{height} pixels")
            if getattr(img, "is_animated", False):
                img.seek(0)  # animated GIF/WebP/APNG: the first frame
            if img.format == "JPEG":
                img.draft("RGB", (RESIZE_SHORTER, RESIZE_SHORTER))  # decode at 1/2..1/8 scale when large
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"the image has more than {MAX_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        raise InvalidImage("the data is not an image Pillow can read (JPEG, PNG, GIF, WebP, BMP, TIFF…)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as exc:
        raise InvalidImage(f"the image is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block: keep the pixels as stored
        pass
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is composited on white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16/32-bit greyscale: scale to 0..255
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if mode == "F":
            top = max(float(arr.max(initial=0)), 1.0) if arr.max(initial=0) > 1.0 else 1.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "P" and "transparency" in img.info or mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    except (ValueError, OSError) as exc:
        raise InvalidImage(f"images in mode {mode} are not supported ({exc})") from None


def resize_crop(img: Image.Image, size: int = INPUT_SIZE, shorter: int = RESIZE_SHORTER) -> Image.Image:
    """Shorter side -> `shorter`, then the centre `size` x `size`."""
    width, height = img.size
    scale = shorter / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return img.crop((left, top, left + size, top + size))


def resize_squash(img: Image.Image, size: int = INPUT_SIZE) -> Image.Image:
    """The whole photo to `size` x `size` (aspect not kept: nothing is cut off)."""
    return img.resize((size, size), Image.Resampling.BILINEAR)


RESIZERS = {"crop": resize_crop, "squash": resize_squash}
DEFAULT_RESIZE = "crop"  # folders written before input.resize existed


def normalise(img: Image.Image, norm: str = DEFAULT_NORM) -> np.ndarray:
    """RGB image -> float32 [3,H,W]."""
    mean, std = (np.asarray(v, dtype=np.float32) for v in MEAN_STD[norm])
    arr = np.asarray(img, dtype=np.float32)  # [H,W,3]
    return np.ascontiguousarray(((arr - mean) / std).transpose(2, 0, 1))


def preprocess(data: bytes, norm: str = DEFAULT_NORM, resize: str = DEFAULT_RESIZE, size: int = INPUT_SIZE) -> np.ndarray:
    """Image bytes -> model input float32 [3,size,size] (image.json input.size, 224 unless it says
    otherwise); raises InvalidImage / ImageTooLarge."""
    return normalise(RESIZERS[resize](open_image(data), size=size), norm)


COLOUR_BINS = (12, 4, 4)  # hue x saturation x value
COLOUR_SIDE = 64


def colour_histograms(pixels: np.ndarray, norm: str = DEFAULT_NORM) -> np.ndarray:
    """Model input [3,224,224] -> HSV histograms [3*192] of the whole photo, its top and its bottom
    half (sky, water, grass, sand: colour and where it is), each summing to 1. Computed from the
    preprocessed pixels, so training and serving share it and a request carries nothing else."""
    mean, std = (np.asarray(v, dtype=np.float32)[:, None, None] for v in MEAN_STD[norm])
    rgb = np.clip(np.rint(pixels * std + mean), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    small = Image.fromarray(rgb, "RGB").resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BILINEAR)
    hsv = np.asarray(small.convert("HSV"), dtype=np.int32)  # [64,64,3] 0..255
    nh, ns, nv = COLOUR_BINS
    code = (hsv[..., 0] * nh // 256 * ns + hsv[..., 1] * ns // 256) * nv + hsv[..., 2] * nv // 256
    half = COLOUR_SIDE // 2
    bins = nh * ns * nv
    return np.concatenate([np.bincount(part.ravel(), minlength=bins) / part.size
                           for part in (code, code[:half], code[half:])]).astype(np.float32)


# -- the tagger ------------------------------------------------------------------------------------
def load_imagenet_tags(path: str | Path = IMAGENET_TAGS) -> tuple[list[str], list[list[tuple[int, float]]]]:
    """(tag words, per ImageNet class [(tag index, weight)]) from the shipped mapping."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    vocab: dict[str, int] = {}
    per_class = []
    for cls in data["classes"]:
        row = []
        for words, weight in cls["tags"]:
            row.append((vocab.setdefault(words, len(vocab)), float(weight)))
        per_class.append(row)
    return list(vocab), per_class


@dataclass
class ImageFusion:
    head: float = 1.0  # trained head (sigmoid, calibrated per tag)
    knn: float = 1.0  # kNN label transfer from the training photos
    imagenet: float = 0.5  # ImageNet classes -> WordNet tags (open vocabulary)
    knn_k: int = 10
    knn_temperature: float = 0.05
    alpha: float = 0.0  # rebalancing strength behind tag_scale (recorded; the scale ships in image.json)
    # kNN similarity = cnn cosine + colour_sim * colour cosine + imagenet_sim * ImageNet cosine
    cnn_taps: bool = False  # cnn space: L2(features) ++ L2(taps) instead of the features alone
    cnn_power: float = 1.0  # signed power on the cnn vector before centring (0.5: "power normalisation")
    colour_sim: float = 0.0
    imagenet_sim: float = 0.0
    per_word_bias: bool = False  # recorded: tag_scale also holds biases tuned on leave-one-out train
    head_taps: bool = False  # head not in the graph: its input is features ++ taps [B,1904], not features
    # format 4, on the first calib_weight.shape[0] tags (the Corel words): TagProp-style per-word sigmoid
    # sigmoid(calib_weight[w] . CALIB_INPUTS[w] + calib_bias[w]) replaces the head + kNN mean
    calibrated: bool = False
    colour_knn_temperature: float = 0.03  # the colour-only votes, a calibration input (k = knn_k)
    cooc: float = 0.0  # then s + cooc * s @ C: label co-occurrence of those words (`cooc_matrix`)
    # format 5: hubness correction (CSLS-like): each space's similarity to training photo n, minus hub
    # x knn.npz SPACE_hub[n] (n's mean similarity to its nearest training photos): photos close to
    # everything stop voting for every query
    hub: float = 0.0


SPACES = ("cnn", "colour", "imagenet")


def project(features: np.ndarray, mean: np.ndarray, proj: np.ndarray | None) -> np.ndarray:
    """[B,F] -> centred, PCA-projected (when proj is given), L2-normalised [B,D]."""
    z = features.astype(np.float32) - mean
    if proj is not None:
        z = np.einsum("bf,fd->bd", z, proj, optimize=False)  # not BLAS: see `knn_vote` (and 10x slower on real features)
    return z / (np.linalg.norm(z, axis=1, keepdims=True) + 1e-8)


def l2_rows(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)


def space_inputs(fusion: "ImageFusion", features: np.ndarray, taps: np.ndarray | None,
                 colour: np.ndarray | None, imagenet_probs: np.ndarray | None) -> dict[str, np.ndarray]:
    """The raw vector of each similarity space the fusion uses (before centring and projection)."""
    cnn = np.concatenate([l2_rows(features), l2_rows(taps)], axis=1) if fusion.cnn_taps else features
    if fusion.cnn_power != 1.0:
        cnn = np.sign(cnn) * np.abs(cnn) ** fusion.cnn_power
    out = {"cnn": cnn.astype(np.float32)}
    if fusion.colour_sim or fusion.calibrated:
        out["colour"] = np.sqrt(colour).astype(np.float32)  # Hellinger: cosine of square roots
    if fusion.imagenet_sim:
        out["imagenet"] = np.sqrt(np.maximum(imagenet_probs, 0)).astype(np.float32)
    return out


def space_weights(fusion: "ImageFusion") -> dict[str, float]:
    return {"cnn": 1.0, "colour": fusion.colour_sim, "imagenet": fusion.imagenet_sim}


def needed_spaces(fusion: "ImageFusion") -> list[str]:
    """The spaces whose similarities the scores use (the calibration also votes in the colour space alone)."""
    return [s for s, w in space_weights(fusion).items() if w or (s == "colour" and fusion.calibrated)]


# per calibrated word: votes in the weighted sum of spaces, in the cnn space alone, in the colour space
# alone, and the head's logit
CALIB_INPUTS = ("votes", "cnn_votes", "colour_votes", "head_logit")


def calibration_inputs(head: np.ndarray, sims: dict[str, np.ndarray], labels: np.ndarray,
                       fusion: "ImageFusion", n_words: int, votes: np.ndarray | None = None) -> np.ndarray:
    """[B,W,4] (CALIB_INPUTS) for the first n_words tags; head [B,V] sigmoid scores, sims per space [B,N]
    (unweighted cosines), labels [N,V]; `votes` [B,V]: the weighted-space votes when already computed."""
    if votes is None:
        votes = knn_vote(None, None, labels, fusion.knn_k, fusion.knn_temperature, sims=mixed_similarities(sims, fusion))
    cnn = knn_vote(None, None, labels[:, :n_words], fusion.knn_k, fusion.knn_temperature, sims=sims["cnn"])
    colour = knn_vote(None, None, labels[:, :n_words], fusion.knn_k, fusion.colour_knn_temperature, sims=sims["colour"])
    p = np.clip(head[:, :n_words], 1e-6, 1 - 1e-6)
    return np.stack([votes[:, :n_words], cnn, colour, np.log(p) - np.log1p(-p)], axis=-1).astype(np.float32)


def calibrate(inputs: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """[B,W,F] inputs, weight [W,F], bias [W] -> [B,W] per-word sigmoid probabilities."""
    z = np.einsum("bwf,wf->bw", inputs, weight, optimize=False) + bias
    return 1.0 / (1.0 + np.exp(-z))


def cooc_matrix(labels: np.ndarray) -> np.ndarray:
    """[N,W] 0/1 training labels -> [W,W] co-occurrence counts / sqrt(count_i count_j), zero diagonal
    (computed from knn.npz's tag lists at load: nothing extra ships)."""
    y = (labels > 0).astype(np.float64)
    c = y.T @ y
    np.fill_diagonal(c, 0.0)
    n = np.sqrt(np.maximum(y.sum(axis=0), 1.0))
    return (c / n[:, None] / n[None, :]).astype(np.float32)


def mixed_similarities(sims: dict[str, np.ndarray], fusion: "ImageFusion") -> np.ndarray:
    """[B,N]: the weighted sum of the spaces' cosine similarities the kNN votes on."""
    total = None
    for space, weight in space_weights(fusion).items():
        if weight:
            part = sims[space] * weight
            total = part if total is None else total + part
    return total


def score_tags(head: np.ndarray, sims: dict[str, np.ndarray], labels: np.ndarray, fusion: "ImageFusion",
               tag_scale: np.ndarray, calib: tuple[np.ndarray, np.ndarray] | None = None,
               cooc: np.ndarray | None = None) -> np.ndarray:
    """[B,V] served scores: head + kNN mean (`fuse_vocab`); with calibration the first W tags get the
    per-word sigmoid of `calibration_inputs`, then co-occurrence smoothing; then the per-tag scale.
    Training scores its leave-one-out photos with this function too (sims with the photo left out)."""
    votes = knn_vote(None, None, labels, fusion.knn_k, fusion.knn_temperature, sims=mixed_similarities(sims, fusion))
    fused = fuse_vocab(head, votes, fusion, np.ones(head.shape[1], np.float32))
    if fusion.calibrated:
        weight, bias = calib
        n = len(bias)
        fused[:, :n] = calibrate(calibration_inputs(head, sims, labels, fusion, n, votes), weight, bias)
        if fusion.cooc:
            fused[:, :n] += fusion.cooc * np.einsum("bw,wv->bv", fused[:, :n], cooc, optimize=False)
    return fused * tag_scale


def knn_vote(z: np.ndarray, bank: np.ndarray, labels: np.ndarray, k: int, temperature: float,
             sims: np.ndarray | None = None) -> np.ndarray:
    """Label transfer: the k most similar training photos vote their tags with weights
    softmax(similarity / temperature). z [B,D], bank [N,D], labels [N,V] 0/1 -> [B,V] in [0,1].
    `sims` [B,N]: precomputed similarities (a weighted sum over spaces); z and bank then unused."""
    if sims is None:
        # [B,N]; einsum's own single-threaded loop: a BLAS call this small only wakes (and spins) its thread pool
        sims = np.einsum("bd,nd->bn", z, bank, optimize=False)
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # [B,k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    weights = np.exp((top_sims - top_sims.max(axis=1, keepdims=True)) / temperature)
    weights /= weights.sum(axis=1, keepdims=True)
    votes = np.zeros((len(top), labels.shape[1]), dtype=np.float32)  # [B,V]; one neighbour rank at a time:
    for j in range(k):  # no [B,k,V] temporary when training scores thousands of photos
        votes += weights[:, j, None] * labels[top[:, j]]
    return votes


def fuse_vocab(head: np.ndarray, knn: np.ndarray, fusion: "ImageFusion", tag_scale: np.ndarray) -> np.ndarray:
    """Weighted mean of head sigmoid scores and kNN votes, times a per-tag scale
    (tag_scale = (training frequency / median)^-alpha, clipped, times exp(per-word bias) when
    tuned): rare words get their turn (N+)."""
    fused = (fusion.head * head + fusion.knn * knn) / max(fusion.head + fusion.knn, 1e-8)
    return fused * tag_scale


@dataclass
class KnnBank:
    """The training photos as served: per space mean [F], projection [F,D] or None, bank [N,D]
    (rows L2-normalised); labels [N,V] 0/1; the head's weights when it is not in the graph."""

    spaces: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray]]
    labels: np.ndarray
    head_weight: np.ndarray | None = None  # [F,V]
    head_bias: np.ndarray | None = None  # [V]
    calib_weight: np.ndarray | None = None  # [W,len(CALIB_INPUTS)] format 4: the first W tags calibrated
    calib_bias: np.ndarray | None = None  # [W]
    cooc: np.ndarray | None = None  # [W,W] `cooc_matrix` of the bank's labels (when fusion.cooc)
    hubs: dict[str, np.ndarray] | None = None  # per space [N]: fusion.hub x SPACE_hub, taken off the similarities

    @classmethod
    def load(cls, path: Path, n_tags: int, fusion: "ImageFusion") -> "KnnBank":
        """Reads knn.npz (format 1: mean/proj/bank of the cnn space; format 2: SPACE_mean/_proj/_bank)
        and checks that every array the fusion needs is there with consistent shapes."""
        data = np.load(path)
        names = set(data.files)
        spaces = {}
        for space in needed_spaces(fusion):
            prefix = "" if space == "cnn" and "mean" in names else f"{space}_"
            if f"{prefix}bank" not in names:
                raise ValueError(f"{path}: the fusion uses the {space} similarity but {prefix}bank is missing")
            # C order: a transposed (Fortran-order) matrix makes every `x @ proj` copy it first
            mean = data[f"{prefix}mean"].astype(np.float32)
            proj = np.ascontiguousarray(data[f"{prefix}proj"], dtype=np.float32) if f"{prefix}proj" in names else None
            bank = np.ascontiguousarray(data[f"{prefix}bank"], dtype=np.float32)
            dim = proj.shape[1] if proj is not None else mean.shape[0]
            if (proj is not None and proj.shape[0] != mean.shape[0]) or bank.shape[1] != dim:
                raise ValueError(f"{path}: {space} shapes disagree (mean {mean.shape}, proj "
                                 f"{None if proj is None else proj.shape}, bank {bank.shape})")
            spaces[space] = (mean, proj, bank)
        hubs = None
        if fusion.hub:
            missing = [s for s in spaces if f"{s}_hub" not in names]
            if missing or not math.isfinite(fusion.hub) or fusion.hub < 0:
                raise ValueError(f"{path}: fusion.hub {fusion.hub!r} needs a number >= 0 and SPACE_hub arrays (missing {missing})")
            hubs = {s: fusion.hub * data[f"{s}_hub"].astype(np.float32) for s in spaces}
            if any(h.shape != (len(spaces[s][2]),) for s, h in hubs.items()):
                raise ValueError(f"{path}: every SPACE_hub must hold one number per bank photo")
        n = len(next(iter(spaces.values()))[2])
        if any(len(b) != n for _, _, b in spaces.values()):
            raise ValueError(f"{path}: the spaces' banks have different numbers of photos")
        indptr, indices = data["indptr"], data["indices"]
        if len(indptr) != n + 1 or (len(indices) and (indices.min() < 0 or indices.max() >= n_tags)):
            raise ValueError(f"{path}: the tag lists do not match {n} photos and {n_tags} tags")
        labels = np.zeros((n, n_tags), dtype=np.float32)  # [N,V] 0/1
        for row in range(n):
            labels[row, indices[indptr[row]:indptr[row + 1]]] = 1.0
        head_weight = head_bias = None
        if "head_weight" in names:
            head_weight = np.ascontiguousarray(data["head_weight"], dtype=np.float32)
            head_bias = data["head_bias"].astype(np.float32)
            if head_weight.shape[1] != n_tags or head_bias.shape != (n_tags,):
                raise ValueError(f"{path}: head shapes {head_weight.shape}, {head_bias.shape} do not match {n_tags} tags")
        calib_weight = calib_bias = cooc = None
        if fusion.calibrated:
            if "calib_weight" not in names or "calib_bias" not in names:
                raise ValueError(f"{path}: the fusion is calibrated but calib_weight / calib_bias are missing")
            calib_weight = np.ascontiguousarray(data["calib_weight"], dtype=np.float32)
            calib_bias = data["calib_bias"].astype(np.float32)
            n = len(calib_bias)
            if calib_bias.ndim != 1 or calib_weight.shape != (n, len(CALIB_INPUTS)) or not 0 < n <= n_tags:
                raise ValueError(f"{path}: calib_weight {calib_weight.shape} / calib_bias {calib_bias.shape} must be "
                                 f"[W,{len(CALIB_INPUTS)}] / [W] with W <= {n_tags} tags")
            if fusion.cooc:
                cooc = cooc_matrix(labels[:, :n])
        elif fusion.cooc:
            raise ValueError(f"{path}: co-occurrence smoothing (fusion.cooc) needs a calibrated fusion")
        for name in data.files:
            if data[name].dtype.kind == "f" and not np.isfinite(data[name]).all():
                raise ValueError(f"{path}: {name} has non-finite values")
        return cls(spaces, labels, head_weight, head_bias, calib_weight, calib_bias, cooc, hubs)

    def space_similarities(self, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per loaded space [B,N]: the cosine similarities to every training photo (less their hub
        offsets when the fusion corrects hubness)."""
        out = {}
        for space, (mean, proj, bank) in self.spaces.items():
            z = project(vectors[space], mean, proj)
            out[space] = np.einsum("bd,nd->bn", z, bank, optimize=False)
            if self.hubs is not None:
                out[space] -= self.hubs[space]
        return out


class ImageTagger:
    def __init__(self, folder: str | Path, providers: list[str] | None = None, threads: int = 0):
        import onnxruntime as ort

        self.folder = Path(folder)
        config_path = self.folder / IMAGE_CONFIG
        if not config_path.exists():
            raise FileNotFoundError(f"{config_path} not found: not an image model folder")
        self.config = json.loads(config_path.read_text(encoding="utf-8"))
        version = self.config.get("format_version", 1)
        if version not in IMAGE_FORMATS:
            raise ValueError(f"{config_path}: format_version {version!r} is not supported (this code reads {IMAGE_FORMATS})")
        for name, digest in self.config.get("sha256", {}).items():
            actual = hashlib.sha256((self.folder / name).read_bytes()).hexdigest()
            if actual != digest:
                raise ValueError(f"{self.folder / name}: sha256 {actual[:12]}… does not match image.json ({digest[:12]}…)")
        self.norm = self.config.get("norm", DEFAULT_NORM)
        self.resize = self.config.get("input", {}).get("resize", DEFAULT_RESIZE)
        if self.resize not in RESIZERS:
            raise ValueError(f"{config_path}: input.resize {self.resize!r} is not one of {sorted(RESIZERS)}")
        self.size = self.config.get("input", {}).get("size", INPUT_SIZE)  # the graph's pads are fixed for it
        if not isinstance(self.size, int) or not 32 <= self.size <= 1024:
            raise ValueError(f"{config_path}: input.size {self.size!r} is not a whole number of pixels in 32..1024")
        self.tags: list[str] = list(self.config["tags"])
        self.fusion = ImageFusion(**self.config.get("fusion", {}))
        if (self.fusion.calibrated or self.fusion.cooc) and version < 4:
            raise ValueError(f"{config_path}: a calibrated fusion needs format_version 4 (this one says {version})")
        if self.fusion.hub and version < 5:
            raise ValueError(f"{config_path}: a hubness correction needs format_version 5 (this one says {version})")
        if not (math.isfinite(self.fusion.cooc) and self.fusion.cooc >= 0):
            raise ValueError(f"{config_path}: fusion.cooc must be a number >= 0")
        # per-tag rebalancing (rare words up) and biases, tuned in training: see `fuse_vocab`
        self.tag_scale = np.asarray(self.config.get("tag_scale", [1.0] * len(self.tags)), dtype=np.float32)
        if self.tag_scale.shape != (len(self.tags),) or not np.isfinite(self.tag_scale).all() or (self.tag_scale <= 0).any():
            raise ValueError(f"{config_path}: tag_scale must hold {len(self.tags)} positive numbers")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if providers is None:
            providers = ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(str(self.folder / self.config.get("graph", "tagger.onnx")), options, providers=providers)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.max_run_batch = MAX_RUN_BATCH.get(self.session.get_providers()[0], MAX_RUN_BATCH_DEFAULT)
        self.knn = KnnBank.load(self.folder / "knn.npz", len(self.tags), self.fusion)
        if "tag_scores" not in self.outputs and self.knn.head_weight is None:
            raise ValueError(f"{self.folder}: neither the graph's tag_scores nor knn.npz head_weight: no head")
        if (self.fusion.cnn_taps or self.fusion.head_taps) and "taps" not in self.outputs:
            raise ValueError(f"{self.folder}: the fusion uses taps but the graph has no taps output")
        if "tag_scores" not in self.outputs:
            width = int(self.session.get_outputs()[self.outputs.index("features")].shape[1])
            if self.fusion.head_taps:
                width += int(self.session.get_outputs()[self.outputs.index("taps")].shape[1])
            if self.knn.head_weight.shape[0] != width:
                raise ValueError(f"{self.folder}: head_weight has {self.knn.head_weight.shape[0]} inputs, the graph gives {width}")
        self.imagenet_words, self.imagenet_map = load_imagenet_tags(self.folder / self.config["imagenet_tags"]) \
            if (self.folder / str(self.config.get("imagenet_tags", "-"))).is_file() else load_imagenet_tags()
        import scipy.sparse as sp  # ~3 tags per class: a sparse [1000,W] product, no dense BLAS call

        rows, cols, vals = zip(*((cls, tag, w) for cls, row in enumerate(self.imagenet_map) for tag, w in row))
        self._imagenet_matrix = sp.csr_matrix((vals, (rows, cols)), shape=(1000, len(self.imagenet_words)), dtype=np.float32)

    @property
    def model_id(self) -> str:
        return f"{self.config.get('name', 'tagsmith-image')}@{self.config.get('version', '0')}"

    def preprocess(self, data: bytes) -> np.ndarray:
        return preprocess(data, self.norm, self.resize, self.size)

    def run(self, arrays: list[np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        """[B,3,224,224] -> the graph's outputs by name: features [B,1280], imagenet_probs [B,1000],
        tag_scores [B,V] and/or taps [B,624]."""
        x = np.ascontiguousarray(np.stack(arrays) if isinstance(arrays, list) else arrays, dtype=np.float32)
        # the backbone's activations grow with the batch (32 photos at once: ~550 MB more RSS), so
        # a micro-batch of photos runs in chunks of `max_run_batch`
        step = self.max_run_batch
        chunks = [self.session.run(None, {"image": x[i : i + step]}) for i in range(0, max(len(x), 1), step)]
        return {name: np.concatenate([c[j] for c in chunks]) for j, name in enumerate(self.outputs)}

    def head_scores(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """[B,V] sigmoid scores of the head: in the graph, or a linear layer on the features."""
        if "tag_scores" in outputs:
            return outputs["tag_scores"]
        x = np.concatenate([outputs["features"], outputs["taps"]], axis=1) if self.fusion.head_taps else outputs["features"]
        logits = np.einsum("bf,fv->bv", x, self.knn.head_weight, optimize=False) + self.knn.head_bias  # not BLAS, as `project`
        return 1.0 / (1.0 + np.exp(-logits))

    def space_similarities(self, outputs: dict[str, np.ndarray], pixels: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per similarity space [B,N]: cosine similarities to the training photos."""
        colour = np.stack([colour_histograms(p, self.norm) for p in pixels]) if "colour" in needed_spaces(self.fusion) else None
        vectors = space_inputs(self.fusion, outputs["features"], outputs.get("taps"), colour, outputs.get("imagenet_probs"))
        return self.knn.space_similarities(vectors)

    def vocab_scores(self, outputs: dict[str, np.ndarray], pixels: np.ndarray | None = None) -> np.ndarray:
        """Scores over the trained vocabulary [B,V]: head and kNN fused (format 4: calibrated per word,
        co-occurrence smoothed), then rebalanced per tag (`score_tags`)."""
        calib = (self.knn.calib_weight, self.knn.calib_bias) if self.fusion.calibrated else None
        return score_tags(self.head_scores(outputs), self.space_similarities(outputs, pixels), self.knn.labels,
                          self.fusion, self.tag_scale, calib, self.knn.cooc)

    def tag_arrays(self, arrays: list[np.ndarray], k: int = 10) -> list[list[tuple[str, float]]]:
        """Preprocessed images -> per image the top-k [(tag words, score in [0,1])]."""
        if not arrays:
            return []
        outputs = self.run(arrays)
        probs = outputs["imagenet_probs"]
        vocab = self.vocab_scores(outputs, arrays)  # [B,V]
        imagenet = np.asarray((self._imagenet_matrix.T @ probs.T).T)  # [B,W]: a hypernym gets all its classes' mass
        out = []
        for row in range(len(arrays)):
            merged: dict[str, float] = {}
            for words, score in zip(self.tags, vocab[row]):
                merged[words] = float(score)
            w = self.fusion.imagenet
            if w > 0:
                for j in np.argsort(-imagenet[row])[: 3 * k]:
                    words = self.imagenet_words[j]
                    merged[words] = max(merged.get(words, 0.0), 0.0) + w * float(imagenet[row, j])
            best = sorted(merged.items(), key=lambda kv: -kv[1])[:k]
            top = max((s for _, s in best), default=1.0) or 1.0
            out.append([(words, min(1.0, score / max(top, 1.0))) for words, score in best])
        return out

    def tag_batch(self, images: list[bytes], k: int = 10) -> list[list[tuple[str, float]]]:
        """Image bytes -> per image the top-k [(tag words, score)]; raises on the first bad image."""
        return self.tag_arrays([self.preprocess(b) for b in images], k)

    def warm_up(self) -> None:
        self.run(np.zeros((1, 3, self.size, self.size), dtype=np.float32))


# -- benchmark: python -m inference.runtime.image --requests 100 ------------------------------------------------
def _bench(argv: list[str] | None = None) -> None:
    """Image requests through the real service (aiohttp on 127.0.0.1, the shipped image model
    only), one at a time: latency percentiles of POST /v1/suggest with a base64 JPEG."""
    import argparse
    import asyncio
    import base64
    import os
    import statistics
    import tempfile
    import time

    parser = argparse.ArgumentParser(prog="python -m inference.runtime.image", description=_bench.__doc__)
    parser.add_argument("--model", default=str(Path(__file__).parent.parent / "models" / "image"))
    parser.add_argument("--image", help="a photo to send (default: a generated 1024x768 JPEG)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    args = parser.parse_args(argv)

    if args.image:
        data = Path(args.image).read_bytes()
    else:
        rng = np.random.default_rng(0)
        small = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).resize((1024, 768), Image.Resampling.BICUBIC)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=90)
        data = out.getvalue()
    body = {"image": base64.b64encode(data).decode(), "k": 10}

    async def run() -> list[float]:
        from aiohttp import ClientSession, web

        from inference.server.app import ServiceConfig, create_app

        with tempfile.TemporaryDirectory() as tmp:
            os.symlink(Path(args.model).resolve(), Path(tmp) / "image")
            app = create_app(ServiceConfig(models_dir=Path(tmp), ort_threads=args.threads, providers=["CPUExecutionProvider"]))
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            times = []
            async with ClientSession(f"http://127.0.0.1:{port}") as session:
                for i in range(args.requests + 5):
                    start = time.perf_counter()
                    async with session.post("/v1/suggest", json=body) as response:
                        assert response.status == 200, await response.text()
                        await response.json()
                    if i >= 5:  # the first requests warm caches
                        times.append((time.perf_counter() - start) * 1000)
            await runner.cleanup()
            return times

    cpu0 = time.process_time()
    times = sorted(asyncio.run(run()))
    cpu = (time.process_time() - cpu0) * 1000 / (args.requests + 5)
    q = statistics.quantiles(times, n=100)
    load = os.getloadavg()[0]
    print(f"image request ({len(data) / 1024:.0f} kB JPEG, {args.requests} sequential, ort threads {args.threads}): "
          f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, mean {statistics.mean(times):.1f} ms; "
          f"process CPU {cpu:.1f} ms/request; load average {load:.1f} on {os.cpu_count()} cores")
    # where the CPU goes, stage by stage, in this process (no server)
    tagger = ImageTagger(args.model, providers=["CPUExecutionProvider"], threads=args.threads)
    pixels = tagger.preprocess(data)
    outputs = tagger.run([pixels])
    stages = {"decode+resize+normalise": lambda: tagger.preprocess(data), "onnx graph": lambda: tagger.run([pixels]),
              "kNN+fusion": lambda: _post(tagger, pixels, outputs)}
    parts = []
    for name, fn in stages.items():
        fn()
        start = time.process_time()
        for _ in range(20):
            fn()
        parts.append(f"{name} {(time.process_time() - start) * 1000 / 20:.1f}")
    print("CPU ms per image: " + ", ".join(parts))


def _post(tagger: "ImageTagger", pixels: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
    """tag_arrays' work after the ONNX run (for the benchmark's breakdown)."""
    tagger.vocab_scores(outputs, pixels[None])
    probs = np.zeros((1, 1000), dtype=np.float32)
    np.asarray((tagger._imagenet_matrix.T @ probs.T).T)


if __name__ == "__main__":
    _bench()
