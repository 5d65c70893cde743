"""How many of a panel's posts are near copies of earlier sets' posts, and the judges' means without them.

    python -m inference.evaluation.panel_overlap --panel export/judged/en_fresh33/posts.jsonl \
        --earlier docs/panel*/*.jsonl export/judged/*/*.jsonl \
        [--verdicts export/judged/en_fresh33/head.verdicts*.jsonl] [--ratio 0.7]

Helpers asked for a typical feed write the same situations set after set ("first coffee of the day and i can finally
see colours again" word for word), so a panel never read may still hold posts whose lists were read in an earlier
set. A post is a near copy where difflib's ratio of its words (lower case, punctuation as spaces) to an earlier post's
is --ratio or more. Files in the panel's own folder, records of the panel's own ids (its lists judged again elsewhere)
and records without a "post" are skipped.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
from pathlib import Path

RATIO = 0.7


def words(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def read_posts(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else None
        if isinstance(record, dict) and record.get("post"):
            out.append(record)
    return out


def near_copies(panel: Path, earlier: list[Path], ratio: float = RATIO) -> dict[str, float]:
    """The panel's post ids that nearly copy an earlier post -> their best ratio."""
    mine_ids = {r["id"] for r in read_posts(panel)}
    pool = {words(r["post"]) for p in earlier if p.resolve().parent != panel.resolve().parent
            for r in read_posts(p) if r.get("id") not in mine_ids}
    found = {}
    for record in read_posts(panel):
        mine, best = words(record["post"]), 0.0
        for other in pool:
            match = difflib.SequenceMatcher(None, mine, other)
            if match.real_quick_ratio() >= ratio and match.quick_ratio() >= ratio:
                best = max(best, match.ratio())
        if best >= ratio:
            found[record["id"]] = round(best, 2)
    return found


def means(verdicts: Path, copies: set[str]) -> str:
    """A verdict file's mean score on the posts that are not near copies, and on those that are."""
    scores = [json.loads(line) for line in verdicts.read_text(encoding="utf-8").splitlines() if line.strip()]
    parts = []
    for name, keep in (("new", lambda v: v["id"] not in copies), ("near copies", lambda v: v["id"] in copies)):
        chosen = [v["score"] for v in scores if keep(v)]
        parts.append(f"{name} {len(chosen)}: " + (f"{sum(chosen) / len(chosen):.2f}" if chosen else "-"))
    return f"{verdicts.name}: " + ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.evaluation.panel_overlap", description=__doc__.split("\n")[0])
    parser.add_argument("--panel", type=Path, required=True)
    parser.add_argument("--earlier", type=Path, nargs="+", required=True)
    parser.add_argument("--verdicts", type=Path, nargs="*", default=[])
    parser.add_argument("--ratio", type=float, default=RATIO)
    args = parser.parse_args(argv)
    found = near_copies(args.panel, args.earlier, args.ratio)
    print(f"{args.panel}: {len(found)} of {len(read_posts(args.panel))} posts are near copies (ratio >= {args.ratio}): "
          + ", ".join(f"{k} {v}" for k, v in found.items()))
    for path in args.verdicts:
        print(means(path, set(found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
