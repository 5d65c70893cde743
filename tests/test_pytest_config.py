"""The test run's summary shows why a test was skipped, and not the dependencies' known warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = '''
import warnings
import pytest

def test_skipped_for_a_reason():
    pytest.skip("chromium is not installed here")

def test_with_known_noise():
    warnings.warn("'audioop' is deprecated and slated for removal in Python 3.13", DeprecationWarning)
    warnings.warn("You are using the legacy TorchScript-based ONNX export. Starting in PyTorch 2.9", DeprecationWarning)
    warnings.warn("Constant folding - Only steps=1 can be constant folded for opset >= 10 onnx::Slice op.", UserWarning)

def test_with_a_new_warning():
    warnings.warn("something tagsmith should look at", UserWarning)
'''


def test_a_skip_shows_its_reason_and_only_unknown_warnings_are_reported(tmp_path):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
                           "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "SKIPPED" in done.stdout and "chromium is not installed here" in done.stdout
    assert "something tagsmith should look at" in done.stdout and "1 warning" in done.stdout
    for noise in ("audioop", "TorchScript", "Constant folding"):
        assert noise not in done.stdout
