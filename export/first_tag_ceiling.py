"""How far reordering alone could lift F1@1: each list's first gold tag among its top K moved to the front.

    tagsmith predict --model inference/models/en --input DEV --output PRED --k 30
    python -m export.first_tag_ceiling --gold DEV --pred PRED [--source instagram]

F1@1 counts one tag a post against all its gold tags, so a source whose posts carry many gold tags
(Instagram: 7.8 a post) has a low ceiling even when the first tag is right. This prints F1@1 as
predicted and, for K in WITHIN, with an oracle that knows the gold and moves the best-ranked gold tag of
the top K to the front (the list is otherwise unchanged): what a perfect reranker of today's
candidates could reach, never a figure of the product.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inference.evaluation.metrics import evaluate, read_tag_lines
from inference.text.tags import tag_key

WITHIN = (1, 2, 3, 5, 10)


def gold_first(gold: list[str], tags: list[str], within: int) -> list[str]:
    """tags with the first of its top `within` that is a gold tag moved to the front (as it was if none)."""
    keys = {tag_key(t) for t in gold}
    hit = next((i for i, t in enumerate(tags[:within]) if tag_key(t) in keys), 0)
    return [tags[hit], *tags[:hit], *tags[hit + 1:]] if tags else tags


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.first_tag_ceiling", description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=Path, required=True, help="a data file in the shared JSONL format")
    parser.add_argument("--pred", type=Path, required=True, help="`tagsmith predict --k 30` on --gold")
    parser.add_argument("--source", default=None, help="only the records of this source")
    parser.add_argument("--lang", default="en")
    args = parser.parse_args(argv)
    records = [json.loads(line) for line in args.gold.open(encoding="utf-8") if line.strip()]
    pairs = [(r["hashtags"], p) for r, p in zip(records, read_tag_lines(args.pred))
             if args.source is None or r.get("source") == args.source]
    gold = [g for g, _ in pairs]
    print(f"as predicted: posts {len(pairs)}, F1@1 {evaluate(gold, [p for _, p in pairs], args.lang)['F1@1']:.2f}")
    for k in WITHIN[1:]:
        m = evaluate(gold, [gold_first(g, p, k) for g, p in pairs], args.lang)
        print(f"gold tag of the top {k} first: F1@1 {m['F1@1']:.2f}, P@1 {m['P@1']:.2f}")


if __name__ == "__main__":
    main()
