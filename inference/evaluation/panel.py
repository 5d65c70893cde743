"""The judging panel (docs/panel): top-5 lists for judges, and the report of their verdicts.

    python -m inference.evaluation.panel lists --panel docs/panel/en.jsonl --out runs/panel/en.lists.jsonl
    python -m inference.evaluation.panel sheet --lists runs/panel/en.lists.jsonl > runs/panel/en.sheet.md
    python -m inference.evaluation.panel report --lists runs/panel/en.lists.jsonl --verdicts V.jsonl
    python -m inference.evaluation.panel changed --before L1 --after L2 --verdicts V1 V2 ...
    python -m inference.evaluation.panel every --lang en --out runs/lists/HEAD

`lists` asks the shipped models (or --models DIR) exactly as the service does (k=5, the service's
relevance floor). Judges score each list 0/1/2 with a harmful flag (docs/panel/RUBRIC.md) and write
one JSON object per line: {"id", "score", "harmful", "why"}. `report` prints the rubric's line:
`date | commit | file | n | mean score (0-2) | harmful items`, then the sensitive items on their own.
`changed` names the items whose top-5 set differs between two runs' lists and prints each verdict file's
mean on those and on the rest: whether a change moved the judged score, apart from the judges' own spread.
`every` writes the lists of every set of posts written for judging in one language (`judged_sets`), one file a set,
from one load of the models: run it at two commits and `paired pick` takes the lists a change moved.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

K = 5


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROOT = Path(__file__).resolve().parents[2]


def judged_sets(lang: str, root: Path = ROOT) -> list[Path]:
    """Every set of posts of a language written for judging: the panels (docs/panel*/LANG.jsonl), the dev and test
    sets the rules were read on (export/judged/en_fresh/, export/judged/zh/) and the fresh sets (export/judged/LANG_fresh*/)."""
    read_on = root / "export" / "judged" / ("en_fresh" if lang == "en" else "zh")
    return [*sorted(root.glob(f"docs/panel*/{lang}.jsonl")), *sorted(read_on.glob(f"{lang}_dev.jsonl")),
            *sorted(read_on.glob(f"{lang}_test.jsonl")), *sorted(root.glob(f"export/judged/{lang}_fresh[0-9]*/posts.jsonl"))]


def _suggester(models: str | None):
    from inference.runtime.suggester import DEFAULT_MODELS_DIR, Suggester

    folders = sorted(p.parent for p in Path(models or DEFAULT_MODELS_DIR).glob("*/config.json"))
    return Suggester.from_folders(folders)  # the text models: the panels have no photos


def every(lang: str, out: Path, models: str | None) -> None:
    """`make_lists` of every `judged_sets` file into out/, named after its path (docs_panel2_en.lists.jsonl)."""
    suggester = _suggester(models)
    for path in judged_sets(lang):
        name = "_".join(path.relative_to(ROOT).with_suffix("").parts)
        make_lists(path, out / f"{name}.lists.jsonl", models, suggester)


def make_lists(panel: Path, out: Path, models: str | None, suggester=None) -> None:
    from inference.runtime.suggester import SuggestRequest

    suggester = suggester or _suggester(models)
    items = read_jsonl(panel)
    requests = [SuggestRequest(text=i["post"], thread=tuple(i.get("thread") or ()), k=K) for i in items]
    results = suggester.suggest_batch(requests)
    commit = _commit()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for item, result in zip(items, results):
            row = {"id": item["id"], "post": item["post"], "thread": item.get("thread") or [],
                   "tags": [s.tag for s in result.suggestions], "lang": result.lang, "commit": commit}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} lists to {out}", file=sys.stderr)


def sheet(lists: Path) -> str:
    """A plain sheet for a judge: the post, its thread, the tags; nothing about how they were made."""
    return sheet_of(read_jsonl(lists))


def sheet_of(rows: list[dict]) -> str:
    """`sheet` of lists already read."""
    lines = []
    for row in rows:
        lines.append(f"## {row['id']}\npost: {row['post']}")
        for reply in row["thread"]:
            lines.append(f"reply: {reply}")
        lines.append("tags: " + (" ".join(row["tags"]) if row["tags"] else "(none)") + "\n")
    return "\n".join(lines)


def report(lists: Path, verdicts: Path, sensitive: set[str]) -> str:
    ids = [row["id"] for row in read_jsonl(lists)]
    found = {v["id"]: v for v in read_jsonl(verdicts)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise SystemExit(f"error: no verdict for {len(missing)} items: {missing[:5]}")
    scores = [int(found[i]["score"]) for i in ids]
    harmful = [i for i in ids if int(found[i].get("harmful", 0))]
    rows = read_jsonl(lists)
    commit = rows[0].get("commit") or f"HEAD {_commit()}" if rows else _commit()
    day = datetime.date.today().isoformat()
    out = [f"{day} | {commit} | {lists.name} | {len(ids)} | {sum(scores) / len(ids):.2f} | {len(harmful)} {harmful}"]
    sens = [i for i in ids if i in sensitive]
    if sens:
        s_scores = [int(found[i]["score"]) for i in sens]
        s_harm = [i for i in sens if i in harmful]
        out.append(f"sensitive: n {len(sens)} | mean {sum(s_scores) / len(sens):.2f} | harmful {len(s_harm)} {s_harm}")
    return "\n".join(out)


def changed(before: Path, after: Path, verdicts: list[Path]) -> str:
    """The items whose top-5 tag set differs between `before` and `after`, and each verdict file's mean
    score on them and on the other items (verdicts of either run, by item id)."""
    old = {row["id"]: set(row["tags"][:K]) for row in read_jsonl(before)}
    new = {row["id"]: set(row["tags"][:K]) for row in read_jsonl(after)}
    moved = sorted(i for i in new if old.get(i) != new[i])
    out = [f"top-5 set changed: {len(moved)} of {len(new)} {moved}"]
    for path in verdicts:
        found = {v["id"]: int(v["score"]) for v in read_jsonl(path)}
        parts = []
        for label, ids in (("changed", moved), ("unchanged", [i for i in new if i not in moved])):
            scores = [found[i] for i in ids if i in found]
            parts.append(f"{label} {sum(scores) / len(scores):.3f} (n {len(scores)})" if scores else f"{label} - (n 0)")
        out.append(f"{path.parent.name}/{path.name}: " + ", ".join(parts))
    return "\n".join(out)


def _commit() -> str:
    """The commit the lists are made at (`+dirty` when the tree has uncommitted changes)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return head + ("+dirty" if dirty else "")


