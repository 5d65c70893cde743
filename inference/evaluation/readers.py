"""Readers: every data-set format -> canonical records (docs/architecture.md, "Canonical record").

`read_records(path, fmt=None)` yields every record of a file in file order, none dropped (records without
gold hashtags get `hashtags: []`), so `tagsmith predict` writes exactly one line per input record.

Gold hashtags come from `split_gold_hashtags` on the raw text for every source except Weibo (its tag file
gives them). Instagram: the `hashtags` column lists every tag of the caption, inline ones included, so it
is used only when the caption has no '#' at all (caption truncated or tags stripped); otherwise the
caption's leading/trailing tags win, as in the paper.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Iterator

from inference.text.preprocess import split_gold_hashtags
from inference.text.tags import normalize_tag, script_lang

FORMATS = ("jsonl", "weibo", "instagram", "tweeteval", "rumoureval", "sarcasm", "crisislex", "mediaeval", "corel5k")
_WEIBO_SUFFIXES = ("_post.txt", "_conv.txt", "_tag.txt")

csv.field_size_limit(sys.maxsize)  # Instagram comment threads exceed the 128 KiB default


class ReaderError(ValueError):
    """The file is missing or not in the format asked for (or none could be detected)."""


def _open(path: Path, csv_file: bool = False):
    # Line formats split on "\n" only: a stray "\r" inside a tweet must not make two records.
    return open(path, encoding="utf-8", errors="replace", newline="" if csv_file else "\n")


def record(rid: str, post: str, thread=(), hashtags=(), image=None, lang=None, source="") -> dict:
    """A canonical record; `lang` is detected from the post (then the thread) when not given."""
    thread = [t for t in thread if t and t.strip()]
    if lang is None:
        lang = script_lang(post if post.strip() else " ".join(thread[:3]))
    return {"id": rid, "post": post, "thread": thread, "hashtags": list(hashtags), "image": image,
            "lang": lang, "source": source}


def gold_from_text(text: str) -> tuple[str, list[str]]:
    """(post body, normalised gold tags without duplicates) per the paper's rule."""
    body, raw = split_gold_hashtags(text)
    tags: list[str] = []
    for tag in raw:
        norm = normalize_tag(tag)
        if norm and norm not in tags:
            tags.append(norm)
    return body, tags


# -- format detection ------------------------------------------------------------------------------------


def _weibo_prefix(path: Path) -> Path | None:
    name = path.name
    for suffix in _WEIBO_SUFFIXES:
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)])
    if not path.exists() and Path(str(path) + "_post.txt").exists():
        return path
    return None


def detect_format(path: str | os.PathLike) -> str:
    path = Path(path)
    if _weibo_prefix(path) is not None:
        return "weibo"
    if path.is_dir() and (path / "words").is_file():
        return "corel5k"
    if not path.is_file():
        raise ReaderError(f"no such data file: {path}")
    if is_corel_labels(path):
        return "corel5k"
    suffix = path.suffix.lower()
    with _open(path) as f:
        first = ""
        for line in f:
            if line.strip():
                first = line.strip()
                break
    if suffix in (".jsonl", ".json") or first.startswith("{"):
        try:
            keys = set(json.loads(first)) if first else set()
        except json.JSONDecodeError as exc:
            raise ReaderError(f"{path}: first line is not JSON: {exc}") from None
        if {"response", "context"} <= keys:
            return "sarcasm"
        if "replies" in keys or "event" in keys:
            return "rumoureval"
        return "jsonl"
    if first.startswith("post_id\t") or suffix == ".tsv":
        return "mediaeval"
    if suffix == ".csv":
        header = first.lower()
        if "tweet text" in header:
            return "crisislex"
        if "shortcode" in header or "comments" in header:
            return "instagram"
        raise ReaderError(f"{path}: unknown CSV header {first[:80]!r}")
    return "tweeteval"  # plain text, one post per line (TweetEval's *_text.txt)


