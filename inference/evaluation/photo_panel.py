"""The photo panel (docs/panel/photos.json): everyday photos in no training bank, their top-5 tags, a sheet.

    python -m inference.evaluation.photo_panel collect runs/photo-panel            # copy / render the photos
    python -m inference.evaluation.photo_panel lists runs/photo-panel --out runs/photo-panel/lists.jsonl
    python -m inference.evaluation.photo_panel sheet --lists runs/photo-panel/lists.jsonl > sheet.md
    python -m inference.evaluation.photo_panel report --lists L.jsonl --verdicts V.jsonl

The photos come from installed packages (scikit-image and matplotlib from PyPI, mate-backgrounds and
ukui-wallpapers from Debian: photos.json "packages"); none is committed. Rendered items (a meme, a
poster, a menu, a sign) are drawn here with Pillow. `lists` asks the shipped models through
`Suggester.from_default_models()` as the service does (`read_photo`: the tagger's input and OCR), the photo alone, k=5; items with a "caption" get a second row
"<id>+caption" with the caption as the post. Judges look at each photo and score its tags 0/1/2 with
a harmful flag (docs/panel/RUBRIC.md, docs/panel/JUDGE.md). Never tune on this panel.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path

from inference.evaluation.panel import K, read_jsonl, report

MANIFEST = Path(__file__).resolve().parents[2] / "docs" / "panel" / "photos.json"
SIZE = (800, 600)


class PanelPhotoMissing(FileNotFoundError):
    """A panel photo's package is not installed (photos.json "packages" says how to install it)."""


def load_manifest(path: Path = MANIFEST) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def package_path(item: dict, packages: dict) -> Path:
    """The installed file of a packaged photo: a Debian path as is, a PyPI one under its module's folder."""
    if item["source"].startswith("debian:"):
        path = Path(item["path"])
    else:
        module, _, rest = item["path"].partition("/")
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise PanelPhotoMissing(f"{item['id']}: {module} is not installed ({packages.get(item['source'], '')})")
        path = Path(list(spec.submodule_search_locations)[0]) / rest
    if not path.is_file():
        raise PanelPhotoMissing(f"{item['id']}: {path} not found ({packages.get(item['source'], item['source'])})")
    return path


def _font(size: int):
    from PIL import ImageFont

    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _centred(draw, lines: list[str], top: int, size: int, fill: str, width: int, outline: str | None = None) -> None:
    y = top
    for line in lines:
        font = _font(size)
        while draw.textlength(line, font=font) > width - 40 and font.size > 12:  # shrink a long line to fit
            font = _font(font.size - 2)
        w = draw.textlength(line, font=font)
        draw.text(((width - w) / 2, y), line, font=font, fill=fill,
                  stroke_width=3 if outline else 0, stroke_fill=outline)
        y += int(size * 1.3)


def render(item: dict, folder: Path):
    """A rendered panel item (photos.json "render"): a meme caption over another panel photo, a poster
    or menu card, or street signs."""
    from PIL import Image, ImageDraw

    spec = item["render"]
    kind = spec["kind"]
    if kind == "meme":
        image = Image.open(folder / f"{spec['base']}.jpg").convert("RGB").resize(SIZE)
        draw = ImageDraw.Draw(image)
        _centred(draw, spec["lines"][:1], 20, 44, "white", SIZE[0], outline="black")
        _centred(draw, spec["lines"][1:], SIZE[1] - 70 * max(len(spec["lines"]) - 1, 1), 44, "white", SIZE[0], outline="black")
        return image
    if kind == "poster":
        background, ink = spec["colours"]
        image = Image.new("RGB", SIZE, background)
        draw = ImageDraw.Draw(image)
        if spec.get("balloons"):
            for x, colour in ((110, "#e63946"), (210, "#457b9d"), (600, "#2a9d8f"), (700, "#f4a261")):
                draw.ellipse((x - 45, 380, x + 45, 490), fill=colour)
                draw.line((x, 490, x + 10, 590), fill="#555555", width=2)
        _centred(draw, spec["lines"][:1], 90, 56, ink, SIZE[0])
        _centred(draw, spec["lines"][1:], 200, 40, ink, SIZE[0])
        return image
    if kind == "sign":
        image = Image.new("RGB", SIZE, "#9cc3e6")
        draw = ImageDraw.Draw(image)
        draw.rectangle((390, 120, 410, 600), fill="#777777")
        draw.rectangle((200, 60, 600, 150), fill="#1b6e3a", outline="white", width=5)
        _centred(draw, spec["lines"][:1], 78, 50, "white", SIZE[0])
        draw.rectangle((270, 210, 530, 420), fill="white", outline="#c1121f", width=8)
        _centred(draw, spec["lines"][1:], 250, 40, "#c1121f", SIZE[0])
        return image
    raise ValueError(f"{item['id']}: unknown render kind {kind!r}")


