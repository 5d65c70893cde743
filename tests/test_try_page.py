"""The try page at / in a real Chromium against the real `tagsmith serve` (an API key, the small fixture
text models and a tiny image tagger): key box after a 401, chips to copy or add, a photo picked or
dropped, the platforms' limits, the relevance floor's short list, a phone's width, no external request.
tests/browser/try_page_test.mjs does the clicking; screenshots are saved under the test's tmp dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from extension_api.bench_extension import CHROMIUM, running_server
from service_fixtures import write_models_dir
from test_browser_extension import DRIVER, _run, browser_tools, node_tools  # noqa: F401 (fixtures)
from test_image_service import BLUE, RED, write_tiny_tagger

STATIC = Path(__file__).resolve().parents[1] / "inference" / "server" / "static"


def test_the_page_loads_nothing_from_outside_the_server():
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "//cdn" not in page


def test_try_page_suggests_copies_adds_and_tags_photos_in_chromium(browser_tools, tmp_path):
    models = write_models_dir(tmp_path / "models")
    write_tiny_tagger(models / "image")
    (tmp_path / "red.jpg").write_bytes(RED)
    (tmp_path / "blue.jpg").write_bytes(BLUE)
    out_dir = tmp_path / "browser-output"
    with running_server(models, tmp_path / "data", tmp_path) as (base_url, key):
        env = {**os.environ, "TAGSMITH_URL": base_url, "TAGSMITH_KEY": key, "OUT_DIR": str(out_dir), "CHROMIUM": CHROMIUM,
               "RED_JPG": str(tmp_path / "red.jpg"), "BLUE_JPG": str(tmp_path / "blue.jpg")}
        result = _run(["node", "try_page_test.mjs"], 150, cwd=DRIVER, env=env)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    print(f"screenshots: {out_dir}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (out_dir / "try_page.png").stat().st_size > 10_000
    assert (out_dir / "try_page_phone.png").stat().st_size > 10_000
