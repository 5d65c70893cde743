"""Arrays derived from model files at load, kept in the cache folder so later starts read them back.

Some of what a model folder's loader computes takes far longer than reading the result: the tag
vectors with a tuned head folded in (runtime/encoder_head.py), the dense index's dequantised matrix
(runtime/dense_retrieval.py). `cached_arrays(kind, inputs, build)` returns `build()`'s arrays, from
`$TAGSMITH_CACHE_DIR/derived` (else `$XDG_CACHE_HOME/tagsmith/derived`, else `~/.cache/tagsmith/derived`)
when it holds them: the file is named by the kind, its version and the sha256 of every input file
(model folders verify those digests when they load, so the name costs nothing more), and holds a
sha256 of its own arrays, checked on every read; a missing, damaged or foreign file is rebuilt, and an
unwritable folder only costs the build at every start. A file is plain .npy records one after another (the
names as JSON, the checksum, then each array), never pickles: read back in one pass, where a .npz's zip
layer also checksummed every byte a second time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from inference.runtime.model_folder import file_sha256
from inference.text.segment_data import cache_dir

log = logging.getLogger(__name__)

SUBDIR = "derived"
KEEP_PER_KIND = 8  # files of one kind kept (the newest): inputs that changed leave their old files behind
SUFFIX = ".arrays"
_LEGACY_SUFFIX = ".npz"  # the earlier format's files: removed when a file of their kind is written


def derived_dir() -> Path:
    return cache_dir() / SUBDIR


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(repr((name, array.dtype.str, array.shape)).encode())
        if array.size:  # (a memoryview of no elements cannot be cast to bytes)
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def cache_path(kind: str, version: int, inputs: list[Path]) -> Path:
    key = hashlib.sha256(repr([kind, version, *(file_sha256(Path(p)) for p in inputs)]).encode()).hexdigest()
    return derived_dir() / f"{kind}-{key[:24]}{SUFFIX}"


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The file's arrays when its checksum holds, else None."""
    try:
        with open(path, "rb") as handle:
            names = json.loads(np.load(handle, allow_pickle=False).tobytes().decode("utf-8"))
            stored = np.load(handle, allow_pickle=False).tobytes().decode("ascii")
            arrays = {str(name): np.load(handle, allow_pickle=False) for name in names}
    except (OSError, ValueError, EOFError, TypeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        arrays, stored = None, None
    if arrays is None or stored != arrays_sha256(arrays):
        log.warning("derived cache %s is damaged: rebuilding it", path)
        return None
    return arrays


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomically; never raises (a read-only cache folder is only a slower start)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            np.save(handle, _text_array(json.dumps(list(arrays))))
            np.save(handle, _text_array(arrays_sha256(arrays)))
            for array in arrays.values():
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, path)
        _prune(path)
    except OSError as exc:
        log.warning("derived arrays not cached in %s (%s)", path.parent, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _prune(path: Path) -> None:
    """Remove all but the KEEP_PER_KIND newest files of `path`'s kind."""
    kind = path.name.rsplit("-", 1)[0]
    files = sorted(path.parent.glob(f"{kind}-*{SUFFIX}"), key=lambda f: f.stat().st_mtime_ns, reverse=True)
    for old in [*files[KEEP_PER_KIND:], *path.parent.glob(f"{kind}-*{_LEGACY_SUFFIX}")]:
        old.unlink(missing_ok=True)


def cached_arrays(kind: str, version: int, inputs: list[Path], build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """`build()`'s arrays, read from the cache when it holds them for these inputs (module docstring).
    `version`: bump when what `build` computes changes."""
    path = cache_path(kind, version, inputs)
    arrays = read_arrays(path) if path.is_file() else None
    if arrays is None:
        arrays = build()
        write_arrays(path, arrays)
    return arrays
