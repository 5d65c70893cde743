"""Fit the judged topic gate (inference/runtime/topic_gate.py) on nearest topics labellers marked usable or not.

    python -m export.topic_gate candidates --lang en --posts export/judged/en_posts.jsonl [--posts ...] --out C.jsonl
    python -m export.topic_gate sheet --candidates C.jsonl --out DIR --parts 6
    python -m export.topic_gate fit --candidates C.jsonl --labels export/judged/topic_labels_en.jsonl [--write]
    python -m export.topic_gate keep --lang en

1. candidates: every post (everyday posts written for the purpose, export/judged/README.md; never a judging
   panel's) through the shipped folder's encoder as a request's grounding stage reads it: its NEAREST topics
   after the cue and named bonuses, with their FEATURES. A row's id is its file's folder and name and the
   post's id ("judged/en_posts.jsonl:ta-001"): the sets reuse post ids.
2. sheet: labellers' sheets (`--parts` of them), each post with its topics as hashtags in a shuffled order;
   a labeller writes one line a post, `{"id": ..., "usable": ["#Tag", ...], "harmful": [...]}`
   (export/judged/JUDGE.md); the label files keep the tags the sheet showed (`shown`).
3. fit: a logistic regression (scikit-learn, L2, features standardised, one bias a topic) on (topic, usable?)
   pairs. Printed over 5 folds of the posts: the nearest topic's precision where the fixed bounds
   (topics.MIN_COSINE, MIN_MARGIN) take it, and the gate's at that many; then the topics it adds beside
   theirs (the language's JOIN or more). --write puts inference/data/topic_gate_<lang>.json beside the
   topics file.
4. keep: the shipped gate as fitted, for a topics file edited in its cue or companion words only (the same topics
   in the same order), or with topics added after the last: its checksum updated, an added topic's own bias 0 (a
   topic no label has seen, as the fit leaves one), `trained` noting both. A refit on the same labels moves topics at
   the JOIN boundary both ways with no new evidence; a topic removed or moved needs `fit`.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from unittest import mock

import numpy as np

from export.baselines import load_jsonl
from export.ingest import write_jsonl
from inference.runtime.topic_gate import FEATURES, JOIN, RAISED, InvalidTopicGate, TopicGate, file_digest, gate_file
from inference.runtime.topics import CLEAR_MARGIN, MIN_COSINE, MIN_MARGIN, read_topics, topics_file
from inference.text.segment import format_tag

FOLDS = 5


def collect(paths: list[Path], lang: str) -> list[dict]:
    """Each post's nearest topics and their features, through the shipped folder's grounding stage."""
    from inference.runtime.suggester import DEFAULT_MODELS_DIR, Suggester
    from inference.runtime.grounding import context_text

    # the nearest topics do not read the gate, and a stale one (its topics file edited since) must not stop a refit
    with mock.patch("inference.runtime.topics.gate_file", lambda lang: Path("/nonexistent")):
        grounder = Suggester.from_folders([Path(DEFAULT_MODELS_DIR) / lang]).models[lang].grounder
    posts = [(f"{p.parent.name}/{p.name}:{post['id']}", post) for p in paths for post in load_jsonl(p)]
    threads = [post.get("thread") or [] for _, post in posts]
    contexts = grounder.encode_contexts([post["post"] for _, post in posts], threads)
    texts = [context_text(post["post"], thread) for (_, post), thread in zip(posts, threads)]
    rows = []
    for (key, post), (indices, features) in zip(posts, grounder.topics.nearest(contexts, texts)):
        words = [grounder.topics.words[i] for i in indices]
        rows.append({"id": key, "post": post["post"], "thread": post.get("thread") or [],
                     "topics": [{"tag": format_tag(w, lang), "words": w, "features": f.tolist()} for w, f in zip(words, features)]})
    return rows


def write_sheets(rows: list[dict], out: Path, parts: int) -> None:
    """`parts` sheets (out/sheet-<i>.md) of the rows in a shuffled order, each post's topics shuffled."""
    order = list(range(len(rows)))
    random.Random(5).shuffle(order)
    out.mkdir(parents=True, exist_ok=True)
    for part in range(parts):
        lines = []
        for i in order[part::parts]:
            row = rows[i]
            tags = [t["tag"] for t in row["topics"]]
            random.Random(row["id"]).shuffle(tags)
            lines += [f"## {row['id']}", f"post: {row['post']}", *[f"reply: {r}" for r in row["thread"]],
                      "candidates: " + " ".join(tags), ""]
        (out / f"sheet-{part + 1}.md").write_text("\n".join(lines), encoding="utf-8")


def labelled(rows: list[dict], labels: list[dict], words: list[str]):
    """(x [N, F], topic index [N], usable [N], post number [N], place [N]) of the labelled topics."""
    usable = {line["id"]: {t.lower() for t in line["usable"]} for line in labels}
    shown = {line["id"]: {t.lower() for t in line.get("shown", [])} for line in labels}
    index = {w: i for i, w in enumerate(words)}
    x, topic, y, group, place = [], [], [], [], []
    for number, row in enumerate(r for r in rows if r["id"] in usable):
        for k, t in enumerate(row["topics"]):
            if shown[row["id"]] and t["tag"].lower() not in shown[row["id"]]:
                continue  # a topic the labeller never saw (the code changed since) is no label
            x.append(t["features"]), topic.append(index[t["words"]]), y.append(t["tag"].lower() in usable[row["id"]])
            group.append(number), place.append(k)
    return np.asarray(x).reshape(-1, len(FEATURES)), np.asarray(topic), np.asarray(y, dtype=float), np.asarray(group), np.asarray(place)


