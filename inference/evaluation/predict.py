"""`tagsmith predict` (a whole data file) and `tagsmith suggest` (one post), without a server.

Both go through the same `Suggester` as the service, so what the independent evaluation scores is
what users get.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from inference.limits import MAX_K, MIN_K
from inference.text.tags import detect_lang, tag_key
from inference.evaluation.readers import corel_label_file, detect_format, read_records
from inference.runtime.suggester import DEFAULT_MODELS_DIR, IMAGE_FOLDER, SAFETY_JSON, SuggestRequest, Suggester, load_safety

BATCH = 64
VOCAB_POOL = 100  # with --vocab, the suggestions asked for per record before the allowed ones are kept


def read_vocab(path: str | Path) -> set[str]:
    """Allowed tags, one per line (`#` optional), as `tag_key`s (case and spaces ignored)."""
    keys = {tag_key(line.strip().lstrip("#")) for line in Path(path).read_text(encoding="utf-8").splitlines()}
    keys.discard("")
    if not keys:
        raise SystemExit(f"error: {path} lists no tags")
    return keys


def load_suggester(model: str | None) -> Suggester:
    """`model`: None (every shipped model, chosen per record by language), a shipped model name
    ("en", "zh"), a model folder, or a folder of model folders."""
    if model is None:
        return Suggester.from_default_models()
    path = Path(model)
    if not path.exists() and (DEFAULT_MODELS_DIR / model).exists():
        path = DEFAULT_MODELS_DIR / model
    if not path.exists():
        shipped = sorted(p.parent.name for p in DEFAULT_MODELS_DIR.glob("*/config.json"))
        raise SystemExit(f"error: no model folder {model!r} (shipped models: {', '.join(shipped) or 'none'})")
    return Suggester.from_models_dir(path)


def prediction_line(words: list[str]) -> str:
    """Tags joined by ';', each written as its words separated by spaces: `aus open;tennis`."""
    return ";".join(w.replace(";", " ").strip() for w in words)


def record_image(record: dict, suggester: Suggester):
    """The record's image (an absolute path: the readers resolve it against the JSONL's folder),
    preprocessed; None without an image, without an image model, or when the file is unusable
    (a warning; the record is then predicted from its text alone)."""
    path = record.get("image")
    if not path or suggester.image_tagger is None:
        return None
    try:
        return suggester.image_tagger.preprocess(Path(path).read_bytes())
    except Exception as exc:  # missing file, not an image, too large: one record, not the whole run
        print(f"warning: {record.get('id', path)}: image {path} skipped: {exc}", file=sys.stderr)
        return None


def request_for(record: dict, k: int, single_model_lang: str | None, suggester: Suggester | None = None, floor: bool = False) -> SuggestRequest:
    # a single explicit model serves every record; otherwise the record's language picks the model
    return SuggestRequest(
        text=record.get("post") or "",
        thread=tuple(record.get("thread") or ()),
        k=k,
        lang=single_model_lang or record.get("lang"),
        floor=floor,  # a benchmark fills k by default; --floor answers as the service does
        image=record_image(record, suggester) if suggester is not None else None,
    )


def run_predict(args: argparse.Namespace) -> int:
    if not 1 <= args.k <= 100:
        print("error: --k must be between 1 and 100", file=sys.stderr)
        return 2
    suggester = load_suggester(args.model)
    if getattr(args, "beam_size", None):  # speed/quality trade-off studies (docs/performance.md)
        for model in suggester.models.values():
            if model.open_generator() is not None:
                model.generator.beam_size = args.beam_size
    single = suggester.languages[0] if args.model and len(suggester.languages) == 1 else None
    fmt = args.format or detect_format(args.input)
    # a benchmark's closed vocabulary (Corel-5k: its `words` file): the best allowed tags of a longer list
    vocab_path = getattr(args, "vocab", None) or (corel_label_file(args.input).parent / "words" if fmt == "corel5k" else None)
    allowed = read_vocab(vocab_path) if vocab_path else None
    ask = max(args.k, VOCAB_POOL) if allowed else args.k
    records = read_records(args.input, fmt)
    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with out_path.open("w", encoding="utf-8") as out, tqdm(desc="predict", unit="post", file=sys.stderr) as bar:
        batch: list[SuggestRequest] = []

        def flush() -> None:
            nonlocal written
            for result in suggester.suggest_batch(batch):
                words = [s.words for s in result.suggestions]
                if allowed:
                    words = [w for w in words if tag_key(w) in allowed][: args.k]
                out.write(prediction_line(words) + "\n")
            written += len(batch)
            bar.update(len(batch))
            batch.clear()

        for record in records:
            batch.append(request_for(record, ask, single, suggester, getattr(args, "floor", False)))
            if len(batch) == BATCH:
                flush()
        if batch:
            flush()
    print(f"wrote {written} predictions to {out_path}", file=sys.stderr)
    return 0


def load_for_suggest(model: str | None, lang: str | None, with_image: bool) -> Suggester:
    """Only what one post needs: its language's folder (a language without one: the default
    language's, as the service routes it), and the image tagger only for an image. `lang` None:
    no text (an image alone). A single model folder or a shipped name loads as `predict` loads it."""
    root = DEFAULT_MODELS_DIR if model is None else Path(model)
    if not root.is_dir() or (root / "config.json").exists():
        return load_suggester(model)
    folders = {p.parent.name: p.parent for p in sorted(root.glob("*/config.json"))}
    kwargs = {}
    if with_image and (root / IMAGE_FOLDER / "image.json").exists():
        from inference.runtime.image_tagger import ImageTagger

        kwargs["image_tagger"] = ImageTagger(root / IMAGE_FOLDER)
    chosen = None if lang is None else folders.get(lang) or folders.get("en") or next(iter(folders.values()), None)
    if chosen is not None:
        return Suggester.from_folders([chosen], **kwargs)
    if kwargs:  # an image alone: the image tagger alone
        return Suggester({}, safety=load_safety(root / SAFETY_JSON), **kwargs)
    wanted = "image model (image/image.json)" if lang is None else "model folder (a folder with config.json)"
    raise FileNotFoundError(f"no {wanted} under {root}")  # the CLI prints it, exit 2


def read_photo_text(model: str | None, image_path: str) -> str:
    """The text OCR reads in the photo (the models dir's ocr/ folder; "" when it is absent, off
    (TAGSMITH_OCR=off) or finds none; an unreadable photo is refused later by the image model)."""
    from inference.runtime.ocr import load_ocr

    root = DEFAULT_MODELS_DIR if model is None else Path(model)
    reader = load_ocr(root) if root.is_dir() else None
    return reader.read(Path(image_path).read_bytes()).text if reader is not None else ""


def run_suggest(args: argparse.Namespace) -> int:
    image_path = getattr(args, "image", None)
    if not MIN_K <= args.k <= MAX_K:
        print(f"error: --k must be an integer from {MIN_K} to {MAX_K}, got {args.k}", file=sys.stderr)
        return 2
    if not args.text.strip() and not args.thread and not image_path:
        print("error: give a post text (or --image)", file=sys.stderr)
        return 2
    if image_path and not Path(image_path).is_file():  # before the models load, not after
        print(f"error: {image_path}: no such file", file=sys.stderr)
        return 2
    start = time.perf_counter()
    photo_text = read_photo_text(args.model, image_path) if image_path else ""  # first: its language picks the model
    text = " ".join(t for t in (args.text, photo_text) if t.strip()) or " ".join(args.thread)
    detected = detect_lang(text) if text.strip() else None
    suggester = load_for_suggest(args.model, args.lang or detected, bool(image_path))
    loaded = " and ".join([*(f"the {lang} model" for lang in suggester.languages), *(["the image model"] if suggester.image_tagger else [])])
    print(f"loaded {loaded} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    image = None
    if image_path:
        if suggester.image_tagger is None:
            print("error: no image model loaded (inference/models/image)", file=sys.stderr)
            return 2
        try:
            image = suggester.image_tagger.preprocess(Path(image_path).read_bytes())
        except Exception as exc:  # missing file, not an image, too large
            print(f"error: {image_path}: {exc}", file=sys.stderr)
            return 2
    if photo_text:
        print(f"text in the photo (OCR): {photo_text!r}", file=sys.stderr)
    request = SuggestRequest(text=args.text, thread=tuple(args.thread), hashtags=tuple(args.hashtags), k=args.k,
                             lang=args.lang, image=image, photo_text=photo_text)
    result = suggester.suggest(request)
    if args.lang and result.detected_lang and result.detected_lang != args.lang:
        print(f"warning: --lang {args.lang} was asked for, but the text reads as {result.detected_lang!r}: "
              f"the tags may not fit it (leave --lang out to detect)", file=sys.stderr)
    for s in result.suggestions:
        print(f"{s.tag}\t{s.score:.3f}\t{s.source}")
    print(f"({result.model})", file=sys.stderr)
    return 0
