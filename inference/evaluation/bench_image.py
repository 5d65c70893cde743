"""Image request latency through the real service, and where one photo's CPU goes.

    python -m inference.evaluation.bench_image --requests 100 [--image photo.jpg] [--text-image sign.jpg] [--threads 2] [--full]

One server, two photos in the same run: one without text (OCR stops after its detector gate) and
one with text (OCR reads it; with --full the text path then grounds tags on the words). Both
default to generated 1024x768 JPEGs. The machine may be shared: the load average is printed before
and after, and the server's CPU per request beside the latencies. The server is `tagsmith serve` in a
process of its own, with the settings it is deployed with; this process is only the client.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inference.runtime.image_tagger import ImageTagger

MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS / "image"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def photo_without_text() -> bytes:
    rng = np.random.default_rng(0)
    small = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).resize((1024, 768), Image.Resampling.BICUBIC)
    return jpeg(small)


def photo_with_text() -> bytes:
    """A poster-like photo: two lines of white words on a smooth colour field."""
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(40, 200, (6, 8, 3), dtype=np.uint8)).resize((1024, 768), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 96) if FONT.is_file() else ImageFont.load_default(size=96)
    for y, line in ((230, "GREAT NORTH"), (400, "RUN 2026")):
        draw.text((90, y), line, font=font, fill=(255, 255, 255), stroke_width=3, stroke_fill=(0, 0, 0))
    return jpeg(image)


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def models_folder(tmp: str, model: str, full: bool) -> Path:
    """The shipped models (--full), or the image model and the OCR folder alone."""
    if full:
        return MODELS
    os.symlink(Path(model).resolve(), Path(tmp) / "image")
    if (MODELS / "ocr").is_dir():
        os.symlink(MODELS / "ocr", Path(tmp) / "ocr")
    return Path(tmp)


def serve_and_time(models_dir: Path, threads: int, photos: dict[str, bytes], requests: int) -> dict:
    """Per photo: sorted latencies (ms), the server's CPU ms per request, and its last answer. The server
    is `tagsmith serve` in a process of its own, as deployed (its BLAS threads, GIL hand-over interval and
    malloc settings; `bench_serve.start_server`); this process is only the client."""
    import argparse
    import asyncio
    import tempfile

    from inference.evaluation.bench_serve import _cpu_seconds, _free_port, start_server

    port = _free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        log_path = Path(data_dir) / "server.log"
        args = argparse.Namespace(data_dir=data_dir, max_batch_size=32, max_wait_ms=0.0, max_queue=256, threads=2,
                                  ort_threads=threads, models=str(models_dir))
        proc, _ = start_server(args, port, log_path)
        try:
            return asyncio.run(_time_requests(f"http://127.0.0.1:{port}", photos, requests, lambda: _cpu_seconds(proc.pid)))
        finally:
            proc.terminate()
            proc.wait(10)


async def _time_requests(base: str, photos: dict[str, bytes], requests: int, server_cpu) -> dict:
    """One request at a time per photo, the first five not counted (they warm caches)."""
    import base64
    import time

    from aiohttp import ClientSession

    out = {}
    async with ClientSession(base) as session:
        for name, data in photos.items():
            body = {"image": base64.b64encode(data).decode(), "k": 10}
            times, cpu0, answer = [], 0.0, {}
            for i in range(requests + 5):
                if i == 5:
                    cpu0 = server_cpu()
                start = time.perf_counter()
                async with session.post("/v1/suggest", json=body) as response:
                    assert response.status == 200, await response.text()
                    answer = await response.json()
                if i >= 5:
                    times.append((time.perf_counter() - start) * 1000)
            out[name] = (sorted(times), (server_cpu() - cpu0) * 1000 / requests, answer)
    return out


def bench(argv: list[str] | None = None) -> None:
    """Image requests through the real service (aiohttp on 127.0.0.1; the shipped image model and
    OCR folder, or every shipped model with --full), one at a time: latency percentiles of POST
    /v1/suggest with a base64 JPEG, for a photo without text and one with text."""
    import argparse
    import statistics
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m inference.evaluation.bench_image", description=bench.__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--image", help="a photo without text (default: a generated 1024x768 JPEG)")
    parser.add_argument("--text-image", help="a photo with text (default: a generated 1024x768 poster JPEG)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (tagsmith serve's --ort-threads, default 1)")
    parser.add_argument("--full", action="store_true", help="every shipped model: the text path reads the photo's words")
    args = parser.parse_args(argv)

    photos = {"no text": Path(args.image).read_bytes() if args.image else photo_without_text(),
              "text": Path(args.text_image).read_bytes() if args.text_image else photo_with_text()}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        found = serve_and_time(models_folder(tmp, args.model, args.full), args.threads, photos, args.requests)
    load_after = os.getloadavg()[0]
    from inference.runtime.ocr import ENV_SWITCH, ocr_enabled

    ocr = "OCR" if ocr_enabled() else f"OCR off ({ENV_SWITCH})"
    print(f"{'every shipped model' if args.full else 'image model'} + {ocr}, {args.requests} sequential requests per photo, "
          f"ort threads {args.threads}; load average {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores")
    for name, (times, cpu, answer) in found.items():
        q = statistics.quantiles(times, n=100)
        print(f"  photo {name:7s} ({len(photos[name]) / 1024:.0f} kB JPEG): p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, "
              f"mean {statistics.mean(times):.1f} ms; server CPU {cpu:.1f} ms/request; ocr_text {answer.get('ocr_text')!r}; "
              f"tags {' '.join(s['tag'] for s in answer['suggestions'][:5])}")
    print("CPU ms per photo: " + stage_costs(args.model, args.threads, photos))


def stage_costs(model: str, threads: int, photos: dict[str, bytes]) -> str:
    """Where the CPU goes, stage by stage, in this process (no server): the tagger's and OCR's."""
    import time

    tagger = ImageTagger(model, providers=["CPUExecutionProvider"], threads=threads)
    pixels = tagger.preprocess(photos["no text"])
    outputs = tagger.run([pixels])
    stages = {"decode+resize+normalise": lambda: tagger.preprocess(photos["no text"]), "onnx graph": lambda: tagger.run([pixels]),
              "kNN+fusion": lambda: _post(tagger, pixels, outputs)}
    if (MODELS / "ocr").is_dir():
        from inference.runtime.ocr import OcrReader

        reader = OcrReader.load(MODELS / "ocr", ["CPUExecutionProvider"], threads)
        stages["OCR no text (gate)"] = lambda: reader.read(photos["no text"])
        stages["OCR text (gate+read)"] = lambda: reader.read(photos["text"])
    parts = []
    for name, fn in stages.items():
        fn()
        start = time.process_time()
        for _ in range(20):
            fn()
        parts.append(f"{name} {(time.process_time() - start) * 1000 / 20:.1f}")
    return ", ".join(parts)


def _post(tagger: "ImageTagger", pixels: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
    """tag_arrays' work after the ONNX run (for the benchmark's breakdown)."""
    tagger.vocab_scores(outputs, pixels[None])
    probs = np.zeros((1, 1000), dtype=np.float32)
    np.asarray((tagger._imagenet_matrix.T @ probs.T).T)


if __name__ == "__main__":
    bench()
