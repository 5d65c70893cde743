"""Image bytes -> model input: Pillow decode, bad-image errors, resize, normalisation, colour histograms.

Torch-free. Training (export/train_image.py) imports `preprocess` from here, so the pixels the
model was trained on and the pixels it serves are made by the same code:

    bytes --(<= max_bytes, header-only size check <= max_pixels)--> Pillow decode (first frame of an
    animation; JPEG DCT-domain downscale via `draft` while both sides stay >= resize_shorter; what
    is decoded at full size -- PNG, WebP, GIF, a thin JPEG -- at most max_decode_pixels)
    --> `reduce` by whole factors to about 3x what the resize needs (Pillow's reducing_gap 3:
    indistinguishable from resizing the full image; images under 3x the input size are untouched)
    --> EXIF orientation --> RGB (alpha / palette transparency composited on white, 16-bit and
    32-bit greyscale scaled to 8 bits, CMYK converted) --> the whole photo resized to 224 x 224
    (image.json input.size; "squash", image.json input.resize; Corel photos are 3:2 and a centre crop cut a third of them)
    or, for folders that say "crop", the shorter side to 256 then the centre 224 x 224 (bilinear,
    Pillow's reducing_gap=None) --> float32 (x - 127) / 128, CHW.

Memory: a decode holds the full frame once (<= max_decode_pixels x 4 bytes); RGBA, LA and palette
frames are premultiplied or converted a band of rows at a time while they are reduced
(`reduce_in_strips`, the same pixels as one `reduce`); every later step works on the reduced image.
Frames of LARGE_DECODE_PIXELS or more are decoded one at a time in the process (`large_decode`: the
image pool's threads and OCR wait for each other), so four large photos at once cost one frame. After a large
image the freed pages are handed back to the OS (`release_memory`: glibc's malloc_trim), so a
burst of large photos does not leave the process at its peak. `probe` reads the header only (for
the server's cost accounting).

The limits (10 MB, MAX_PIXELS, 256, MAX_DECODE_PIXELS) are the defaults; a folder's image.json "input" names its own.
Bad input raises an `ImageError` (a domain error, `inference.errors.ServiceError`: the server's
middleware maps it to its status): `InvalidImage` (400) for bytes that are not a decodable image,
`ImageTooLarge` (413) over the byte or pixel limits.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.errors import ServiceError
from inference.limits import MAX_DECODE_PIXELS, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE
from inference.limits import MAX_IMAGE_PIXELS as MAX_PIXELS  # ~ 8660 x 5773: a decoded RGB frame <= 150 MB before the draft
from inference.runtime.process_memory import release_memory

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard; we also check the header before decoding
INPUT_SIZE = 224
RESIZE_SHORTER = 256
REDUCING_GAP = 3  # `reduce` keeps each side >= 3x what the resize needs (Pillow's reducing_gap)
RELEASE_AFTER_PIXELS = 4_000_000  # decodes at least this large hand their freed memory back to the OS
LARGE_DECODE_PIXELS = 4_000_000  # frames at least this large are decoded one at a time (`large_decode`)
STRIP_BYTES = 4 << 20  # the rows `reduce_in_strips` converts at a time
_LARGE_DECODE = threading.Lock()
# Per-channel (mean, std) on 0..255 pixels. The TF-ported Lite0 weights expect "tf": (x - 127) / 128
# (python -m export.image_model --check shows the ImageNet mean/std variant is less confident).
MEAN_STD = {
    "tf": ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
}
DEFAULT_NORM = "tf"


@dataclass(frozen=True)
class ImageLimits:
    """What a request's image may be (image.json "input": max_bytes, max_pixels, resize_shorter)."""

    max_bytes: int = MAX_IMAGE_BYTES
    max_pixels: int = MAX_PIXELS
    shorter: int = RESIZE_SHORTER  # JPEG draft decoding keeps both sides >= this
    max_decode_pixels: int = MAX_DECODE_PIXELS  # what is decoded at full size (after a JPEG's draft)
    max_side: int = MAX_IMAGE_SIDE


