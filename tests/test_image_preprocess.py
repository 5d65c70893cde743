"""Image preprocessing: every bad-image case, odd modes, EXIF, and train == serve."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference.runtime.image_preprocess import (
    INPUT_SIZE,
    MAX_IMAGE_BYTES,
    ImageTooLarge,
    InvalidImage,
    normalise,
    open_image,
    preprocess,
    resize_crop,
)


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def centre_pixel(data: bytes) -> tuple[int, ...]:
    img = open_image(data)
    return img.getpixel((img.width // 2, img.height // 2))


def test_preprocess_gives_a_normalised_chw_float_array():
    x = preprocess(encode(Image.new("RGB", (640, 480), (255, 127, 0)), "JPEG", quality=95))
    assert x.shape == (3, INPUT_SIZE, INPUT_SIZE) and x.dtype == np.float32
    assert x[0].mean() == pytest.approx(1.0, abs=0.03) and abs(x[1].mean()) < 0.03 and x[2].mean() < -0.95


def test_training_uses_the_serving_preprocessing():
    import export.train_image as train

    assert train.open_image is open_image and train.resize_crop is resize_crop and train.normalise is normalise
    data = encode(Image.effect_noise((333, 250), 60).convert("RGB"), "JPEG")
    np.testing.assert_array_equal(normalise(resize_crop(open_image(data))), preprocess(data))


def test_preprocess_resizes_to_the_input_size_a_folder_asks_for():
    data = encode(Image.new("RGB", (640, 480), (0, 255, 0)), "JPEG")
    assert preprocess(data, resize="squash", size=288).shape == (3, 288, 288)
    assert preprocess(data, resize="crop", size=288).shape == (3, 288, 288)


def test_small_and_portrait_images_are_resized_and_centre_cropped():
    tall = Image.new("RGB", (128, 192), (0, 0, 255))
    tall.paste((255, 0, 0), (0, 0, 128, 20))  # a red band at the top is cropped away
    crop = resize_crop(open_image(encode(tall)))
    assert crop.size == (INPUT_SIZE, INPUT_SIZE)
    assert crop.getpixel((112, 0))[0] < 50


def test_not_an_image_is_invalid():
    with pytest.raises(InvalidImage, match="not an image"):
        preprocess(b"<html>hello</html>")


def test_empty_bytes_are_invalid():
    with pytest.raises(InvalidImage):
        preprocess(b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_invalid(fmt):
    data = encode(Image.effect_noise((400, 300), 80).convert("RGB"), fmt)
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        preprocess(data[: len(data) // 2])


def test_over_ten_megabytes_is_refused_before_decoding():
    with pytest.raises(ImageTooLarge) as info:
        preprocess(b"\xff\xd8" + b"\0" * MAX_IMAGE_BYTES)
    assert info.value.status == 413


def test_decompression_bomb_is_refused_from_the_header():
    bomb = encode(Image.new("1", (10_000, 6_000)))  # 60 Mpx in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(ImageTooLarge, match="pixels"):
        preprocess(bomb)


def test_animated_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    r, g, b = centre_pixel(out.getvalue())
    assert r > 200 and b < 50


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # red in CMYK
    r, g, b = centre_pixel(encode(cmyk, "JPEG"))
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_greyscale_is_scaled_to_eight_bits():
    arr = np.full((64, 64), 65535 // 2, dtype=np.uint16)
    data = encode(Image.fromarray(arr))  # mode I;16 (PNG keeps 16 bits)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    pixel = centre_pixel(data)
    assert len(pixel) == 3 and 120 <= pixel[0] <= 135 and pixel[0] == pixel[1] == pixel[2]
    assert preprocess(data).shape == (3, INPUT_SIZE, INPUT_SIZE)


def test_palette_with_transparency_is_composited_on_white():
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.info["transparency"] = 0
    assert centre_pixel(encode(img, "PNG", transparency=0)) == (255, 255, 255)


def test_rgba_transparent_pixels_become_white():
    img = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    assert centre_pixel(encode(img)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (80, 40), (0, 255, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    rotated = open_image(encode(img, "JPEG", exif=exif.tobytes()))
    assert rotated.size == (40, 80)


def test_image_errors_are_service_errors_with_4xx_status():
    from inference.server.errors import ServiceError

    assert issubclass(InvalidImage, ServiceError) and InvalidImage.status == 400
    assert issubclass(ImageTooLarge, ServiceError) and ImageTooLarge.status == 413


def test_reduce_in_strips_is_reduce_pixel_for_pixel(monkeypatch):
    """RGBA/LA/palette frames are reduced a band at a time (no full-size premultiplied or converted
    copy); the bands start at multiples of the row factor, so the pixels are reduce's own."""
    import inference.runtime.image_preprocess as ip
    from PIL import Image

    monkeypatch.setattr(ip, "STRIP_BYTES", 32 * 1024)
    rng = np.random.default_rng(0)
    rgba = Image.fromarray(rng.integers(0, 256, (501, 333, 4), dtype=np.uint8), "RGBA")
    palette = Image.fromarray(rng.integers(0, 256, (501, 333, 3), dtype=np.uint8), "RGB").quantize(32)
    palette.info["transparency"] = 3
    for factors in ((2, 2), (3, 7), (1, 4), (5, 1)):
        for img, prepare, reference in (
            (rgba, None, rgba), (rgba.convert("LA"), None, rgba.convert("LA")),
            (palette, lambda s: s.convert("RGBA"), palette.convert("RGBA")),
        ):
            got, want = ip.reduce_in_strips(img, factors, prepare), reference.reduce(factors)
            assert got.mode == want.mode and got.size == want.size
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_large_frames_are_decoded_one_at_a_time(monkeypatch):
    import threading

    import inference.runtime.image_preprocess as ip

    inside, most, lock = [0], [0], threading.Lock()
    real_finish = ip._finish

    def finish(img, fit):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            threading.Event().wait(0.05)
            return real_finish(img, fit)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(ip, "_finish", finish)
    monkeypatch.setattr(ip, "LARGE_DECODE_PIXELS", 100 * 100)
    data = encode(Image.new("RGBA", (300, 200), (10, 20, 30, 40)), "PNG")
    threads = [threading.Thread(target=ip.preprocess, args=(data,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
