"""The paper's metrics, as its released evaluation script (yuewang-cuhk/HashtagGeneration, evaluate.py) computes them.

For every post: `gold` is its list of gold tags, `pred` its ranked predictions (tag strings, words separated by
spaces). Tags are compared after the script's normalisation: Porter-stem the whole tag string (nltk's
PorterStemmer, as the script does), lowercase. One deliberate difference: whitespace and punctuation inside a
tag are ignored when matching ("aus open" == "ausopen" == "aus-open"), because a hashtag is the same hashtag
however its words are segmented; the script differs only where the two sides segment a tag differently.

- P@K = correct@K / (K x posts), R@K = correct@K / all gold tags, F1@K = 2PR / (P + R), micro-averaged;
  correct@K counts the gold tags found among the top K predictions.
- MAP@K (script's `average_precision`): per post, the mean of precision@i over the hit positions i <= K,
  divided by the post's number of gold tags; averaged over posts (0 for a post without hits).
- RG-1 and RG-SU4: ROUGE-1.5.5 F1 (alpha 0.5, Porter stemming of tokens longer than 3 characters, no
  stopword removal, "average" scoring over multiple references) of the top-1 prediction against each gold tag
  as a separate reference, averaged over posts. SU4 = skip bigrams with at most 4 words between, plus unigrams.
  English tokens: lowercase letters/digits (punctuation ignored); Chinese: one token per CJK character (the
  script's `map2digit`), latin words and digit runs as tokens. Second deliberate difference: ROUGE stems each
  token (ROUGE's own -m) but not the whole tag string first, which the script also did and which cuts
  multi-word tags ("new york city" -> "new york c", whose "c" then matches nothing). pythonrouge's 50-byte peer truncation and
  bootstrap resampling are left out: they only matter for tags over 50 bytes and for confidence intervals.

All figures are returned in percent (0-100), as the paper's tables print them.

`corel_protocol` is the image-annotation protocol of Corel-5k (issue 8), not the paper's: each image annotated
with its top 5 words; per-word precision and recall averaged over the words of the test vocabulary; F1 of the
two averages; N+ = words with recall > 0.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import Counter
from pathlib import Path

KS = (1, 5, 10, 15)
HEADLINE = ("F1@1", "F1@5", "MAP@5", "RG-1", "RG-SU4")

_CJK_CHAR = r"[\u4e00-\ufaff]"
_ZH_TOKEN_RE = re.compile(rf"{_CJK_CHAR}|[0-9]+|[a-zA-Z]+'*[a-z]*")
_EN_TOKEN_RE = re.compile(r"[^\W_]+")
_NOT_WORD_RE = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=1)
def _stemmers():
    from nltk.stem.porter import PorterStemmer  # lazy: nltk's import costs ~0.5 s

    return PorterStemmer(), PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)


@functools.lru_cache(maxsize=500_000)
def _script_stem(tag: str) -> str:
    """The script's normalisation: strip, Porter-stem the whole tag string (lowercases too)."""
    tag = tag.strip()
    return _stemmers()[0].stem(tag) if tag else ""


@functools.lru_cache(maxsize=500_000)
def match_key(tag: str) -> str:
    """What two tags must share to count as the same hashtag."""
    return _NOT_WORD_RE.sub("", _script_stem(tag))


@functools.lru_cache(maxsize=500_000)
def _rouge_stem(token: str) -> str:
    return _stemmers()[1].stem(token) if len(token) > 3 else token


def rouge_tokens(tag: str, lang: str) -> list[str]:
    text = tag.lower()
    if lang == "zh":
        tokens = _ZH_TOKEN_RE.findall(text)
    else:
        tokens = _EN_TOKEN_RE.findall(text)
    return [_rouge_stem(t.lower().replace("'", "")) if not re.match(_CJK_CHAR, t) else t for t in tokens if t]


def _skip_bigrams_and_unigrams(tokens: list[str], max_gap: int = 4) -> Counter:
    grams: Counter = Counter(tokens)
    for i in range(len(tokens)):
        for j in range(i + 1, min(len(tokens), i + max_gap + 2)):
            grams[(tokens[i], tokens[j])] += 1
    return grams