DEFAULT_LIMITS = ImageLimits()


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
@dataclass(frozen=True)
class ImageProbe:
    """What an image's header says, before any pixel is decoded."""

    width: int
    height: int
    format: str | None
    decode_width: int  # the frame the decoder fills (a JPEG's after its DCT-domain downscale)
    decode_height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decode_pixels(self) -> int:
        return self.decode_width * self.decode_height


def _draft(img: Image.Image, limits: ImageLimits) -> None:
    if img.format == "JPEG":
        img.draft("RGB", (limits.shorter, limits.shorter))  # decode at 1/2..1/8 scale when large


def probe(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> ImageProbe | None:
    """The header's sizes, or None when the header cannot be read (decoding will say why). Never raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            _draft(img, limits)
            return ImageProbe(width, height, img.format, *img.size)
    except Exception:  # anything unreadable: open_image raises the 4xx
        return None


def open_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS, fit: tuple[str, int] | None = None) -> Image.Image:
    """Decode the first frame of an image into an RGB Pillow image, refusing what would not fit.

    fit: ("squash", size) or ("crop", shorter), what the caller resizes to: a frame more than
    REDUCING_GAP times larger is first `reduce`d by whole factors (None: kept at its decoded size).
    A frame of LARGE_DECODE_PIXELS or more is decoded while no other large one is (`large_decode`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise InvalidImage("the image is empty")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"the image has {len(data):,} bytes; at most {limits.max_bytes:,} allowed")
    with contextlib.ExitStack() as held:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))  # reads the header only
                _check_header(img, limits)
                held.enter_context(large_decode(img.size[0] * img.size[1]))
                img.load()
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge(f"the image has more than {limits.max_pixels:,} pixels") from None
        except UnidentifiedImageError:
            raise InvalidImage("the data is not an image Pillow can read (JPEG, PNG, GIF, WebP, BMP, TIFF…)") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as exc:
            raise InvalidImage(f"the image is truncated or corrupt ({type(exc).__name__}: {exc})") from None
        img = _finish(img, fit)  # the full frame is freed before the next large one is decoded
        return img


def _check_header(img: Image.Image, limits: ImageLimits) -> None:
    """Refuse by the header's sizes; seeks an animation's first frame and drafts a JPEG (img.size is
    then the frame the decoder fills)."""
    width, height = img.size
    if width * height > limits.max_pixels:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; at most {limits.max_pixels:,} pixels allowed")
    if width < 1 or height < 1:
        raise InvalidImage(f"the image is {width}x{height} pixels")
    if max(width, height) > limits.max_side:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; each side at most {limits.max_side:,} pixels allowed")
    if getattr(img, "is_animated", False):
        img.seek(0)  # animated GIF/WebP/APNG: the first frame
    _draft(img, limits)
    decode_w, decode_h = img.size
    if decode_w * decode_h > limits.max_decode_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} pixels and its format ({img.format}) is decoded at full size: at most "
            f"{limits.max_decode_pixels:,} pixels allowed (the model sees {INPUT_SIZE}x{INPUT_SIZE}; send a smaller copy, "
            f"or a JPEG, decoded at up to 1/8 scale, of up to {limits.max_pixels:,} pixels)"
        )


def _finish(img: Image.Image, fit: tuple[str, int] | None) -> Image.Image:
    """The decoded frame shrunk for `fit`, EXIF-oriented, in RGB."""
    if fit is not None:
        img = shrink(img, *fit)
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block: keep the pixels as stored
        pass
    return to_rgb(img)


@contextlib.contextmanager
def large_decode(pixels: int):
    """Held while a frame of LARGE_DECODE_PIXELS or more is decoded and reduced: one such frame at a
    time in the process (the image pool's threads and OCR's), so a burst of large photos costs one
    full-size frame of memory, not one per thread."""
    if pixels < LARGE_DECODE_PIXELS:
        yield
        return
    with _LARGE_DECODE:
        yield


