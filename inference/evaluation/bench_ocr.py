"""OCR of text inside photos: accuracy on a rendered set, false text on photos without text, time.

    python -m inference.evaluation.bench_ocr [--threads 1] [--repeat 3] [--photos 12]

The rendered set (posters, a menu, a meme caption, signs, a tweet screenshot, a slide; English and
Chinese; several fonts, sizes, colours, backgrounds, slight rotation) is made by this command with
Pillow, the same every run. Chinese samples need a CJK font (Debian's fonts-wqy-microhei or
fonts-noto-cjk); without one they are left out and the command says so. Photos without text are
the first --photos of /work/shared/data/corel5k/images (or $TAGSMITH_OCR_PHOTOS; scaled up to
1024 pixels on the longer side, as a phone upload would be) plus
scikit-image's sample photos where that package is installed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
CJK_FONTS = ("wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "DroidSansFallbackFull.ttf")
DEFAULT_PHOTOS = Path("/work/shared/data/corel5k/images")
PHOTO_SIDE = 1024  # corel5k photos are read at this longer side
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "brick", "grass", "gravel", "hubble_deep_field")


@dataclass(frozen=True)
class Line:
    text: str
    font: str  # a font file name (searched under FONT_ROOTS) or "cjk"
    size: int
    fill: tuple[int, int, int]
    stroke: int = 0  # black outline width (meme captions)


@dataclass(frozen=True)
class Sample:
    name: str
    size: tuple[int, int]
    background: str  # "photo:<seed>", "gradient:<r,g,b>-<r,g,b>" or "#rrggbb"
    lines: tuple[Line, ...]
    rotate: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def chinese(self) -> bool:
        return any(line.font == "cjk" for line in self.lines)


W, K, GREY = (255, 255, 255), (0, 0, 0), (110, 110, 110)
SANS_B, SERIF, SANS = "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "LiberationSans-Regular.ttf"
SAMPLES = (
    Sample("poster", (800, 1000), "#c0282d", (Line("GREAT NORTH", SANS_B, 90, W), Line("RUN 2026", SANS_B, 110, W))),
    Sample("menu", (600, 800), "#f4ead5", (Line("MENU", SERIF, 64, (70, 40, 20)), Line("Coffee 3.50", SERIF, 38, (70, 40, 20)),
                                           Line("Croissant 2.80", SERIF, 38, (70, 40, 20)), Line("Avocado Toast 7.00", SERIF, 38, (70, 40, 20)))),
    Sample("meme", (800, 600), "photo:1", (Line("WHEN THE BUILD PASSES", SANS_B, 46, W, 3), Line("ON THE FIRST TRY", SANS_B, 46, W, 3))),
    Sample("sign_zh", (700, 300), "#1d4e9e", (Line("北京欢迎你", "cjk", 96, W),)),
    Sample("tweet", (900, 400), "#ffffff", (Line("Jane Doe @janedoe", "DejaVuSans-Bold.ttf", 26, K),
                                            Line("Just finished my first marathon in London", "DejaVuSans.ttf", 28, K),
                                            Line("#running #london", "DejaVuSans.ttf", 28, (29, 155, 240)),
                                            Line("10:42 AM Apr 26 2026", "DejaVuSans.ttf", 20, GREY))),
    Sample("slide", (1280, 720), "gradient:20,40,90-5,10,30", (Line("Quarterly Results", SANS_B, 72, W),
                                                                Line("Revenue up 12 percent", SANS, 42, (210, 210, 220)),
                                                                Line("New stores in Leeds and York", SANS, 42, (210, 210, 220)))),
    Sample("street_sign", (900, 500), "#1f6b3a", (Line("Oxford Street", "LiberationSerif-Bold.ttf", 84, W),), rotate=4.0),
    Sample("menu_zh", (600, 500), "#fff8e7", (Line("牛肉面 25元", "cjk", 54, (150, 20, 20)), Line("炒饭 18元", "cjk", 54, (150, 20, 20)),
                                              Line("绿茶 8元", "cjk", 54, (150, 20, 20)))),
    Sample("sale", (1000, 700), "photo:2", (Line("SUMMER SALE", SANS_B, 96, (255, 220, 0), 4), Line("50% OFF", SANS_B, 110, (255, 220, 0), 4)), rotate=-3.0),
    Sample("opening_hours", (640, 480), "#e6e6e6", (Line("Open daily 9am to 6pm", SANS, 24, (40, 40, 40)),)),
    Sample("birthday", (800, 500), "gradient:255,240,245-255,210,225", (Line("Happy Birthday Anna", "DejaVuSerif-BoldItalic.ttf", 58, (200, 30, 110)),)),
    Sample("no_smoking", (600, 600), "#ffffff", (Line("禁止吸烟", "cjk", 90, (200, 0, 0)), Line("No Smoking", "LiberationMono-Bold.ttf", 60, (200, 0, 0)))),
)


def find_font(name: str) -> Path | None:
    """The first font file called `name` under the system font folders (a CJK one for "cjk")."""
    names = CJK_FONTS if name == "cjk" else (name,)
    for wanted in names:
        for root in FONT_ROOTS:
            hits = sorted(root.rglob(wanted)) if root.is_dir() else []
            if hits:
                return hits[0]
    return None


def _background(spec: str, size: tuple[int, int]) -> Image.Image:
    if spec.startswith("photo:"):  # smooth random colour fields: photo-like, no edges that read as text
        rng = np.random.default_rng(int(spec[6:]))
        small = rng.integers(30, 225, (6, 8, 3), dtype=np.uint8)
        return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    if spec.startswith("gradient:"):
        top, bottom = (np.array([int(v) for v in part.split(",")], np.float32) for part in spec[9:].split("-"))
        t = np.linspace(0.0, 1.0, size[1], dtype=np.float32)[:, None, None]
        column = (top * (1 - t) + bottom * t).astype(np.uint8)
        return Image.fromarray(np.repeat(column, size[0], axis=1))
    return Image.new("RGB", size, spec)


def render(sample: Sample) -> Image.Image:
    """The sample as an RGB photo: its lines centred one under another on its background."""
    image = _background(sample.background, sample.size)
    draw = ImageDraw.Draw(image)
    fonts = [ImageFont.truetype(str(find_font(line.font)), line.size) for line in sample.lines]
    boxes = [draw.textbbox((0, 0), line.text, font=font, stroke_width=line.stroke) for line, font in zip(sample.lines, fonts)]
    gap = 0.45
    heights = [box[3] - box[1] for box in boxes]
    y = (sample.size[1] - sum(heights) - gap * sum(heights[1:])) / 2
    for line, font, box, height in zip(sample.lines, fonts, boxes, heights):
        x = (sample.size[0] - (box[2] - box[0])) / 2
        draw.text((x - box[0], y - box[1]), line.text, font=font, fill=line.fill, stroke_width=line.stroke, stroke_fill=K)
        y += height * (1 + gap)
    if sample.rotate:
        image = image.rotate(sample.rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    return image


def rendered_set() -> tuple[list[tuple[Sample, Image.Image]], list[str]]:
    """(sample, photo) for every sample whose fonts are here, and the names of those left out."""
    made, skipped = [], []
    for sample in SAMPLES:
        if all(find_font(line.font) for line in sample.lines):
            made.append((sample, render(sample)))
        else:
            skipped.append(sample.name)
    return made, skipped


def no_text_photos(limit: int) -> list[tuple[str, Image.Image]]:
    """Real photos without text: corel5k's first `limit` (sorted names) and scikit-image's samples."""
    folder = Path(os.environ.get("TAGSMITH_OCR_PHOTOS", DEFAULT_PHOTOS))
    photos = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.jp*g"))[:limit]:
            photo = Image.open(path).convert("RGB")  # corel5k's are 192x128: scaled to a phone upload's size
            scale = PHOTO_SIDE / max(photo.size)
            photos.append((path.name, photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BICUBIC)))
    try:
        from skimage import data
    except ImportError:
        return photos
    for name in SKIMAGE_PHOTOS:
        photos.append((name, Image.fromarray(np.asarray(getattr(data, name)())).convert("RGB")))
    return photos


def tokens(text: str) -> list[str]:
    """Lower-case Latin words and numbers, and single Han characters (Chinese has no spaces)."""
    return re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", text.lower())


def word_accuracy(expected: str, found: str) -> float:
    """Share of the expected words (Han: characters) that the reading has, counted with multiplicity."""
    want, got = Counter(tokens(expected)), Counter(tokens(found))
    return sum((want & got).values()) / max(1, sum(want.values()))


def char_error_rate(expected: str, found: str) -> float:
    """Levenshtein distance over the expected length, spaces and line breaks ignored, case folded."""
    a, b = re.sub(r"\s+", "", expected.lower()), re.sub(r"\s+", "", found.lower())
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[len(b)] / max(1, len(a))


def measure(read: Callable[[Image.Image], str], texts, photos, repeat: int = 3) -> dict:
    """Accuracy, false text and per-photo milliseconds (each photo read `repeat` times, after one
    warm-up read) of `read(image) -> text` on the rendered set and on photos without text."""
    import time

    def timed(image):
        read(image)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            out = read(image)
            times.append((time.perf_counter() - start) * 1000)
        return out, times

    result = {"per_sample": [], "text_ms": [], "photo_ms": [], "false": []}
    for sample, image in texts:
        found, times = timed(image)
        result["text_ms"] += times
        result["per_sample"].append((sample.name, word_accuracy(sample.text, found), char_error_rate(sample.text, found), found))
    for name, image in photos:
        found, times = timed(image)
        result["photo_ms"] += times
        if found.strip():
            result["false"].append((name, found))
    return result


def summary(result: dict, photo_count: int) -> str:
    """One line: word accuracy, CER, false-text photos, p50/p90 ms with and without text."""
    acc = np.mean([s[1] for s in result["per_sample"]])
    cer = np.mean([s[2] for s in result["per_sample"]])
    t, p = np.array(result["text_ms"]), np.array(result["photo_ms"] or [0.0])
    return (f"word acc {acc:.3f}  CER {cer:.3f}  false text {len(result['false'])}/{photo_count}  "
            f"text p50 {np.percentile(t, 50):.1f} p90 {np.percentile(t, 90):.1f} ms  "
            f"no-text p50 {np.percentile(p, 50):.1f} p90 {np.percentile(p, 90):.1f} ms")


def tagger_ms(photos, providers, threads: int, repeat: int) -> list[float]:
    """The shipped image tagger's milliseconds (decode + run) on the same photos, as JPEG bytes: a
    yardstick measured in the same run, for a loaded machine. Empty without the model folder."""
    import io
    import time

    folder = Path(__file__).resolve().parent.parent / "models" / "image"
    if not (folder / "tagger.onnx").is_file():
        return []
    from inference.runtime.image_tagger import ImageTagger
    from inference.runtime.model_folder import InvalidModelFolder

    try:
        tagger, times = ImageTagger(folder, providers=providers, threads=threads), []
    except (InvalidModelFolder, OSError, ValueError) as exc:
        print(f"no yardstick: the image model does not load ({exc})")
        return []
    for _, image in photos:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
        tagger.run([tagger.preprocess(out.getvalue())])
        for _ in range(repeat):
            start = time.perf_counter()
            tagger.run([tagger.preprocess(out.getvalue())])
            times.append((time.perf_counter() - start) * 1000)
    return times


def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def bench(argv: list[str] | None = None) -> None:
    """Accuracy and time of inference.runtime.ocr.OcrReader on the rendered set and real photos."""
    import argparse

    from inference.runtime.ocr import OcrReader

    parser = argparse.ArgumentParser(prog="python -m inference.evaluation.bench_ocr", description=bench.__doc__)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--repeat", type=int, default=3, help="timed reads per photo (after one warm-up)")
    parser.add_argument("--photos", type=int, default=12, help="corel5k photos without text")
    parser.add_argument("--folder", help="an OCR folder (default: the shipped inference/models/ocr; python -m export.ocr_folder "
                        "--model writes others)")
    parser.add_argument("--providers", help="comma-separated onnxruntime providers (default: probed)")
    parser.add_argument("--gate-side", type=int, help="the first detector pass's longer side (default: ocr.GATE_SIDE)")
    parser.add_argument("--detect-side", type=int, help="the second pass's longer side (default: ocr.DETECT_SIDE)")
    parser.add_argument("--reuse-height", type=int, help="gate boxes at least this tall skip the second pass (default: ocr.REUSE_HEIGHT)")
    parser.add_argument("--jpeg", type=int, metavar="QUALITY", help="read each photo as JPEG bytes of this quality, as the "
                        "service does (the gate's decode at reduced DCT scale), instead of as a decoded image")
    parser.add_argument("--verbose", action="store_true", help="print every sample's reading")
    args = parser.parse_args(argv)

    providers = args.providers.split(",") if args.providers else None
    reader = OcrReader.load(args.folder, providers=providers, threads=args.threads)
    reader.gate_side = args.gate_side or reader.gate_side
    reader.detect_side = args.detect_side or reader.detect_side
    reader.reuse_height = args.reuse_height if args.reuse_height is not None else reader.reuse_height
    texts, skipped = rendered_set()
    photos = no_text_photos(args.photos)
    if skipped:
        print(f"left out for want of a font: {', '.join(skipped)}")
    gated = set()  # photos without text on which the gate let recognition run (its cost, not a false text)

    def read(image):
        found = reader.read(jpeg_bytes(image, args.jpeg) if args.jpeg else image)
        if found.ran_recognition:
            gated.add(id(image))
        return found.text

    result = measure(read, texts, photos, args.repeat)
    for name, acc, cer, found in result["per_sample"]:
        print(f"  {name:14s} word acc {acc:.2f}  CER {cer:.2f}" + (f"  {found!r}" if args.verbose else ""))
    for name, found in result["false"]:
        print(f"  false text on {name}: {found!r}")
    print(f"{len(texts)} rendered photos, {len(photos)} photos without text, read as "
          f"{f'JPEG bytes (quality {args.jpeg})' if args.jpeg else 'decoded images'}, threads {args.threads}, "
          f"detector sides {reader.gate_side}/{reader.detect_side} (gate boxes >= {reader.reuse_height} px read as they are), providers {reader.providers}, model {reader.model_id}")
    print(summary(result, len(photos)) + f"  recognition ran on {sum(id(p) in gated for _, p in photos)}/{len(photos)} without text")
    reference = tagger_ms(photos, reader.providers, args.threads, args.repeat)
    if reference:
        p50 = float(np.percentile(reference, 50))
        print(f"yardstick, same run: the image tagger p50 {p50:.1f} ms on the photos without text; OCR p50 over it: "
              f"no text {np.percentile(result['photo_ms'], 50) / p50:.2f}x, text {np.percentile(result['text_ms'], 50) / p50:.2f}x")


if __name__ == "__main__":
    bench()
