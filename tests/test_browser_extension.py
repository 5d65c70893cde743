"""The browser extension in a real browser: Debian's Chromium (new headless mode, the unpacked extension
loaded) driven by playwright-core against the real `tagsmith serve` with an API key and a retrieval-only
model folder. tests/browser/extension_test.mjs does the clicking and typing; this file installs what
it needs (chromium via apt-get when missing and root, `npm ci`), starts the server, runs the script,
and checks the feedback rows it caused in SQLite. It skips, printing why, only when the browser
(or Node, which drives it) cannot be installed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from extension_api.bench_extension import CHROMIUM, running_server
from inference.server.store import DB_FILENAME
from service_fixtures import write_models_dir

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "browser"


def _skip(reason: str):
    print(f"SKIP browser extension test: {reason}", file=sys.stderr)
    pytest.skip(reason)


def _run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def node_tools() -> None:
    """The driver's node_modules (playwright-core, web-ext), installed with `npm ci` when missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _skip("node/npm are not installed (they drive the browser)")
    if not all((DRIVER / "node_modules" / name).exists() for name in ("playwright-core", "web-ext")):
        result = _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], 300, cwd=DRIVER)
        if result.returncode != 0:
            _skip(f"npm ci in tests/browser failed: {result.stderr.strip()[-500:]}")


@pytest.fixture(scope="module")
def browser_tools(node_tools) -> None:
    """Chromium at /usr/bin/chromium, installed when missing."""
    if not Path(CHROMIUM).exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            _skip(f"{CHROMIUM} is missing and apt-get cannot install it here (not root or no apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            _run(["apt-get", "update", "-qq"], 300, env=env)
            result = _run(["apt-get", "install", "-y", "-qq", "chromium"], 600, env=env)
        except subprocess.TimeoutExpired:
            _skip("apt-get install chromium timed out")
        if result.returncode != 0 or not Path(CHROMIUM).exists():
            _skip(f"apt-get install chromium failed: {result.stderr.strip()[-500:]}")


def test_extension_passes_mozillas_addons_linter_for_firefox(node_tools):
    """`web-ext lint`: what Firefox checks when it loads an extension; no errors allowed."""
    extension = ROOT / "extension_api" / "extension"
    result = _run([str(DRIVER / "node_modules" / ".bin" / "web-ext"), "lint", "--source-dir", str(extension), "--output", "json"], 180)
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["summary"]["errors"] == 0, report["errors"]


def test_extension_suggests_inserts_and_sends_feedback_in_chromium(browser_tools, tmp_path):
    models = write_models_dir(tmp_path / "models")
    data_dir = tmp_path / "data"
    out_dir = tmp_path / "browser-output"
    with running_server(models, data_dir, tmp_path) as (base_url, key):
        env = {**os.environ, "TAGSMITH_URL": base_url, "TAGSMITH_KEY": key, "OUT_DIR": str(out_dir), "CHROMIUM": CHROMIUM}
        result = _run(["node", "extension_test.mjs"], 150, cwd=DRIVER, env=env)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    print(f"screenshots: {out_dir}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (out_dir / "chips.png").stat().st_size > 1000

    with sqlite3.connect(data_dir / DB_FILENAME) as db:
        rows = db.execute("SELECT tag, action, client, text_hash FROM feedback ORDER BY id").fetchall()
    accepted = [tag for tag, action, *_ in rows if action == "accepted"]
    typed = [tag for tag, action, *_ in rows if action == "typed"]
    assert "aus open" in accepted, rows  # the completed "#au" -> #AusOpen, stored as the words suggested
    assert len(accepted) == 2, rows  # the Enter-inserted chip and the completion; the capped chip inserted nothing
    assert "tennis fans" in typed, rows  # "#tennisfans" typed by hand
    assert "tennis" not in typed, rows  # an inserted chip is never reported as typed
    assert all(client.startswith("tagsmith-extension/") for _, _, client, _ in rows)
    assert all(len(text_hash) == 64 for *_, text_hash in rows)  # SHA-256 of the text, never the text
