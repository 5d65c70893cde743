"""Fit the tone rule's grief reader (inference/runtime/safety_tone.py) on labelled everyday posts.

    python -m export.grief_reader    # its cross-validated figures on the training posts (TRAIN), per language
    python -m export.safety_lexicon build                                   # writes it into safety.json

Posts: JSONL lines {"post", "grief": true|false, "lang" (default "en")} written for the purpose
(export/judged/README.md); the reader reads posts in the languages it learnt from (its `langs`). The
reader is a logistic regression (scikit-learn, L2, C) over the sentence encoder's vectors of the posts,
encoded as the grounding stage encodes a request (runtime/grounding.py `context_text`); its threshold is
the lowest logit at which at most MAX_FALSE of the posts without a loss read as grief, held out over FOLDS
folds: a cheerful tag kept off an ordinary post costs little, but the rule should not fire at random.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TRAIN = (ROOT / "export" / "judged" / "grief_train.jsonl",)  # English: a reader fitted on Chinese posts too
# read more Chinese losses but lost English ones at one threshold, so Chinese posts keep their words alone
C = 1.0
MAX_FALSE = 0.05
FOLDS = 5


def read_posts(*paths: Path) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def encode(posts: list[dict]) -> np.ndarray:
    """The posts' vectors [N, D], as a request's post + thread is encoded."""
    from inference.runtime.grounding import context_text
    from inference.runtime.sentence_encoder import SentenceEncoder

    return SentenceEncoder.load().encode([context_text(p["post"], p.get("thread", ())) for p in posts])


def _logits(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=2000).fit(x[~test], y[~test])
    return model.decision_function(x[test])


def held_out_logits(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each post's logit from a model fitted on the other folds [N]."""
    fold = np.random.default_rng(0).permutation(len(y)) % FOLDS
    out = np.zeros(len(y))
    for f in range(FOLDS):
        out[fold == f] = _logits(x, y, fold == f)
    return out


def threshold_for(logits: np.ndarray, y: np.ndarray) -> float:
    """The lowest logit at which at most MAX_FALSE of the posts without a loss read as grief."""
    other = np.sort(logits[~y])[::-1]
    allowed = int(MAX_FALSE * len(other))
    return float(max(0.0, other[allowed] + 1e-6)) if len(other) > allowed else 0.0


def measured(posts: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The posts' vectors [N, D], labels [N], held-out logits [N] and the threshold they give."""
    x, y = encode(posts), np.array([bool(p["grief"]) for p in posts])
    held = held_out_logits(x, y)
    return x, y, held, threshold_for(held, y)


def fit(posts: list[dict]) -> dict:
    """safety.json's grief_reader: weights [D], bias, threshold, and how it was made."""
    from sklearn.linear_model import LogisticRegression

    x, y, held, threshold = measured(posts)
    model = LogisticRegression(C=C, max_iter=2000).fit(x, y)
    return {"weights": [round(float(w), 6) for w in model.coef_[0]], "bias": float(model.intercept_[0]),
            "threshold": threshold, "langs": sorted({p.get("lang", "en") for p in posts}),
            "trained": {"posts": len(y), "grief": int(y.sum()), "c": C, "max_false": MAX_FALSE,
                        "held_out": by_language(posts, held, y, threshold)}}


def by_language(posts: list[dict], logits: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    """`report` for each language of the posts."""
    langs = np.array([p.get("lang", "en") for p in posts])
    return {lang: report(logits[langs == lang], y[langs == lang], threshold) for lang in sorted(set(langs))}


def report(logits: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    read = logits >= threshold
    return {"grief_read": f"{int((read & y).sum())} of {int(y.sum())}",
            "other_read": f"{int((read & ~y).sum())} of {int((~y).sum())}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.grief_reader", description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=Path, action="append", help="labelled posts (default: TRAIN)")
    args = parser.parse_args(argv)
    posts = read_posts(*(args.posts or TRAIN))
    _, y, held, threshold = measured(posts)
    print(json.dumps({"threshold": round(threshold, 4), "held_out": by_language(posts, held, y, threshold),
                      "at 0": by_language(posts, held, y, 0.0)}))


if __name__ == "__main__":
    main()