def _rouge_f(peer: Counter, refs: list[Counter]) -> float:
    """ROUGE-1.5.5 "-f A" (average) over references: hits and counts summed over the references."""
    hits = sum(sum((peer & ref).values()) for ref in refs)
    ref_count = sum(sum(ref.values()) for ref in refs)
    peer_count = sum(peer.values()) * len(refs)
    if hits == 0 or ref_count == 0 or peer_count == 0:
        return 0.0
    recall, precision = hits / ref_count, hits / peer_count
    return 2 * precision * recall / (precision + recall)


def rouge_scores(top1: str, gold: list[str], lang: str) -> tuple[float, float]:
    """(ROUGE-1 F1, ROUGE-SU4 F1) of one prediction against a post's gold tags, each a reference."""
    peer = rouge_tokens(top1, lang) if top1 else []
    refs = [rouge_tokens(g, lang) for g in gold if g.strip()]
    if not peer or not refs:
        return 0.0, 0.0
    r1 = _rouge_f(Counter(peer), [Counter(r) for r in refs])
    su4 = _rouge_f(_skip_bigrams_and_unigrams(peer), [_skip_bigrams_and_unigrams(r) for r in refs])
    return r1, su4


def _clean(tags) -> list[str]:
    return [t.strip() for t in tags if t and t.strip()]


def evaluate(gold: list[list[str]], pred: list[list[str]], lang: str = "en", ks=KS) -> dict:
    """Metrics over posts: gold[i] the gold tags of post i, pred[i] its ranked predictions. Percent."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold posts but {len(pred)} prediction lines")
    n_posts = len(gold)
    if n_posts == 0:
        raise ValueError("nothing to evaluate: no posts")
    correct = dict.fromkeys(ks, 0)
    ap_sums = dict.fromkeys(ks, 0.0)
    gold_count = 0
    rg1 = rgsu4 = 0.0
    for gold_tags, pred_tags in zip(gold, pred):
        gold_tags, pred_tags = _clean(gold_tags), _clean(pred_tags)
        gold_keys = [match_key(t) for t in gold_tags]
        pred_keys = [match_key(t) for t in pred_tags]
        gold_count += len(gold_keys)
        hits = [1 if p in gold_keys else 0 for p in pred_keys]
        for k in ks:
            top = set(pred_keys[:k])
            correct[k] += sum(1 for g in gold_keys if g in top)
            # average_precision(r[:k], n_gold): mean precision at the hit positions, / n_gold
            precisions, seen = [], 0
            for i, hit in enumerate(hits[:k]):
                if hit:
                    seen += 1
                    precisions.append(seen / (i + 1))
            if precisions:
                ap_sums[k] += sum(precisions) / len(precisions) / len(gold_keys)
        r1, su4 = rouge_scores(pred_tags[0] if pred_tags else "", gold_tags, lang)
        rg1 += r1
        rgsu4 += su4

    out: dict = {}
    for k in ks:
        p = correct[k] / (k * n_posts)
        r = correct[k] / gold_count if gold_count else 0.0
        f = 2 * p * r / (p + r) if p and r else 0.0
        out[f"P@{k}"], out[f"R@{k}"], out[f"F1@{k}"] = 100 * p, 100 * r, 100 * f
        out[f"MAP@{k}"] = 100 * ap_sums[k] / n_posts
    out["RG-1"] = 100 * rg1 / n_posts
    out["RG-SU4"] = 100 * rgsu4 / n_posts
    out["posts"] = n_posts
    out["gold_tags"] = gold_count
    return out


def corel_protocol(gold: list, pred: list, top: int = 5) -> dict:
    """Corel-5k annotation protocol: pred[i] ranked words of image i (its first `top` annotate it), gold[i]
    its gold words (any hashable labels). Per-word precision and recall averaged over the words with >= 1
    gold image; a word never predicted has precision 0 (the usual convention); F1 of the two averages;
    N+ = words with recall > 0. Percent."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold images but {len(pred)} prediction lines")
    hits: Counter = Counter()
    n_pred: Counter = Counter()
    n_gold: Counter = Counter()
    for gold_words, pred_words in zip(gold, pred):
        gold_words = set(gold_words)
        for w in dict.fromkeys(pred_words[:top]):
            n_pred[w] += 1
            hits[w] += w in gold_words
        n_gold.update(gold_words)
    if not n_gold:
        raise ValueError("nothing to evaluate: no gold words")
    precision = sum(hits[w] / n_pred[w] if n_pred[w] else 0.0 for w in n_gold) / len(n_gold)
    recall = sum(hits[w] / n_gold[w] for w in n_gold) / len(n_gold)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"P": round(100 * precision, 2), "R": round(100 * recall, 2), "F1": round(100 * f1, 2),
            "N+": sum(1 for w in n_gold if hits[w]), "test_words": len(n_gold), "images": len(gold)}


