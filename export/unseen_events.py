"""A stand-in for issue #16's CrisisLex target on unseen events: dev's crisis posts as if their event were new.

    tagsmith predict --model inference/models/en --input runs/corpus/en_dev.jsonl --output PRED --k 30
    python -m export.unseen_events --train runs/corpus/en_train.jsonl --dev runs/corpus/en_dev.jsonl --pred PRED

The official test split holds CrisisLex events the training data does not; dev's CrisisLex posts come from
the same 23 events as training's, so the model knows their tags (#yycflood-style names, #COFlood). Here each
dev CrisisLex post's ranked list loses every tag its event owns in training (at least `--share` of the
training posts that carry the tag belong to that event) unless the post writes the tag's words itself (a
phrase of the post is no knowledge of the event); the top 10 of what is left are scored as `tagsmith
evaluate` scores them, beside the lists as they were. The model still learnt from the event's posts
(retrieval neighbours, the reranker, generic words like #flood), so this flatters a truly new event.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from inference.evaluation.metrics import evaluate, read_tag_lines
from inference.text.names import content_overlap
from inference.text.tags import tag_key

K = 10
SHARE = 0.8


def event_of(record: dict) -> str | None:
    """A CrisisLex record's event ("2013_Colorado_floods"), from its id; None for other sources."""
    parts = str(record.get("id", "")).split("-")
    return parts[1] if parts[0] == "crisislex" and len(parts) > 2 else None


def event_tags(train: Path, share: float) -> dict[str, set[str]]:
    """event -> the tag keys whose training posts come from that event at least `share` of the time."""
    by_event: dict[str, Counter] = defaultdict(Counter)
    total: Counter = Counter()
    with train.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            keys = {tag_key(t) for t in record.get("hashtags", ())}
            total.update(keys)
            if (event := event_of(record)) is not None:
                by_event[event].update(keys)
    return {e: {k for k, n in c.items() if n >= share * total[k]} for e, c in by_event.items()}


def unseen(records: list[dict], pred: list[list[str]], owned: dict[str, set[str]]) -> tuple[list, list, list]:
    """The CrisisLex records' gold, their lists cut to K, and their lists without their event's own tags."""
    gold, before, after = [], [], []
    for record, tags in zip(records, pred):
        if (event := event_of(record)) is None:
            continue
        text = " ".join([record.get("post") or "", *(record.get("thread") or ())])
        own = owned.get(event, set())
        kept = [t for t in tags if tag_key(t) not in own or _written(t, text)]
        gold.append(record["hashtags"]), before.append(tags[:K]), after.append(kept[:K])
    return gold, before, after


def _written(tag_words: str, text: str) -> bool:
    """The text writes every content word of the tag (and the tag has one)."""
    present, total = content_overlap(tag_words, text, "en")
    return present == total > 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.unseen_events", description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--pred", type=Path, required=True, help="`tagsmith predict --k 30` on --dev")
    parser.add_argument("--share", type=float, default=SHARE)
    args = parser.parse_args(argv)
    records = [json.loads(line) for line in args.dev.open(encoding="utf-8") if line.strip()]
    gold, before, after = unseen(records, read_tag_lines(args.pred), event_tags(args.train, args.share))
    for name, lists in (("as predicted", before), ("event's own tags removed", after)):
        m = evaluate(gold, lists, "en")
        print(f"{name}: CrisisLex posts {len(gold)}, " + ", ".join(f"{k} {m[k]:.2f}" for k in ("F1@1", "F1@5", "MAP@5", "RG-1")))
    print(f"the post's own phrases, the best of them first (a ceiling for what the post alone gives): RG-1 "
          f"{phrase_ceiling([r for r in records if event_of(r) is not None]):.2f}")


def phrase_ceiling(records: list[dict]) -> float:
    """RG-1 (the first tag's ROUGE-1, as `evaluate` scores it) if each post's best phrase of its own
    (text/phrases.extract_phrases, the phrases the service proposes from a post) came first."""
    from inference.evaluation.metrics import rouge_scores
    from inference.text.phrases import extract_phrases

    best = []
    for record in records:
        phrases = extract_phrases(record.get("post") or "", list(record.get("thread") or ()), "en")
        best.append(max((rouge_scores(p.words, record["hashtags"], "en")[0] for p in phrases), default=0.0))
    return 100 * sum(best) / max(1, len(best))


if __name__ == "__main__":
    main()
