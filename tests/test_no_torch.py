"""Serving never needs torch: importing every runtime module in a fresh interpreter leaves it out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = ("inference", "extension_api", "bots")

IMPORT_ALL = """
import importlib, json, pkgutil, sys
errors, imported = {}, []
for package_name in %r:
    try:
        package = importlib.import_module(package_name)
    except ModuleNotFoundError as exc:
        if exc.name == package_name:
            continue  # that package does not exist (yet)
        raise
    imported.append(package_name)
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except Exception as exc:
            errors[info.name] = f"{type(exc).__name__}: {exc}"
heavy = sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.", "export.")) or m == "export")
print(json.dumps({"imported": imported, "errors": errors, "heavy": heavy}))
"""


def test_runtime_modules_import_without_torch():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL % (RUNTIME_PACKAGES,)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "inference.runtime.generator" in report["imported"]
    assert report["errors"] == {}, report["errors"]
    assert report["heavy"] == [], f"runtime modules imported {report['heavy']}"