# -- readers ---------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[dict]:
    folder = path.parent
    with _open(path) as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReaderError(f"{path}:{i + 1}: not JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise ReaderError(f"{path}:{i + 1}: expected a JSON object")
            post = str(obj.get("post") or obj.get("text") or "")  # "text": the API's own field name
            thread = obj.get("thread") or []
            if isinstance(thread, str):
                thread = [thread]
            image = obj.get("image")
            if image and not os.path.isabs(image):
                image = str((folder / image).resolve())
            if not post.strip() and not thread and not image:
                raise ReaderError(f"{path}:{i + 1}: a record needs \"post\" (or \"text\"), \"thread\" or \"image\"")
            rec = record(str(obj.get("id") or f"{path.stem}-{i}"), post, [str(t) for t in thread],
                         [str(t) for t in obj.get("hashtags") or []], image, obj.get("lang"),
                         obj.get("source") or path.stem)
            for key, value in obj.items():  # keep extra fields (labels, scores) untouched
                rec.setdefault(key, value)
            yield rec


def read_weibo(path: Path) -> Iterator[dict]:
    prefix = _weibo_prefix(path) or path
    post_file = Path(str(prefix) + "_post.txt")
    if not post_file.is_file():
        raise ReaderError(f"no Weibo post file {post_file}")
    conv_file, tag_file = Path(str(prefix) + "_conv.txt"), Path(str(prefix) + "_tag.txt")

    def lines(p: Path):
        if not p.is_file():
            return None
        with _open(p) as f:
            return [line.rstrip("\r\n") for line in f]

    posts, convs, tags = lines(post_file), lines(conv_file), lines(tag_file)
    for name, other in (("conv", convs), ("tag", tags)):
        if other is not None and len(other) != len(posts):
            raise ReaderError(f"{prefix}_{name}.txt has {len(other)} lines, {post_file.name} has {len(posts)}")
    split = prefix.name
    for i, post in enumerate(posts):
        conv = convs[i].strip() if convs else ""
        gold = []
        if tags:
            for tag in tags[i].split(";"):
                tag = " ".join(tag.split())
                if tag and tag not in gold:
                    gold.append(tag)
        yield record(f"weibo-{split}-{i}", post.strip(), [conv] if conv else [], gold, None, "zh", "weibo")


def read_instagram(path: Path) -> Iterator[dict]:
    account = path.stem
    with _open(path, csv_file=True) as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None:
            return
        col = {name.strip().lower(): j for j, name in enumerate(header)}
        if "text" not in col:
            raise ReaderError(f"{path}: Instagram CSV needs a 'text' column, header is {header}")
        for i, row in enumerate(rows):
            get = lambda name: row[col[name]] if name in col and col[name] < len(row) else ""  # noqa: E731
            text = get("text")
            body, gold = gold_from_text(text)
            if "#" not in text:
                gold = [t for t in dict.fromkeys(normalize_tag(t) for t in get("hashtags").split()) if t]
            thread = [c.strip() for c in get("comments").split("|")]
            rid = get("shortcode") or get("id") or str(i)
            yield record(f"instagram-{account}-{rid}", body, thread, gold, None, None, "instagram")


def read_tweeteval(path: Path) -> Iterator[dict]:
    split = path.name.removesuffix(".txt").removesuffix("_text")
    parts = [p for p in path.parent.parts[-2:] if p not in ("tweeteval", "/")]
    if len(parts) == 2 and parts[0] not in ("stance",):
        parts = parts[1:]
    task = "-".join(parts) or "text"
    with _open(path) as f:
        for i, line in enumerate(f):
            body, gold = gold_from_text(line.rstrip("\r\n"))
            yield record(f"tweeteval-{task}-{split}-{i}", body, [], gold, None, None, "tweeteval")


def read_rumoureval(path: Path) -> Iterator[dict]:
    with _open(path) as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            obj = json.loads(line)
            body, gold = gold_from_text(obj.get("text") or "")
            thread = [r.get("text") or "" for r in obj.get("replies") or []]
            yield record(f"rumoureval-{obj.get('id', i)}", body, thread, gold, None, None, "rumoureval")


def read_sarcasm(path: Path) -> Iterator[dict]:
    with _open(path) as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            obj = json.loads(line)
            body, gold = gold_from_text(obj.get("response") or "")
            rid = obj.get("id") or f"{path.stem}-{i}"
            yield record(f"sarcasm-{rid}", body, list(obj.get("context") or []), gold, None, None, "sarcasm")


def read_crisislex(path: Path) -> Iterator[dict]:
    event = path.name.split("-tweets")[0]
    with _open(path, csv_file=True) as f:
        rows = csv.reader(f, skipinitialspace=True)
        header = next(rows, None)
        if header is None:
            return
        col = {name.strip().lower(): j for j, name in enumerate(header)}
        if "tweet text" not in col:
            raise ReaderError(f"{path}: CrisisLex CSV needs a 'Tweet Text' column, header is {header}")
        text_col, id_col = col["tweet text"], col.get("tweet id")
        for i, row in enumerate(rows):
            text = row[text_col] if text_col < len(row) else ""
            tid = row[id_col].strip().strip("'") if id_col is not None and id_col < len(row) else ""
            body, gold = gold_from_text(text)
            yield record(f"crisislex-{event}-{tid or i}", body, [], gold, None, None, "crisislex")


def read_mediaeval(path: Path) -> Iterator[dict]:
    image_dir = path.parent / "images_train"
    images = {p.stem: str(p) for p in image_dir.iterdir()} if image_dir.is_dir() else {}
    with _open(path) as f:
        rows = (line.rstrip("\r\n").split("\t") for line in f)  # one post per line, no quoting
        header = next(rows, None)
        if header is None:
            return
        col = {name.strip().lower(): j for j, name in enumerate(header)}
        if "post_text" not in col:
            raise ReaderError(f"{path}: MediaEval TSV needs a 'post_text' column, header is {header}")
        for i, row in enumerate(rows):
            get = lambda name: row[col[name]] if name in col and col[name] < len(row) else ""  # noqa: E731
            body, gold = gold_from_text(get("post_text"))
            image_ids = [s.strip() for s in get("image_id").split(",") if s.strip()]
            image = images.get(image_ids[0]) if image_ids else None
            yield record(f"mediaeval-{get('post_id') or i}", body, [], gold, image, None, "mediaeval")


def is_corel_labels(path: Path) -> bool:
    """Corel-5k's `training_label` / `test_label`: a `*_label` file beside the `words` file."""
    return path.name.endswith("_label") and (path.parent / "words").is_file()


def corel_label_file(path: str | os.PathLike) -> Path:
    """A Corel-5k label file itself, or the folder holding it: its `test_label`, else its only `*_label`."""
    path = Path(path)
    if not path.is_dir():
        return path
    labels = sorted(p.name for p in path.glob("*_label"))
    if "test_label" in labels:
        return path / "test_label"
    if len(labels) == 1:
        return path / labels[0]
    raise ReaderError(f"{path}: give one of its label files ({', '.join(labels) or 'none found'})")


def read_corel5k(path: Path) -> Iterator[dict]:
    """A Corel-5k label file (`training_label`, `test_label`; or the folder: `corel_label_file`): lines
    `ID idx idx ...`, 1-based into the `words` file beside it; the photo is `images/ID.jpeg` there.
    Image-only records, the words as gold."""
    path = corel_label_file(path)
    words = [w.strip() for w in (path.parent / "words").read_text(encoding="utf-8").splitlines() if w.strip()]
    with _open(path) as f:
        for n, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                tags = [words[int(i) - 1] for i in parts[1:]]
            except (ValueError, IndexError):
                raise ReaderError(f"{path}:{n}: word numbers must be 1..{len(words)}, got {line.strip()[:80]!r}") from None
            image = path.parent / "images" / f"{parts[0]}.jpeg"
            yield record(f"corel-{parts[0]}", "", [], list(dict.fromkeys(tags)), str(image), "en", "corel5k")


_READERS = {
    "jsonl": read_jsonl,
    "weibo": read_weibo,
    "instagram": read_instagram,
    "tweeteval": read_tweeteval,
    "rumoureval": read_rumoureval,
    "sarcasm": read_sarcasm,
    "crisislex": read_crisislex,
    "mediaeval": read_mediaeval,
    "corel5k": read_corel5k,
}


def read_records(path: str | os.PathLike, fmt: str | None = None) -> Iterator[dict]:
    """Every record of `path` in file order, canonical form. `fmt` is one of FORMATS (detected when None)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in _READERS:
        raise ReaderError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    data_file = corel_label_file(path) if fmt == "corel5k" else path
    if fmt != "weibo" and not data_file.is_file():
        raise ReaderError(f"no such data file: {data_file}")
    return _READERS[fmt](path)
