"""A service's first start on an install: its caches built in child processes, not in the server.

The first load of an install builds the sentence encoder's graph and the derived arrays into the cache
folder (inference.text.segment_data.cache_dir). The server process that builds them keeps about 200 MB
more RSS while it serves than one that reads them back (the build's freed heap is not all returned to the
OS): docs/performance.md. So `tagsmith serve` first asks `is_warm`; when the caches are not known to be
built for this install, child processes (`python -m inference.runtime.first_start`) build them, one
language folder each, then one loads the whole set as the server will, records a stamp and exits; the
server then reads everything back. A child failing (a read-only cache folder, say) only means the
server builds in-process, as before.

The stamp (`warm-<key>.json` in the cache folder) names every file the cache held after the load; its key
is a digest of what the caches derive from: the model folder's files and the runtime package's (code,
data, shipped models: paths, sizes and modification times), the encoder wheel's version, the providers and the encoder's precision
setting. A changed model, code or setting is a new key, so the child runs again (and finds the caches
that still hold, quickly).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from inference.runtime.process_memory import BLAS_THREAD_VARS, status_mb, tune_malloc
from inference.text.segment_data import cache_dir

log = logging.getLogger("tagsmith.first_start")

STAMP_PREFIX = "warm-"
CHILD_TIMEOUT_S = 600
_RUNTIME_ROOT = Path(__file__).resolve().parents[1]  # the inference package
_SETTINGS_ENV = ("TAGSMITH_ENCODER_PRECISION", "TAGSMITH_PROVIDERS", "TAGSMITH_OCR")


def _file_marks(root: Path, pattern: str) -> list[str]:
    """'relative path:size:mtime_ns' of every file under root matching pattern, sorted."""
    marks = []
    for path in sorted(root.rglob(pattern)):
        if path.is_file() and "__pycache__" not in path.parts:
            stat = path.stat()
            marks.append(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return marks


def _encoder_version() -> str:
    try:
        from importlib.metadata import version

        from inference.runtime.sentence_encoder import PACKAGE

        return version(PACKAGE)
    except Exception:  # no encoder wheel: nothing of it is cached
        return "none"


def install_key(models_dir: Path, providers: list[str] | None, ocr: bool = True) -> str:
    """The digest the stamp is kept under (module docstring)."""
    parts = [
        *_file_marks(Path(models_dir).resolve(), "*"),
        *_file_marks(_RUNTIME_ROOT, "*"),  # its code, data and shipped models
        f"encoder={_encoder_version()}",
        f"providers={','.join(providers or ['probed'])}",
        f"ocr={ocr}",
        *(f"{name}={os.environ.get(name, '')}" for name in _SETTINGS_ENV),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


def stamp_path(key: str) -> Path:
    return cache_dir() / f"{STAMP_PREFIX}{key}.json"


def is_warm(key: str) -> bool:
    """The stamp of `key` is there and every file it names still is."""
    try:
        stamp = json.loads(stamp_path(key).read_text(encoding="utf-8"))
        root = cache_dir()
        return all((root / name).is_file() for name in stamp["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def record_warm(key: str) -> bool:
    """Write the stamp of `key`, naming every file the cache folder holds now; False when it cannot."""
    root = cache_dir()
    try:
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                       if p.is_file() and not p.name.startswith(STAMP_PREFIX))
        path = stamp_path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two servers starting at once write apart
        tmp.write_text(json.dumps({"key": key, "files": files}, indent=1), encoding="utf-8")
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.warning("first-start stamp not written in %s (%s)", root, exc)
        return False


def _writable(folder: Path) -> bool:
    """The folder, or the nearest one above it that exists, is a folder that can be written."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK)
    return False


def prepare(models_dir: Path, providers: list[str] | None, ocr: bool = True) -> str:
    """Build the caches in child processes unless they are warm for this install; returns what was done,
    for the log ("warm", "built in child processes ...", or why they were not built there)."""
    key = install_key(models_dir, providers, ocr)
    if is_warm(key):
        return "warm"
    if not _writable(cache_dir()):
        return "the cache folder is not writable; the server builds them in memory"
    base = [sys.executable, "-m", "inference.runtime.first_start", "--models", str(Path(models_dir).resolve())]
    base += ["--providers", ",".join(providers)] if providers else []
    # one fresh process a language folder (the encoder graph first, in the first), then the whole set,
    # which writes the stamp: no build's transients sit on top of another's leftovers
    parts = [["--folder", c.parent.name] for c in sorted(Path(models_dir).glob("*/config.json"))]
    parts.append(["--key", key, *([] if ocr else ["--no-ocr"])])
    start, peaks = time.perf_counter(), []
    # the child runs from the package's own folder (not a checkout the server was started in), so it
    # imports this install; the cache folder is handed over resolved for the same reason
    env = {**os.environ, **{name: os.environ.get(name, "1") for name in BLAS_THREAD_VARS},
           "TAGSMITH_CACHE_DIR": str(cache_dir().resolve())}
    for part in parts:
        try:
            done = subprocess.run(base + part, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env,
                                  cwd=_RUNTIME_ROOT.parent)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"a child did not run ({exc.__class__.__name__}); the server builds them"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return f"the child failed ({last[:200]}); the server builds them"
        if m := re.search(r"peak RSS (\d+) MB", done.stdout):
            peaks.append(int(m.group(1)))
    took = time.perf_counter() - start
    peak = f"peak RSS {max(peaks)} MB" if peaks else "peak RSS not read"
    return f"built in {len(parts)} child processes in {took:.1f} s ({peak})"


def _build_encoder_graph(providers: list[str] | None) -> None:
    """The sentence encoder's graph, with nothing else loaded: its build is the load's largest
    transient (~350 MB)."""
    try:
        from inference.runtime.sentence_encoder import EncoderUnavailable, load_graph, precision
    except ImportError:
        return
    try:
        load_graph(None, precision(providers))
    except (EncoderUnavailable, ValueError) as exc:  # the load says it again, where it matters
        log.info("no encoder graph built: %s", exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.runtime.first_start", description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--providers", default=None, help="comma-separated onnxruntime providers")
    part = parser.add_mutually_exclusive_group(required=True)
    part.add_argument("--folder", help="build the encoder graph and this language folder's caches")
    part.add_argument("--key", help="load the whole set as the server does, then write this stamp")
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args(argv)
    tune_malloc()  # as the server's (its BLAS threads came in the environment, before numpy loaded)
    from inference.runtime.suggester import Suggester

    providers = args.providers.split(",") if args.providers else None
    if args.folder:
        _build_encoder_graph(providers)
        Suggester.from_folders([args.models / args.folder], providers=providers).warm_up()
    else:
        Suggester.from_models_dir(args.models, providers=providers, **({"ocr": None} if args.no_ocr else {})).warm_up()
        if not record_warm(args.key):
            return 3
    if (peak := status_mb("VmHWM")) == peak:  # not nan: /proc is there
        print(f"peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
