"""Word lists derived from package data, kept in the cache folder as text so later starts read them back.

Filtering a large count file into a short list (phrases.py's collocations: 55k of wordsegment's 287k
bigrams) takes ~0.4 s of CPU at every start; reading the result takes ~10 ms. `cached_lines(kind,
version, sources, build)` returns `build()`'s lines, from `cache_dir()/KIND-KEY.txt` when it holds
them: KEY is a digest of the version and each source file's path, size and modification time (any
change rebuilds), and the file's first line is the sha256 of the rest, checked on every read; a
missing or damaged file is rebuilt, and an unwritable folder only costs the build at every start.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

from inference.text.segment_data import cache_dir

log = logging.getLogger(__name__)


class ListCacheError(ValueError):
    """A list that cannot be kept one entry per line."""


def cache_path(kind: str, version: object, sources: list[Path]) -> Path:
    stamp = [kind, version]
    for source in sources:
        info = Path(source).stat()
        stamp += [str(Path(source).resolve()), info.st_size, info.st_mtime_ns]
    return cache_dir() / f"{kind}-{hashlib.sha256(repr(stamp).encode()).hexdigest()[:20]}.txt"


def read_lines(path: Path) -> list[str] | None:
    """The file's lines when its checksum holds, else None."""
    try:
        digest, _, body = path.read_text(encoding="utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if digest != hashlib.sha256(body.encode("utf-8")).hexdigest():
        log.warning("word list cache %s is damaged: rebuilding it", path)
        return None
    return body.split("\n") if body else []


def write_lines(path: Path, lines: list[str]) -> None:
    """Atomically; never raises on I/O (a read-only cache folder is only a slower start)."""
    body = "\n".join(lines)
    if any("\n" in line for line in lines) or (len(lines) == 1 and not lines[0]):
        raise ListCacheError(f"{path.name}: an entry holds a line break or the list is one empty entry")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(hashlib.sha256(body.encode("utf-8")).hexdigest() + "\n" + body, encoding="utf-8")
        os.replace(tmp, path)  # a concurrent reader sees the old file or the whole new one
        for stale in path.parent.glob(f"{path.name.rsplit('-', 1)[0]}-*.txt"):  # older sources' lists
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        log.info("word list not cached in %s (%s): the next start builds it again", path.parent, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def cached_lines(kind: str, version: object, sources: list[Path], build: Callable[[], list[str]]) -> list[str]:
    """`build()`'s lines, read from the cache when it holds them for these sources (module docstring).
    `version`: anything whose repr changes when what `build` computes does (its code, the constants it reads)."""
    try:
        path = cache_path(kind, version, sources)
    except OSError:  # a source file is missing: build() reports it as it would without a cache
        return build()
    lines = read_lines(path) if path.is_file() else None
    if lines is None:
        lines = build()
        write_lines(path, lines)
    return lines