# -- command line -------------------------------------------------------------------------------------------


def read_tag_lines(path: str | Path) -> list[list[str]]:
    """`;`-joined tags per line (a `*_tag.txt` gold file or a `tagsmith predict` output)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [_clean(line.rstrip("\r\n").split(";")) for line in f]


def read_gold(path: str | Path) -> list[list[str]]:
    """Gold tags per record: `;`-joined tag lines (`*_tag.txt`, or any other `.txt` that is not a data-set
    text file), else every record `read_records` yields from the file (canonical JSONL or a raw data set)."""
    path = Path(path)
    name = path.name
    is_text_file = name.endswith(("_text.txt", "_post.txt", "_conv.txt", "_posts.txt"))
    if name.endswith("_tag.txt") or (path.suffix == ".txt" and not is_text_file):
        return read_tag_lines(path)
    from inference.evaluation.readers import read_records

    return [list(r["hashtags"]) for r in read_records(path)]


def detect_tags_lang(gold: list[list[str]]) -> str:
    from inference.text.tags import script_lang as detect_lang

    sample = " ".join(t for tags in gold[:2000] for t in tags)
    return detect_lang(sample)


def gold_is_corel(path: str | Path) -> bool:
    from inference.evaluation.readers import ReaderError, detect_format

    try:
        return detect_format(path) == "corel5k"
    except ReaderError:
        return False


def print_by_source(gold_path: str | Path, gold: list[list[str]], pred: list[list[str]], lang: str) -> int:
    """The headline figures per data source (the records' "source": instagram, tweeteval, crisislex...)."""
    from inference.evaluation.readers import read_records

    sources = [str(r.get("source") or "") for r in read_records(gold_path)]
    if len(sources) != len(gold) or not all(sources):
        print(f"error: {gold_path} does not give every record a source", file=sys.stderr)
        return 2
    print("source\tposts\t" + "\t".join(HEADLINE))
    for source in sorted(set(sources)):
        rows = [i for i, s in enumerate(sources) if s == source]
        scores = evaluate([gold[i] for i in rows], [pred[i] for i in rows], lang)
        print(f"{source}\t{len(rows)}\t" + "\t".join(f"{scores[name]:.2f}" for name in HEADLINE))
    return 0


def run_evaluate(args) -> int:
    """`tagsmith evaluate --gold GOLD --pred PRED [--lang en|zh] [--by-source]`: prints F1@1, F1@5, MAP@5,
    RG-1, RG-SU4 (per data source with --by-source);
    with a Corel-5k label file as GOLD (or --protocol corel), the Corel protocol's P, R, F1 and N+."""
    try:
        gold = read_gold(args.gold)
        pred = read_tag_lines(args.pred)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(pred) == len(gold) + 1 and not pred[-1]:
        pred = pred[:-1]
    if len(gold) != len(pred):
        print(f"error: {args.gold} has {len(gold)} records but {args.pred} has {len(pred)} lines", file=sys.stderr)
        return 2
    if not gold:
        print(f"error: {args.gold} has no records", file=sys.stderr)
        return 2
    protocol = getattr(args, "protocol", None) or ("corel" if gold_is_corel(args.gold) else "hashtags")
    if protocol == "corel":
        # words compared as written: stemming would merge Corel's "vegetation" and "vegetables"
        key = lambda t: " ".join(t.lower().split())  # noqa: E731
        scores = corel_protocol([[key(t) for t in g] for g in gold], [[key(t) for t in p] for p in pred])
        for name in ("P", "R", "F1", "N+"):
            print(f"{name}\t{scores[name]}")
        print(json.dumps({"protocol": "corel", **scores}), file=sys.stderr)
        return 0
    lang = getattr(args, "lang", None) or detect_tags_lang(gold)
    if getattr(args, "by_source", False):
        return print_by_source(args.gold, gold, pred, lang)
    scores = evaluate(gold, pred, lang)
    for name in HEADLINE:
        print(f"{name}\t{scores[name]:.2f}")
    print(json.dumps({"lang": lang, **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}}),
          file=sys.stderr)
    return 0
