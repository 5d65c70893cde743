"""Fit the judged tag ranker (inference/runtime/tag_ranker.py) on candidates judges marked usable or not.

    python -m export.tag_ranker candidates --posts export/judged/en_posts.jsonl --out runs/tag_ranker/candidates.jsonl
    python -m export.tag_ranker sheet --candidates runs/tag_ranker/candidates.jsonl --out SHEET.md [--part 1/4]
    python -m export.tag_ranker fit --candidates runs/tag_ranker/candidates.jsonl \
        --labels export/judged/en_labels.jsonl [--write inference/models/en]
    python -m export.tag_ranker candidates --lang zh --gold runs/corpus/zh_dev.jsonl --half a --out C.jsonl
    python -m export.tag_ranker half --input runs/corpus/en_dev.jsonl --half b --out runs/corpus/en_dev_b.jsonl
    python -m export.tag_ranker score --candidates C.jsonl --labels export/judged/en_labels_check.jsonl --folder inference/models/en

1. candidates: every post (everyday English posts written for the purpose, export/judged/README.md; never
   a judging panel's) goes through the shipped service as a request does, with the relevance floor; the
   candidates that may be suggested (grounding.py `Grounder.eligible`: past the floor, the safety filter
   and the support rules), the `--top` best by the weighted sum, are written with their FEATURES. With
   `--gold`, a data file's records too (every other one with `--half a`: half b stays held out), as
   `tagsmith predict` asks (filling k, no floor), labelled by their gold tags; `--lang zh` the Chinese folder.
2. sheet: a judge's sheet, each post with its candidates in a shuffled order; the judge writes one line
   a post, `{"id": ..., "usable": ["#Tag", ...]}` (export/judged/JUDGE.md); the label files keep the
   candidates the sheet showed (`shown`), and a candidate the code proposes since is left out.
3. fit: a logistic regression (scikit-learn, L2, features standardised) on (candidate, usable or gold?)
   pairs, the judged posts' rows carrying `--judged-share` of the weight. Printed: over 5 folds of the
   posts, the mean of min(2, usable tags in the top 5), the judging panels' score, and the share whose top 1
   is usable, for the weighted sum's order and the ranker's (and for the gold posts the same with gold
   tags). --write puts tag_ranker.json into the folder and rewrites its manifest.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from export.baselines import load_jsonl
from export.folder_manifest import write_manifest
from export.ingest import write_jsonl
from inference.evaluation.readers import read_records
from inference.runtime.grounding import RANKED_BY_JUDGES
from inference.runtime.grounding_rules import VOCAB_GUESSES
from inference.runtime.tag_ranker import FEATURES, TAG_RANKER, TagRanker, features, with_head
from inference.text.segment import format_tag
from inference.text.tags import tag_key, variant_key

FOLDS = 5
TOP = 5  # a panel judges the top 5
K = 10  # `tagsmith predict`'s default k


def collect(posts: list[dict], top: int, gold: bool = False, lang: str = "en") -> list[dict]:
    """Each post's eligible candidates through the shipped English folder, best `top` by the weighted sum:
    under the service's floor, or (gold: data-set records, labelled by their gold tags) as `tagsmith
    predict` asks, filling k."""
    from inference.evaluation.predict import request_for
    from inference.runtime.suggester import Suggester

    suggester = Suggester.from_default_models()
    grounder = suggester.models[lang].grounder
    seen: list = []
    plain = grounder.eligible

    def eligible(prepared, dropped, floor):  # records what the request's grounding stage may suggest
        kept, floored = plain(prepared, dropped, floor)
        head = sorted(kept, key=lambda pair: -pair[0].score)[:top]
        grounder.mark_shown([e for _, e in head], prepared.context)  # as `Grounder.ranked` does
        seen.append((prepared.text, head))
        return kept, floored

    grounder.eligible, grounder.ranker = eligible, None
    out = []
    for post in tqdm(posts, desc="candidates", unit="post", file=sys.stderr):
        seen.clear()
        result = suggester.suggest(request_for(post, K if gold else TOP, lang, floor=not gold))
        text, kept = seen[-1] if seen else ("", [])
        rows = with_head([features(e, text, r.score, grounder.tag_count(tag_key(r.words)), lang) for r, e in kept])
        row = {"id": post["id"], "post": post["post"], "thread": post.get("thread", []),
               "shipped": [s.tag for s in result.suggestions],
               "candidates": [{"tag": format_tag(r.words, lang), "key": tag_key(r.words), "base": float(r.score),
                               "features": [float(v) for v in values]} for (r, _), values in zip(kept, rows)]}
        if gold:
            row["gold"] = sorted({tag_key(t) for t in post["hashtags"]})
        out.append(row)
    return out


def half(records: list[dict], which: str) -> list[dict]:
    """Every other record: "a" the first, third, ... (the ranker's), "b" the second, fourth, ... (held out)."""
    return records[{"a": 0, "b": 1}[which]::2]


def write_sheet(rows: list[dict], part: tuple[int, int]) -> str:
    """A judge's sheet of the candidate rows of one part (i of n), candidates shuffled per post."""
    index, parts = part
    lines = []
    for row in rows[index - 1::parts]:
        tags = [c["tag"] for c in row["candidates"]]
        random.Random(row["id"]).shuffle(tags)
        lines += [f"## {row['id']}", f"post: {row['post']}", *[f"reply: {r}" for r in row["thread"]],
                  "candidates: " + (" ".join(tags) if tags else "(none)"), ""]
    return "\n".join(lines)


class Labelled(NamedTuple):
    x: np.ndarray  # [N, F] the candidates' FEATURES
    y: np.ndarray  # [N] 1: usable (judged) or gold
    group: np.ndarray  # [N] the candidate's post number
    judged: np.ndarray  # [N] its post is a judged one (not gold)
    variants: np.ndarray  # [N] its variant_key: #Plant and #Plants count once in a list


def labelled(rows: list[dict], labels: list[dict]) -> Labelled:
    """The candidates of the judged posts that have a label line and of the posts with gold tags."""
    usable, shown = {}, {}
    for line in labels:
        usable.setdefault(line["id"], set()).update(tag_key(t.lstrip("#")) for t in line["usable"])
        if "shown" in line:  # a candidate the judge never saw (the code changed since) is no label
            shown.setdefault(line["id"], set()).update(tag_key(t.lstrip("#")) for t in line["shown"])
    out: list[list] = [[], [], [], [], []]
    kept = [r for r in rows if r["id"] in usable or "gold" in r]
    for number, row in enumerate(kept):
        good = usable[row["id"]] if "gold" not in row else set(row["gold"])
        for c in row["candidates"]:
            if "gold" not in row and row["id"] in shown and c["key"] not in shown[row["id"]]:
                continue
            for column, value in zip(out, (c["features"], float(c["key"] in good), number, "gold" not in row, variant_key(c["key"]))):
                column.append(value)
    x, y, group, judged, variants = out
    return Labelled(np.asarray(x).reshape(-1, len(FEATURES)), np.asarray(y), np.asarray(group),
                    np.asarray(judged, dtype=bool), np.asarray(variants, dtype=object))


def fit(x: np.ndarray, y: np.ndarray, c: float = 1.0, weight: np.ndarray | None = None) -> TagRanker:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weight)
    return TagRanker(mean, scale, model.coef_[0], float(model.intercept_[0]))


def weights(judged: np.ndarray, share: float) -> np.ndarray:
    """Row weights giving the judged rows `share` of the total weight (all of it without gold rows)."""
    if judged.all() or not judged.any():
        return np.ones(len(judged))
    return np.where(judged, share / judged.sum(), (1 - share) / (~judged).sum()) * len(judged)


def list_scores(score: np.ndarray, data: Labelled, rows: np.ndarray, guesses: int | None = None) -> tuple[float, float]:
    """Over the posts of `rows`: the mean of min(2, distinct usable tags in the top 5 by `score`, a
    variant of a tag above it ranked last as the service does) and the share whose top 1 is usable;
    `guesses`: at most this many of the vocabulary's guesses sharing no word with the post (the service's
    `grounding_rules.few_guesses`, under the floor)."""
    panel, first = [], []
    guess = (data.x[:, FEATURES.index("from_vocab")] == 1) & (data.x[:, FEATURES.index("dense")] == 0) \
        & (data.x[:, FEATURES.index("in_post")] == 0)
    for g in np.unique(data.group[rows]):
        members = np.flatnonzero(rows & (data.group == g))
        order = members[np.argsort(-score[members], kind="stable")]
        if guesses is not None:
            order = [i for n, i in enumerate(order) if not guess[i] or guess[order[:n + 1]].sum() <= guesses]
        seen, ahead, behind = set(), [], []
        for i in order:
            (behind if data.variants[i] in seen else ahead).append(i)
            seen.add(data.variants[i])
        top = (ahead + behind)[:TOP]
        panel.append(min(2.0, len({data.variants[i] for i in top if data.y[i]})))
        first.append(data.y[top[0]])
    return float(np.mean(panel)), float(np.mean(first))


def score(rows: list[dict], labels: list[dict], folder: Path) -> dict:
    """The list scores of the weighted sum's order and of `folder`'s ranker on labelled candidates."""
    data = labelled(rows, labels)
    every = np.ones(len(data.y), dtype=bool)
    learned = TagRanker.load(folder).probabilities(data.x.tolist())
    return {"posts": int(data.group.max() + 1), "weighted_sum": list_scores(data.x[:, FEATURES.index("base")], data, every),
            "ranker": list_scores(learned, data, every), "ranker, one guess": list_scores(learned, data, every, VOCAB_GUESSES),
            "best possible": list_scores(data.y.astype(float), data, every)}


def cross_validate(data: Labelled, c: float, share: float) -> dict:
    """Held-out scores of the weighted sum's order and the ranker's, FOLDS folds over the posts: on the
    judged posts (panel score, usable at 1), on the gold posts (gold in the top 5 at most 2, gold at 1)."""
    x, y, group, judged = data.x, data.y, data.group, data.judged
    fold = np.random.default_rng(0).permutation(group.max() + 1)[group] % FOLDS
    learned = np.zeros(len(y))
    for f in range(FOLDS):
        train = fold != f
        ranker = fit(x[train], y[train], c, weights(judged[train], share))
        learned[fold == f] = ranker.probabilities(x[fold == f].tolist())
    base = x[:, FEATURES.index("base")]
    report = {"posts": int(group.max() + 1), "candidates": len(y), "positive": int(y.sum())}
    for name, rows in (("judged", judged), ("gold", ~judged)):
        if rows.any():
            report[name] = {"weighted_sum": list_scores(base, data, rows), "ranker": list_scores(learned, data, rows)}
    if judged.any():
        report["judged"]["ranker, one guess"] = list_scores(learned, data, judged, VOCAB_GUESSES)
        report["judged"]["best possible"] = list_scores(y.astype(float), data, judged)
    return report


def main(argv: list[str] | None = None) -> None:
    """Parse the command line (see the module docstring) and `run` it."""
    parser = argparse.ArgumentParser(prog="python -m export.tag_ranker", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("candidates")
    p.add_argument("--posts", type=Path, action="append", default=[], help="judged posts (JSONL)")
    p.add_argument("--gold", type=Path, help="a data file whose records' gold tags label their candidates")
    p.add_argument("--half", choices=("a", "b"), help="of --gold: every other record (a: the ranker's)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--top", type=int, default=RANKED_BY_JUDGES)
    p.add_argument("--lang", default="en", help="the model folder's language (its judged posts, if any, in it)")
    p = commands.add_parser("half", help="write every other record of a data file")
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--half", choices=("a", "b"), required=True)
    p.add_argument("--out", type=Path, required=True)
    p = commands.add_parser("sheet")
    p.add_argument("--candidates", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--part", default="1/1", help="i/n: every n-th post from the i-th")
    p = commands.add_parser("score", help="a folder's ranker on labelled candidates it never saw")
    p.add_argument("--candidates", type=Path, required=True)
    p.add_argument("--labels", type=Path, action="append", required=True)
    p.add_argument("--folder", type=Path, required=True)
    p = commands.add_parser("fit")
    p.add_argument("--candidates", type=Path, action="append", required=True)
    p.add_argument("--labels", type=Path, action="append", default=[], help="judged posts' labels (none: gold alone)")
    p.add_argument("--c", type=float, default=0.3, help="inverse L2 strength")
    p.add_argument("--judged-share", type=float, default=0.3, help="of the training weight, on judged posts")
    p.add_argument("--write", type=Path, help="a model folder to write tag_ranker.json into")
    p.add_argument("--leave-out", action="append", default=[], choices=FEATURES, metavar="FEATURE",
                   help="cross-validate with this feature held constant (what it adds); never with --write")
    run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> None:
    if args.command == "candidates":
        rows = collect([p for path in args.posts for p in load_jsonl(path)], args.top, lang=args.lang)
        if args.gold:
            records = list(read_records(args.gold))
            records = half(records, args.half) if args.half else records
            rows += collect([r for r in records if r.get("hashtags")], args.top, gold=True, lang=args.lang)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(args.out, rows)
        print(f"{len(rows)} posts, {sum(len(r['candidates']) for r in rows)} candidates -> {args.out}")
    elif args.command == "half":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(args.out, half(list(read_records(args.input)), args.half))
    elif args.command == "score":
        print(json.dumps(score(load_jsonl(args.candidates), [line for path in args.labels for line in load_jsonl(path)], args.folder)))
    elif args.command == "sheet":
        index, parts = (int(v) for v in args.part.split("/"))
        args.out.write_text(write_sheet(load_jsonl(args.candidates), (index, parts)), encoding="utf-8")
    else:
        rows = [r for path in args.candidates for r in load_jsonl(path)]
        data = labelled(rows, [line for path in args.labels for line in load_jsonl(path)])
        if args.leave_out:
            if args.write:
                raise SystemExit("--leave-out measures a feature; a folder's ranker reads them all (no --write)")
            data.x[:, [FEATURES.index(name) for name in args.leave_out]] = 0.0  # constant: the fit gives it no weight
        report = cross_validate(data, args.c, args.judged_share)
        print(json.dumps(report))
        if args.write:
            ranker = fit(data.x, data.y, args.c, weights(data.judged, args.judged_share))
            trained = {**report, "c": args.c, "judged_share": args.judged_share,
                       "candidates": [str(p) for p in args.candidates], "labels": [str(p) for p in args.labels]}
            (args.write / TAG_RANKER).write_text(json.dumps(ranker.to_json(trained), indent=1) + "\n", encoding="utf-8")
            write_manifest(args.write)
            print(f"wrote {args.write / TAG_RANKER}: " + ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURES, ranker.weights)))



if __name__ == "__main__":
    main()
