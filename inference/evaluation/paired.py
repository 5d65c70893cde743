"""Paired judging: the same posts' lists from two runs side by side, blind, on one sheet.

    python -m inference.evaluation.paired pick --before DIR1 --after DIR2 --out PREFIX [--sample 120 --seed 11]
    python -m inference.evaluation.paired sheet --before L1 --after L2 --out DIR [--seed 11]
    python -m inference.evaluation.paired report --key DIR/key.json --verdicts V1 [V2 ...] [--posts PREFIX] [--leave-out ID ...]

`pick` takes two folders of `panel every` lists (two commits) and writes PREFIX.before.lists.jsonl and
PREFIX.after.lists.jsonl: every post whose top-5 set differs, once (a post in two sets counts once), or a seeded
sample of them. `sheet` takes two runs' lists (`inference.evaluation.panel lists`) and, for every post whose top-5 set
differs, writes both lists as two items (`ID-x`, `ID-y`, which is which drawn by the seed) in a shuffled
order to DIR/sheet.md, and the answer to DIR/key.json. A judge scores the sheet with the panel's
instructions (docs/panel/JUDGE.md); each post's two lists are judged by the same judge in the same hour,
so the difference is the change's, not the judges' spread (`panel changed` compares different judges).
`report` prints, per verdict file, each run's mean and harmful count on those posts, and on how many
posts the second run scored higher, lower or the same; `--posts` keeps the posts whose id starts with a
prefix (one set of a sheet that mixes two), `--leave-out` drops posts by id (ones a later change gave
their first list back).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from inference.evaluation.panel import K, read_jsonl, sheet_of


def _moved(first: dict, then: dict) -> bool:
    return {t.lower() for t in first["tags"][:K]} != {t.lower() for t in then["tags"][:K]}


def pick(before: Path, after: Path, out: str, sample: int | None = None, seed: int = 11) -> tuple[int, int]:
    """Write out.before.lists.jsonl and out.after.lists.jsonl (the lists a change moved, files of the same name in the
    two folders, each post once, in id order; a seeded `sample` of them); returns (moved, written)."""
    old, new = {}, {}
    for path in sorted(before.glob("*.lists.jsonl")):
        if (after / path.name).exists():
            then = {row["id"]: row for row in read_jsonl(after / path.name)}
            for row in read_jsonl(path):
                if row["id"] in then and row["id"] not in old and _moved(row, then[row["id"]]):
                    old[row["id"]], new[row["id"]] = row, then[row["id"]]
    ids = sorted(old)
    if sample is not None:
        ids = sorted(random.Random(seed).sample(ids, min(sample, len(ids))))
    for side, rows in (("before", old), ("after", new)):
        Path(f"{out}.{side}.lists.jsonl").write_text("".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in ids),
                                                     encoding="utf-8")
    return len(old), len(ids)


def paired_sheet(before: Path, after: Path, out: Path, seed: int) -> int:
    """Write out/sheet.md and out/key.json; returns the number of posts whose lists differ."""
    old = {row["id"]: row for row in read_jsonl(before)}
    rng, items, key = random.Random(seed), [], {}
    for row in read_jsonl(after):
        first = old[row["id"]]
        if not _moved(first, row):
            continue
        pair = [("before", first), ("after", row)]
        rng.shuffle(pair)
        for side, (run, lists) in zip("xy", pair):
            key[f"{row['id']}-{side}"] = run
            items.append({**lists, "id": f"{row['id']}-{side}"})
    rng.shuffle(items)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sheet.md").write_text(sheet_of(items) + "\n", encoding="utf-8")
    (out / "key.json").write_text(json.dumps({"before": str(before), "after": str(after), "items": key}, indent=1) + "\n")
    return len(key) // 2


def paired_report(key_path: Path, verdicts: list[Path], posts: str = "", leave_out: frozenset[str] = frozenset()) -> str:
    key = json.loads(key_path.read_text(encoding="utf-8"))["items"]
    out = []
    for path in verdicts:
        scores, harmful, by_post = defaultdict(list), defaultdict(int), defaultdict(dict)
        for v in read_jsonl(path):
            post = v["id"].rsplit("-", 1)[0]
            if not post.startswith(posts) or post in leave_out:
                continue
            run = key[v["id"]]
            scores[run].append(int(v["score"]))
            harmful[run] += int(v.get("harmful", 0))
            by_post[post][run] = int(v["score"])
        pairs = [p for p in by_post.values() if len(p) == 2]
        higher = sum(p["after"] > p["before"] for p in pairs)
        lower = sum(p["after"] < p["before"] for p in pairs)
        means = ", ".join(f"{run} {sum(s) / len(s):.3f} (harmful {harmful[run]})" for run, s in sorted(scores.items(), reverse=True) if s)
        out.append(f"{path.parent.name}/{path.name}: posts {len(pairs)}: {means}; after higher {higher}, lower {lower}, "
                   f"same {len(pairs) - higher - lower}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pick", help="the lists a change moved, from two folders of `panel every` lists")
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, required=True)
    p.add_argument("--out", required=True, help="prefix of the two files written")
    p.add_argument("--sample", type=int, default=None, help="a seeded sample of this many")
    p.add_argument("--seed", type=int, default=11)
    p = commands.add_parser("sheet", help="a blind sheet of two runs' differing lists")
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=11)
    p = commands.add_parser("report", help="each run's mean on the paired posts, per verdict file")
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--verdicts", type=Path, nargs="+", required=True)
    p.add_argument("--posts", default="", help="only posts whose id starts with this")
    p.add_argument("--leave-out", nargs="+", default=[], metavar="ID", help="posts left out")
    args = parser.parse_args(argv)
    if args.command == "pick":
        moved, written = pick(args.before, args.after, args.out, args.sample, args.seed)
        print(f"{moved} posts' lists differ; {written} written to {args.out}.before/after.lists.jsonl")
    elif args.command == "sheet":
        print(f"{paired_sheet(args.before, args.after, args.out, args.seed)} posts differ: {args.out / 'sheet.md'}")
    else:
        print(paired_report(args.key, args.verdicts, args.posts, frozenset(args.leave_out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