def fit(x: np.ndarray, topic: np.ndarray, y: np.ndarray, topics: list[str], c: float) -> TopicGate:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    onehot = np.zeros((len(y), len(topics)))
    onehot[np.arange(len(y)), topic] = 1.0
    model = LogisticRegression(C=c, max_iter=5000).fit(np.hstack([(x - mean) / scale, onehot]), y)
    w = model.coef_[0]
    return TopicGate(tuple(topics), mean, scale, w[:len(FEATURES)], float(model.intercept_[0]), w[len(FEATURES):])


def cross_validate(x, topic, y, group, place, topics: list[str], c: float, lang: str) -> dict:
    """Held-out probabilities over FOLDS folds of the posts, read as the module docstring says."""
    fold = np.random.default_rng(0).permutation(group.max() + 1)[group] % FOLDS
    p = np.zeros(len(y))
    for f in range(FOLDS):
        train = fold != f
        p[~train] = fit(x[train], topic[train], y[train], topics, c).probabilities(x[~train], topic[~train])
    first = place == 0
    fixed = first & (x[:, FEATURES.index("cos")] >= MIN_COSINE[lang]) & (x[:, FEATURES.index("margin")] >= MIN_MARGIN)
    gate_order = np.argsort(-p[first], kind="stable")[:int(fixed.sum())]
    report = {"posts": int(group.max() + 1), "topics": len(y), "usable by place": [round(float(y[place == k].mean()), 3) for k in range(3)],
              "fixed bounds": {"taken": int(fixed.sum()), "precision": round(float(y[fixed].mean()), 3)},
              "gate, as many": round(float(y[first][gate_order].mean()), 3)}
    joined, raised = ~fixed & (p >= JOIN[lang]), fixed & (x[:, FEATURES.index("margin")] < CLEAR_MARGIN) & (p >= RAISED)
    report["raised"] = {"taken": int(raised.sum()), "precision": _share(y[raised])}
    report["joined"] = {"taken": int(joined.sum()), "precision": _share(y[joined])}
    return report


def _share(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 3) if len(values) else None


def keep(lang: str) -> str:
    """`keep`: the shipped gate re-stamped for the topics file as it is now, topics added after its last with their own
    bias 0 (InvalidTopicGate where a topic it was fitted for is gone or moved)."""
    path, target = topics_file(lang), gate_file(lang)
    data = json.loads(target.read_text(encoding="utf-8"))
    topics, fitted = list(dict.fromkeys(w for w, _ in read_topics(path))), data.get("topics", [])
    if topics[:len(fitted)] != fitted:
        raise InvalidTopicGate(f"{path.name} holds other topics than the gate was fitted for: refit (`fit --write`)")
    trained = data.get("trained", {})
    if added := topics[len(fitted):]:
        data.update(topics=topics, topic_bias=[*data["topic_bias"], *[0.0] * len(added)])
        trained["added"] = [*trained.get("added", []), *added]  # topics no label has seen
    trained["kept_for"] = [*trained.get("kept_for", []), data["topics_sha256"]]  # the files it served before
    data.update(topics_sha256=file_digest(path), trained=trained)
    target.write_text(json.dumps(data) + "\n", encoding="utf-8")
    return f"kept {target} for {path.name} (fitted on {trained.get('posts')} posts)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.topic_gate", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("candidates")
    p.add_argument("--posts", type=Path, action="append", required=True)
    p.add_argument("--lang", default="en")
    p.add_argument("--out", type=Path, required=True)
    p = commands.add_parser("sheet")
    p.add_argument("--candidates", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--parts", type=int, default=1)
    p = commands.add_parser("fit")
    p.add_argument("--candidates", type=Path, required=True)
    p.add_argument("--labels", type=Path, action="append", required=True)
    p.add_argument("--lang", default="en")
    p.add_argument("--c", type=float, default=0.3, help="inverse L2 strength")
    p.add_argument("--write", action="store_true", help="write inference/data/topic_gate_<lang>.json")
    p = commands.add_parser("keep")
    p.add_argument("--lang", default="en")
    args = parser.parse_args(argv)
    if args.command == "candidates":
        rows = collect(args.posts, args.lang)
        write_jsonl(args.out, rows)
        print(f"{len(rows)} posts -> {args.out}")
    elif args.command == "sheet":
        write_sheets(load_jsonl(args.candidates), args.out, args.parts)
    elif args.command == "keep":
        print(keep(args.lang))
    else:
        path = topics_file(args.lang)
        topics = list(dict.fromkeys(w for w, _ in read_topics(path)))
        data = labelled(load_jsonl(args.candidates), [line for p in args.labels for line in load_jsonl(p)], topics)
        report = cross_validate(*data, topics, args.c, args.lang)
        print(json.dumps(report))
        if args.write:
            gate = fit(*data[:3], topics, args.c)
            trained = {**report, "c": args.c, "candidates": str(args.candidates), "labels": [str(p) for p in args.labels]}
            gate_file(args.lang).write_text(json.dumps(gate.to_json(file_digest(path), trained)) + "\n", encoding="utf-8")
            print(f"wrote {gate_file(args.lang)}: " + ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURES, gate.weights)))


if __name__ == "__main__":
    main()