def collect(folder: Path, manifest: dict) -> list[Path]:
    """Every panel photo as <id>.jpg in `folder` (packaged ones first: rendered memes draw on them)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    items = sorted(manifest["photos"], key=lambda i: "render" in i)
    for item in items:
        out = folder / f"{item['id']}.jpg"
        if "render" in item:
            render(item, folder).save(out, quality=92)
        else:
            source = package_path(item, manifest["packages"])
            if source.suffix.lower() in (".jpg", ".jpeg"):
                shutil.copyfile(source, out)
            else:
                Image.open(source).convert("RGB").save(out, quality=95)
        written.append(out)
    return written


def make_lists(folder: Path, out: Path, manifest: dict) -> None:
    """Top-5 tags per photo alone, and per captioned photo with its caption ("<id>+caption")."""
    from inference.runtime.suggester import SuggestRequest, Suggester

    suggester = Suggester.from_default_models()
    rows, requests = [], []
    for item in manifest["photos"]:
        # as the service reads a photo: the tagger's input and the text in it (OCR)
        image, photo_text = suggester.read_photo((folder / f"{item['id']}.jpg").read_bytes())
        for suffix, caption in [("", "")] + ([("+caption", item["caption"])] if item.get("caption") else []):
            rows.append({"id": item["id"] + suffix, "photo": f"{item['id']}.jpg", "description": item["description"],
                         "caption": caption, "ocr_text": photo_text})
            requests.append(SuggestRequest(text=caption, k=K, image=image, photo_text=photo_text))
    results = suggester.suggest_batch(requests)
    for row, result in zip(rows, results):
        row["tags"] = [s.tag for s in result.suggestions]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    print(f"wrote {len(rows)} lists to {out}", file=sys.stderr)


def sheet(lists: Path) -> str:
    """A judge's sheet: the photo's file (to look at), a neutral description, the caption, the tags."""
    lines = []
    for row in read_jsonl(lists):
        lines.append(f"## {row['id']}\nphoto: {row['photo']}\ndescription: {row['description']}")
        lines.append(f"caption: {row['caption'] or '(photo alone)'}")
        lines.append("tags: " + (" ".join(row["tags"]) if row["tags"] else "(none)") + "\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m inference.evaluation.photo_panel", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="copy the packaged photos and render the others into FOLDER")
    c.add_argument("folder", type=Path)
    lst = sub.add_parser("lists", help="the shipped models' top-5 tags per photo (JSONL)")
    lst.add_argument("folder", type=Path)
    lst.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("sheet", help="a judging sheet (markdown) from the lists")
    s.add_argument("--lists", type=Path, required=True)
    r = sub.add_parser("report", help="the rubric's report line from lists and verdicts")
    r.add_argument("--lists", type=Path, required=True)
    r.add_argument("--verdicts", type=Path, required=True)
    for q in (c, lst):
        q.add_argument("--manifest", type=Path, default=MANIFEST)
    args = p.parse_args(argv)
    if args.cmd == "collect":
        print(f"{len(collect(args.folder, load_manifest(args.manifest)))} photos in {args.folder}", file=sys.stderr)
    elif args.cmd == "lists":
        make_lists(args.folder, args.out, load_manifest(args.manifest))
    elif args.cmd == "sheet":
        print(sheet(args.lists))
    else:
        print(report(args.lists, args.verdicts, set()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