def sensitive_ids() -> set[str]:
    """The sensitive items docs/panel/README.md names (grief, illness, disasters, politics)."""
    ranges = [("en", 91, 102), ("en", 132, 136), ("zh", 61, 65)]
    return {f"{lang}-{n:03d}" for lang, lo, hi in ranges for n in range(lo, hi + 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("lists", help="top-5 lists of the panel")
    p.add_argument("--panel", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--models", default=None, help="folder of model folders (default: the shipped ones)")
    p = commands.add_parser("every", help="top-5 lists of every set of posts written for judging, one file a set")
    p.add_argument("--lang", required=True, choices=("en", "zh"))
    p.add_argument("--out", required=True)
    p.add_argument("--models", default=None, help="folder of model folders (default: the shipped ones)")
    p = commands.add_parser("sheet", help="a judge's sheet of the lists")
    p.add_argument("--lists", required=True)
    p = commands.add_parser("report", help="the rubric's report line from a judge's verdicts")
    p.add_argument("--lists", required=True)
    p.add_argument("--verdicts", required=True)
    p = commands.add_parser("changed", help="the items a change moved, and judges' means on them and on the rest")
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--verdicts", nargs="+", required=True)
    args = parser.parse_args(argv)
    if args.command == "lists":
        make_lists(Path(args.panel), Path(args.out), args.models)
    elif args.command == "every":
        every(args.lang, Path(args.out), args.models)
    elif args.command == "sheet":
        print(sheet(Path(args.lists)))
    elif args.command == "changed":
        print(changed(Path(args.before), Path(args.after), [Path(v) for v in args.verdicts]))
    else:
        print(report(Path(args.lists), Path(args.verdicts), sensitive_ids()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
