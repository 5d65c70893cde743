"""Image request latency through the real service, and where one photo's CPU goes.

    python -m inference.evaluation.bench_image --requests 100 [--image photo.jpg] [--threads 2]
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from inference.runtime.image_tagger import ImageTagger

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "image"


def bench(argv: list[str] | None = None) -> None:
    """Image requests through the real service (aiohttp on 127.0.0.1, the shipped image model
    only), one at a time: latency percentiles of POST /v1/suggest with a base64 JPEG."""
    import argparse
    import asyncio
    import base64
    import os
    import statistics
    import tempfile
    import time

    parser = argparse.ArgumentParser(prog="python -m inference.evaluation.bench_image", description=bench.__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
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
    bench()