def reduce_factors(width: int, height: int, resize: str, size: int) -> tuple[int, int]:
    """Whole factors that keep what `resize` needs REDUCING_GAP times over: each side >= gap x size
    ("squash": the axes are scaled apart), the shorter side >= gap x size ("crop": one factor)."""
    need = REDUCING_GAP * size
    if resize == "crop":
        factor = max(1, min(width, height) // need)
        return factor, factor
    return max(1, width // need), max(1, height // need)


def shrink(img: Image.Image, resize: str, size: int) -> Image.Image:
    """The decoded frame reduced (box filter, whole factors) to what the resize needs; unchanged when small."""
    factors = reduce_factors(*img.size, resize, size)
    if factors == (1, 1):
        return img
    prepare = None
    if img.mode == "P":  # indices cannot be averaged: colours first (transparency kept for to_rgb)
        mode = "RGBA" if "transparency" in img.info else "RGB"
        prepare = lambda strip: strip.convert(mode)  # noqa: E731
    elif img.mode == "1":
        prepare = lambda strip: strip.convert("L")  # noqa: E731
    try:
        if prepare is None and img.mode not in ("RGBA", "LA"):
            return img.reduce(factors)
        return reduce_in_strips(img, factors, prepare)
    except (ValueError, OSError):  # a mode `reduce` does not take (16-bit greyscale...): 8-bit RGB first
        return to_rgb(img).reduce(factors)


def reduce_in_strips(img: Image.Image, factors: tuple[int, int], prepare=None) -> Image.Image:
    """`img.reduce(factors)` (after `prepare`, a per-pixel conversion), a band of rows at a time: Pillow
    reduces RGBA and LA through a premultiplied copy of the whole frame, and a palette frame needs a
    converted copy; band by band the copies are STRIP_BYTES each. Bands start at multiples of the row
    factor, so every block averages the same pixels and the result is the same, pixel for pixel."""
    width, height = img.size
    fx, fy = factors
    rows = max(fy, STRIP_BYTES // (4 * width) // fy * fy)
    out = None
    for top in range(0, height, rows):
        strip = img.crop((0, top, width, min(height, top + rows)))
        part = (prepare(strip) if prepare is not None else strip).reduce(factors)
        if out is None:
            out = Image.new(part.mode, ((width + fx - 1) // fx, (height + fy - 1) // fy))
        out.paste(part, (0, top // fy))
    return out


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
    if new_w * new_h > 16 * shorter * shorter:  # a thin strip: never build the huge intermediate
        left, top = (new_w - size) // 2, (new_h - size) // 2
        box = (left / scale, top / scale, min(width, (left + size) / scale), min(height, (top + size) / scale))
        return img.resize((size, size), Image.Resampling.BILINEAR, box=box)
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
    arr = np.asarray(img).astype(np.float32)  # [H,W,3]; the uint8 buffer first: PIL's float path is slower
    arr -= mean  # in place, the same float32 arithmetic as (arr - mean) / std
    arr /= std
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def preprocess(data: bytes, norm: str = DEFAULT_NORM, resize: str = DEFAULT_RESIZE, size: int = INPUT_SIZE,
               limits: ImageLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Image bytes -> model input float32 [3,size,size] (image.json input.size, 224 unless it says
    otherwise); raises InvalidImage / ImageTooLarge."""
    large = (p := probe(data, limits)) is not None and p.decode_pixels >= RELEASE_AFTER_PIXELS
    try:
        img = open_image(data, limits, fit=(resize, limits.shorter if resize == "crop" else size))
        resized = resize_crop(img, size, limits.shorter) if resize == "crop" else RESIZERS[resize](img, size=size)
        return normalise(resized, norm)
    finally:
        if large:
            img = resized = None
            release_memory()


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
