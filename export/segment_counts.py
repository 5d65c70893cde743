"""Build the segmenter's shipped counts from the project's training corpora.

    python -m export.segment_counts [--data ../shared/data] [--out inference/data/segmentation]

Reads the English text of tweeteval, instagram, crisislex, mediaeval2016, rumoureval2019 and sarcasm
(never the segmentation benchmarks) and writes, gzip-compressed, into --out:
- unigrams.txt.gz   word<TAB>count: words of the posts plus the pieces of CamelCase hashtags
                    (#ThrowbackThursday -> throwback thursday: free segmentation supervision)
- bigrams.txt.gz    "w1 w2"<TAB>count: adjacent words inside posts and inside CamelCase hashtags
- casing.txt.gz     word<TAB>surface form: how people write tokens that are not plain lowercase or
                    Titlecase (NBA, iPhone, COVID), for the formatter
- heldout.txt.gz    lowercased hashtag<TAB>words<TAB>count: 1 in 10 CamelCase hashtags (by hash), kept
                    out of the counts above, for tuning (not read at run time)

Words of the posts seen fewer than --min-count times and word pairs seen fewer than --min-bigram
times are dropped to keep the files small (CamelCase hashtag counts are all kept).

    python -m export.segment_counts --tune [--params NAME ...] [--rounds 2]

searches inference.text.segment.SegmenterConfig on stan_large_train.tsv and heldout.txt.gz (never on the
dev benchmarks) and prints the best configuration, to copy into SegmenterConfig's defaults.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import re
import sys
import zlib
from collections import Counter, defaultdict
from pathlib import Path

from inference.text.segment import camel_pieces

csv.field_size_limit(sys.maxsize)

URL = re.compile(r"https?://\S+|www\.\S+")
MENTION = re.compile(r"@\w+")
HASHTAG = re.compile(r"#([A-Za-z0-9_]+)")
WORD = re.compile(r"[a-z]+|[0-9]+")
CASE_BOUNDARY = re.compile(r"[a-z][A-Z]|[A-Z][A-Z][a-z]")  # casing that marks a word boundary
SURFACE = re.compile(r"(?<![\w#@])[A-Za-z][A-Za-z0-9]*")


def corpus_texts(data: Path):
    """Yield every English post, caption, comment and reply of the training corpora."""
    for path in sorted((data / "tweeteval").glob("**/*_text.txt")):
        yield from path.read_text(encoding="utf-8", errors="replace").splitlines()
    for path in sorted((data / "instagram").glob("*.csv")):
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.DictReader(f):
                yield row.get("text") or ""
                yield from (row.get("comments") or "").split("|")
    for path in sorted((data / "crisislex").glob("**/*.csv")):
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.reader(f):
                if len(row) > 1 and row[0] != "Tweet ID":
                    yield row[1]
    path = data / "mediaeval2016" / "train_posts.txt"
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) > 1:
                yield cols[1]
    path = data / "rumoureval2019" / "train_threads.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            thread = json.loads(line)
            yield thread.get("text") or ""
            yield from ((r.get("text") or "") for r in thread.get("replies", []))
    path = data / "sarcasm" / "twitter_training.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            yield item.get("response") or ""
            yield from item.get("context", [])


def is_heldout(tag_lower: str) -> bool:
    return zlib.crc32(tag_lower.encode()) % 10 == 0


def supervised_pieces(tag: str) -> list[str] | None:
    """Words of a CamelCase hashtag whose casing marks at least one word boundary, else None."""
    if not re.fullmatch(r"[A-Za-z0-9]+", tag) or not CASE_BOUNDARY.search(tag):
        return None
    pieces = camel_pieces(tag)
    if sum(p.isalpha() for p in pieces) < 2:
        return None
    return [p.lower() for p in pieces]


def build(data: Path, min_count: int, min_bigram: int):
    unigrams, bigrams = Counter(), Counter()
    tag_segs: dict[str, Counter] = defaultdict(Counter)
    forms: dict[str, Counter] = defaultdict(Counter)  # lowercase token -> surface forms
    for text in corpus_texts(data):
        text = URL.sub(" ", text.replace("\\n", " "))  # some sets keep newlines as a literal "\n"
        text = MENTION.sub(" ", text)
        for tag in HASHTAG.findall(text):
            pieces = supervised_pieces(tag)
            if pieces:
                tag_segs[tag.lower()][" ".join(pieces)] += 1
            for piece in camel_pieces(tag):
                if piece.isalpha() and len(piece) > 1 and pieces:
                    forms[piece.lower()][piece] += 1
        body = HASHTAG.sub(" , ", text)  # a hashtag breaks the word sequence
        letters = [c for c in body if c.isalpha()]
        shouting = letters and sum(c.isupper() for c in letters) > 0.5 * len(letters)
        if not shouting:
            for sentence in re.split(r"[.!?\n]+", body):
                for k, m in enumerate(SURFACE.finditer(sentence)):
                    if k > 0:  # sentence-initial capitals say nothing about a word's casing
                        forms[m.group().lower()][m.group()] += 1
        for chunk in re.split(r"[^\w' ]+", body.replace("’", "'")):
            words = WORD.findall(chunk.replace("'", "").lower())
            unigrams.update(words)
            bigrams.update(zip(words, words[1:]))

    import wordsegment

    dictionary = wordsegment.Segmenter.parse(wordsegment.Segmenter.UNIGRAMS_FILENAME)

    def is_word(piece: str) -> bool:
        # people often capitalise only some words (#AgeofUltron): a piece must be a word on its own
        return piece.isdigit() or unigrams[piece] >= 2 or dictionary.get(piece, 0) >= 5e5

    hashtags, heldout = {}, {}
    for tag, segs in tag_segs.items():
        words, count = segs.most_common(1)[0]
        if not all(is_word(p) for p in words.split()):
            continue
        (heldout if is_heldout(tag) else hashtags)[tag] = (words, count)
    unigrams = Counter({w: c for w, c in unigrams.items() if c >= min_count})
    bigrams = Counter({pair: c for pair, c in bigrams.items() if c >= min_bigram})
    for words, count in hashtags.values():
        pieces = words.split()
        unigrams.update(Counter(pieces * count))
        bigrams.update(Counter(list(zip(pieces, pieces[1:])) * count))

    casing = {}
    for word, counter in forms.items():
        # the formatter capitalises anyway: the question is which capitalised form people use
        lower = counter.get(word, 0)
        cased = Counter({f: c for f, c in counter.items() if f != word})
        if not cased:
            continue
        form, n = cased.most_common(1)[0]
        if len(word) < 2 or n < 3 or n < 0.5 * sum(cased.values()) or n < 0.5 * lower:
            continue
        if not word.isalnum() or not form.isascii() or (form[0].isupper() and form[1:].islower()):
            continue
        if form.isupper():  # acronyms (NBA, COVID, AK47), not words shouted in capitals
            keep = len(word) <= 5 or any(c.isdigit() for c in word)
        else:  # mixed case (iPhone, YouTube): only single dictionary words, not glued phrases
            keep = word in dictionary
        if keep:
            casing[word] = form
    bigrams = {f"{a} {b}": c for (a, b), c in bigrams.items()}
    return unigrams, bigrams, hashtags, heldout, casing


def write_gz(path: Path, rows) -> None:
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
        for row in rows:
            f.write("\t".join(str(x) for x in row) + "\n")


def main(argv: list[str] | None = None) -> int:
    default_data = os.environ.get("TAGSMITH_SHARED_DATA", str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=default_data)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "inference" / "data" / "segmentation"))
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--min-bigram", type=int, default=3)
    parser.add_argument("--tune", action="store_true", help="search SegmenterConfig on the counts in --out")
    parser.add_argument("--params", nargs="*", default=None, help="with --tune: only these config fields")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if args.tune:
        tune(Path(args.data), Path(args.out), args.rounds, args.params)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    unigrams, bigrams, hashtags, heldout, casing = build(Path(args.data), args.min_count, args.min_bigram)
    write_gz(out / "unigrams.txt.gz", sorted(unigrams.items(), key=lambda kv: (-kv[1], kv[0])))
    write_gz(out / "bigrams.txt.gz", sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0])))
    write_gz(out / "heldout.txt.gz", sorted((t, w, c) for t, (w, c) in heldout.items()))
    write_gz(out / "casing.txt.gz", sorted(casing.items()))
    print(f"unigrams {len(unigrams)}  bigrams {len(bigrams)}  hashtags {len(hashtags)}  "
          f"heldout {len(heldout)}  casing {len(casing)} -> {out}")
    return 0


# -- tuning ------------------------------------------------------------------------------------------
# python -m export.segment_counts --tune: coordinate search of SegmenterConfig on stan_large_train.tsv
# and the held-out corpus CamelCase hashtags (lowercased), never on the dev benchmarks.

REBUILD = {"corpus_weight", "bigram_weight", "letter_penalty", "min_ws_count"}
GRID = {
    "corpus_weight": [0.05, 0.1, 0.2, 0.3, 0.5, 0.7],
    "bigram_weight": [0.3, 0.5, 0.7, 0.8, 0.9, 0.95],
    "unk_logp": [-4.0, -6.0, -8.0, -10.0, -12.0, -14.0, -16.0],
    "unk_char": [-1.5, -2.0, -2.5, -3.0, -3.5, -4.0, -5.0],
    "word_penalty": [0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -5.0],
    "letter_penalty": [0.0, -1.0, -2.0, -3.0, -5.0],
    "digit_logp": [-4.0, -6.0, -8.0, -10.0, -12.0],
    "camel_span": [-2.0, -4.0, -6.0, -8.0, -12.0],
    "digit_span": [-2.0, -4.0, -6.0, -8.0, -12.0],
    "unk_camel_span": [0.0, -2.0, -4.0, -8.0, -12.0],
    "cased_inner_split": [0.0, -1.0, -2.0, -3.0, -4.0, -6.0],
    "min_ws_count": [0.0, 2e4, 5e4, 1e5],
}


def tune(data: Path, counts_dir: Path, rounds: int = 2, params: list[str] | None = None) -> None:
    from dataclasses import asdict, replace

    from inference.evaluation.bench_segment import evaluate, read_benchmark
    from inference.text.segment import Counts, Segmenter, SegmenterConfig

    counts = Counts.load(counts_dir)
    stan = read_benchmark(data / "segmentation" / "stan_large_train.tsv")
    heldout = []
    with gzip.open(counts_dir / "heldout.txt.gz", "rt", encoding="utf-8") as f:
        for line in f:
            tag, words, _ = line.rstrip("\n").split("\t")
            heldout.append((tag, [tuple(words.split())]))
    config = SegmenterConfig()
    seg = Segmenter(config, counts)

    def score(seg: Segmenter) -> tuple[float, float, float]:
        a = evaluate(seg._segment_tuple, stan)[0]
        b = evaluate(seg._segment_tuple, heldout)[0]
        return (a + b) / 2, a, b

    best = score(seg)
    print(f"start {best}", flush=True)
    for r in range(rounds):
        for name, values in GRID.items():
            if params and name not in params:
                continue
            for value in values:
                if getattr(config, name) == value:
                    continue
                trial = replace(config, **{name: value})
                if name in REBUILD:
                    cand = Segmenter(trial, counts)
                else:
                    cand = seg
                    cand.config = trial
                s = score(cand)
                if s[0] > best[0]:
                    best, config, seg = s, trial, cand
                    print(f"round {r} {name}={value}: mean {s[0]:.4f} stan_train {s[1]:.4f} heldout {s[2]:.4f}", flush=True)
                else:
                    seg.config = config
    print("best", asdict(config), best)


if __name__ == "__main__":
    sys.exit(main())
