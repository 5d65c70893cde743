"""Build the hashtag safety lexicon `inference/models/safety.json` and report its coverage.

    python -m export.safety_lexicon build    # writes inference/models/safety.json
    python -m export.safety_lexicon report   # per language: tags and count mass per category
    python -m export.safety_lexicon tone --posts FILE   # labelled posts ({"post", "grief"}) read as grief
    python -m export.safety_lexicon kind --kind mood    # judged candidates of a kind: usable where said or not
    python -m export.safety_lexicon kind --kind holidays   # ... naming a holiday: usable where the post names it or not

Sources: (a) the hand-curated seed lists of `export/safety_seeds.py`; (b) the corpora's own event
tags: every tag of the shipped tags.json files and every hashtag of the crisis data in
/work/shared/data (CrisisLex T26, MediaEval 2016, RumourEval 2019) that names a curated event, plus
a default event for each data event the seeds do not cover; (c) the English word list of the PyPI
package better-profanity 0.7.0 (MIT), less its everyday and identity words, split into sexual
(contextual) and slur/insult (never); (d) `kinds`: vocabulary tags of a sensitive kind found from data
(`export/safety_kinds.py`: their training posts' sources, WordNet, Chinese clauses speaking to someone);
(e) `grief_reader`: the tone rule's reader of an English post's vector, fitted on labelled everyday posts
(`export/grief_reader.py`, export/judged/grief_train.jsonl).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

from export import grief_reader
from export.baselines import load_jsonl
from export import safety_seeds as seeds
from export.safety_kinds import build_kinds
from inference.runtime.safety import FORMAT_VERSION, SafetyLexicon, has_cjk, tokens
from inference.runtime.safety_terms import compact

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "inference" / "models" / "safety.json"
MODELS = ROOT / "inference" / "models"
TOPICS = ROOT / "inference" / "data"  # topics_<lang>.txt
DATA = Path("/work/shared/data")
CORPUS = ROOT / "runs" / "corpus"  # python -m export.ingest
WORDNET = Path("/usr/share/wordnet")  # Debian wordnet-base
LANGS = ("en", "zh")
_HASHTAG = re.compile(r"#([^\W_][\w]*)")


class SafetyBuildError(RuntimeError):
    """An input the lexicon build needs is missing or malformed."""


def profanity_words() -> list[str]:
    """better-profanity's word list (the wheel's own copy), lowercased and de-duplicated."""
    try:
        text = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise SafetyBuildError("pip install better-profanity==0.7.0 to build the lexicon") from exc
    words = {w.strip().lower() for w in text.splitlines()}
    return sorted(w for w in words if w and w not in seeds.PROFANITY_EXCLUDE and tokens(w))


def profanity_groups() -> dict[str, list[str]]:
    """The profanity words split into sexual (contextual) and slur_insult (never)."""
    split: dict[str, list[str]] = {"sexual": [], "slur_insult": []}
    for word in profanity_words():
        insult = any(root in word for root in seeds.INSULT_ROOTS)
        sexual = not insult and any(root in word for root in seeds.SEXUAL_ROOTS)
        split["sexual" if sexual else "slur_insult"].append(word)
    return split


def _terms(en: str, zh: str = "") -> dict[str, list[str]]:
    out = {"en": [t.strip() for t in en.split("|") if t.strip()]}
    if zh:
        out["zh"] = [t.strip() for t in zh.split("|") if t.strip()]
    return out


def categories() -> dict:
    cats: dict = {}
    for name, policy in seeds.POLICIES.items():
        groups = [{"name": g[0], "terms": _terms(g[1], g[2]), "triggers": _terms(g[3], g[4])}
                  for g in seeds.GROUPS.get(name, ())]
        cats[name] = {"policy": policy, "groups": groups}
    for name, words in profanity_groups().items():
        # whole words only: "massachusetts" must not match a word list entry inside it
        cats[name]["groups"].append({"name": f"profanity_{name}", "terms": {"en": words},
                                     "triggers": {}, "compact": False})
    return cats


def data_events(data: Path = DATA) -> dict[str, Counter]:
    """Event key (``crisislex:2013_Boston_bombings``, ``mediaeval:sandy``…) -> its hashtags."""
    events: dict[str, Counter] = {}
    for path in sorted((data / "crisislex" / "T26").glob("*.csv")):
        key = "crisislex:" + path.name.split("-tweets")[0]
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            rows = csv.reader(f)
            next(rows, None)
            events[key] = Counter(h.lower() for r in rows if len(r) > 1 for h in _HASHTAG.findall(r[1]))
    posts = data / "mediaeval2016" / "train_posts.txt"
    if posts.exists():
        with posts.open(encoding="utf-8", errors="replace", newline="") as f:
            for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(r) > 3 and r[3] != "image_id":
                    key = "mediaeval:" + r[3].split("_")[0]
                    events.setdefault(key, Counter()).update(h.lower() for h in _HASHTAG.findall(r[1]))
    threads = data / "rumoureval2019" / "train_threads.jsonl"
    if threads.exists():
        for line in threads.read_text(encoding="utf-8").splitlines():
            thread = json.loads(line)
            key = "rumoureval:" + thread["event"]
            events.setdefault(key, Counter()).update(h.lower() for h in thread.get("hashtags", []))
    return events


def default_event(key: str) -> dict:
    """An event for a data set's event the seeds do not name: its own name, placed and typed."""
    words = [w.lower() for w in re.split(r"[_\W]+", key.split(":", 1)[1]) if w and not w.isdigit()]
    kind = next((seeds.EVENT_KINDS[w] for w in words if w in seeds.EVENT_KINDS), "disaster")
    place = [w for w in words if w not in seeds.EVENT_KINDS]
    return {"name": " ".join(words), "category": kind, "sources": [key],
            "terms": {"en": [" ".join(words)]}, "triggers": {"en": place}}


def events(data_tags: dict[str, Counter]) -> list[dict]:
    out = [{"name": e[0], "category": e[1], "sources": list(e[6]),
            "terms": _terms(e[2], e[3]), "triggers": _terms(e[4], e[5])} for e in seeds.EVENTS]
    covered = {s for e in out for s in e["sources"]} | set(seeds.IGNORED_DATA_EVENTS)
    out += [default_event(k) for k in sorted(data_tags) if k not in covered]
    return out


def shipped_tags(lang: str) -> dict[str, int]:
    path = MODELS / lang / "tags.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def harvest(evs: list[dict], candidates: set[str], safe: set[str]) -> None:
    """Give each event the corpus tags that contain one of its names (written together or not)."""
    for ev in evs:
        names = {"".join(tokens(t)) for ts in ev["terms"].values() for t in ts}
        names = [n for n in names if len(n) >= 4]
        tags: dict[str, list[str]] = {"en": [], "zh": []}
        for cand in sorted(candidates):
            compact = "".join(tokens(cand))
            if compact not in safe and any(n in compact for n in names):
                tags["zh" if has_cjk(cand) else "en"].append(cand)
        ev["tags"] = {k: v for k, v in tags.items() if v}


def topic_names() -> set[str]:
    """The product's topics (inference/data/topics_*.txt: niches chosen by hand, standing only where their cue words or
    vector put them), written together: none is a stance tag (#Crypto, #GameDev, #Mosquitoes, #Archives were "stance"
    tags of TweetEval's political tweets, kept off the posts their cue words picked them for); a mood or a harm
    (#Horror, #Asthma) still needs the post's own word."""
    from inference.runtime.topics import read_topics

    return {compact(name) for lang in LANGS for name, _ in read_topics(TOPICS / f"topics_{lang}.txt")}


def vocabulary(lang: str) -> set[str]:
    """The tags a language's folder can suggest from its own lists (tags.json and tag_index.npz)."""
    from inference.runtime.tag_index import TagIndex

    tags = set(shipped_tags(lang))
    if (MODELS / lang / "tag_index.npz").exists():
        tags |= set(TagIndex.load(MODELS / lang / "tag_index.npz").tags)
    return tags


def harm_terms(cats: dict) -> list[str]:
    """The curated English terms of crime, death, terror and disaster (five letters or more)."""
    return sorted({t for name in ("crime", "death", "terror", "disaster") for g in cats[name]["groups"]
                   if not g["name"].startswith("profanity") for t in g["terms"].get("en", ())
                   if len("".join(tokens(t))) >= 5})


def build(data: Path = DATA, corpus: Path = CORPUS, wordnet: Path = WORDNET) -> dict:
    data_tags = data_events(data)
    evs = events(data_tags)
    candidates = {t for lang in LANGS for t in shipped_tags(lang)}
    candidates |= {h for c in data_tags.values() for h in c}
    safe = {"".join(tokens(t)) for ts in seeds.SAFE.values() for t in ts}
    harvest(evs, candidates, safe)
    lexicon = {
        "format_version": FORMAT_VERSION,
        "closeness_threshold": seeds.CLOSENESS_THRESHOLD,
        "categories": categories(),
        "events": evs,
        "never": seeds.NEVER_TAGS,
        "safe": seeds.SAFE,
        "stopwords": seeds.STOPWORDS,
        "corroborate": seeds.CORROBORATE,
        "support": seeds.SUPPORT_SUFFIXES,
        "tone": seeds.TONE,
        "sources": {"profanity": "better-profanity 0.7.0 (MIT), word list less PROFANITY_EXCLUDE",
                    "data_events": sorted(data_tags)},
    }
    curated = SafetyLexicon(lexicon)  # validates

    def covered(tag: str) -> bool:
        m = curated.match(tag)
        return bool(m.never or m.groups) or "".join(tokens(tag)) in curated.safe

    try:
        kinds = build_kinds({lang: vocabulary(lang) for lang in LANGS}, corpus, wordnet, covered,
                            harm_terms(lexicon["categories"]))
        topics = topic_names()
        lexicon["kinds"] = {lang: {t: k for t, k in found.items() if not (k == "stance" and compact(t) in topics)}
                            for lang, found in kinds.items()}
    except FileNotFoundError as exc:
        raise SafetyBuildError(str(exc)) from exc
    lexicon["sources"]["kinds"] = (f"export/safety_kinds.py: {corpus.name}/en_train.jsonl sources, WordNet 3.0 "
                                   "(Debian wordnet-base), jieba, vaderSentiment 3.3.2's lexicon (MIT)")
    lexicon["grief_reader"] = grief_reader.fit(grief_reader.read_posts(*grief_reader.TRAIN))
    lexicon["sources"]["grief_reader"] = ("export/grief_reader.py: export/judged/grief_train*.jsonl, "
                                          "the sentence encoder of inference/runtime/sentence_encoder.py")
    SafetyLexicon(lexicon)
    return lexicon


def dumps(lexicon: dict) -> str:
    return json.dumps(lexicon, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def report(lexicon: SafetyLexicon, top: int = 300, samples: int = 12, out=sys.stdout) -> None:
    """For each shipped tags.json: tags and count mass per category, samples, flagged top tags."""
    for lang in LANGS:
        tags = shipped_tags(lang)
        if not tags:
            continue
        mass = sum(tags.values())
        per: dict[str, list[tuple[int, str, str]]] = {}
        for tag, count in tags.items():
            m = lexicon.match(tag)
            if m.never or m.groups:
                category = m.never or m.groups[0].category
                kind = "never" if m.never else "contextual"
                per.setdefault(category, []).append((count, tag, kind))
        flagged = sum(len(v) for v in per.values())
        flagged_mass = sum(c for v in per.values() for c, _, _ in v)
        print(f"== {lang}: {len(tags)} tags, count mass {mass}; flagged {flagged} tags "
              f"({flagged / len(tags):.1%}), mass {flagged_mass / mass:.1%}", file=out)
        for category, rows in sorted(per.items(), key=lambda kv: -sum(c for c, _, _ in kv[1])):
            rows.sort(reverse=True)
            share = sum(c for c, _, _ in rows) / mass
            never = sum(1 for r in rows if r[2] == "never")
            print(f"  {category:<16} {len(rows):>6} tags ({never} never)  mass {share:6.2%}  e.g. "
                  + " | ".join(t for _, t, _ in rows[:samples]), file=out)
        ranked = sorted(tags, key=lambda t: (-tags[t], t))[:top]
        hits = [t for t in ranked if lexicon.match(t).never or lexicon.match(t).groups]
        print(f"  top {top} by count: {len(hits)} flagged: " + " | ".join(hits), file=out)
        rest = [t for t in ranked if t not in hits]
        print(f"  top {top} not flagged: " + " | ".join(rest), file=out)


def tone(lexicon_path: Path, posts: Path, vectors: bool = True) -> None:
    """Print how many of the labelled posts (JSONL: "post", "grief": true or false) the lexicon's tone rule
    reads as grief posts (inference/runtime/safety_tone.py): by their words, then (vectors) by their words
    or the grief reader, as the service reads an English post; and which the last reading gets wrong."""
    from inference.runtime.safety import SafetyFilter

    safety = SafetyFilter(SafetyLexicon.load(lexicon_path))
    grief = safety.lexicon.tone.grief
    rows = grief_reader.read_posts(posts)
    readings = {"words": [safety.context(r["post"]).is_about(grief) for r in rows]}
    if vectors and safety.lexicon.tone.reader is not None:
        readings["words or vector"] = [safety.context_for(r["post"], v, r.get("lang", "en")).is_about(grief)
                                       for r, v in zip(rows, grief_reader.encode(rows))]
    for name, read in readings.items():
        for label in (True, False):
            got = [g for r, g in zip(rows, read) if bool(r["grief"]) is label]
            print(f"by {name}: {'grief' if label else 'other'} posts read as grief: {sum(got)} of {len(got)}")
    for r, got in zip(rows, list(readings.values())[-1]):  # the service's reading
        if got is not bool(r["grief"]):
            print(f"  {r.get('id', '?')}: {r['post'][:100]}")


JUDGED = ROOT / "export" / "judged"
LABELLED = (("en_posts.jsonl", "en_labels.jsonl"), ("en_posts_check.jsonl", "en_labels_check.jsonl"),
            ("en_posts.jsonl", "en_labels_wider.jsonl"))  # export/judged: posts, judges' usable candidates


def judged_candidates(folder: Path = JUDGED):
    """(tag as shown, its words, the post + thread, judged usable?) of every candidate of export/judged's
    label files."""
    from inference.text.segment import segment

    for posts_file, labels_file in LABELLED:
        posts = {p["id"]: p for p in load_jsonl(folder / posts_file)}
        for row in load_jsonl(folder / labels_file):
            post = posts[row["id"]]
            text = " ".join([post["post"], *post.get("thread", ())])
            for tag in row["shown"]:
                yield tag, " ".join(segment(tag.lstrip("#"))), text, tag in row["usable"]


def kind_report(lexicon_path: Path, kind: str) -> None:
    """Print how many judged candidates (`judged_candidates`) were of a kind of the lexicon's `kinds`
    ("holidays": naming a holiday of `tone.holidays`) and usable, apart for posts that say the tag's words
    (`SafetyFilter.says`; a holiday: name it) and posts that do not."""
    from inference.runtime.safety import SafetyFilter

    safety = SafetyFilter(SafetyLexicon.load(lexicon_path))
    kinds, tone = safety.lexicon.kinds, safety.lexicon.tone
    counts = Counter()
    nothing = safety.context("")  # a post that names no holiday
    for tag, words, text, usable in judged_candidates():
        if kind == "holidays":
            if not tone.unnamed_holiday(words, nothing):
                continue  # the tag names no holiday
            said = "not said" if tone.unnamed_holiday(words, safety.context(text)) else "said"
        elif kinds.get(compact(words)) == kind:
            said = "said" if safety.says(words, text) else "not said"
        else:
            continue
        counts[said, "shown"] += 1
        counts[said, "usable"] += usable
    for said in ("not said", "said"):
        print(f"{kind} candidates on posts that {'do not say' if said == 'not said' else 'say'} their words: "
              f"shown {counts[said, 'shown']}, usable {counts[said, 'usable']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.safety_lexicon", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("build", "report", "tone", "kind"))
    parser.add_argument("--posts", type=Path, help="tone: labelled posts (JSONL)")
    parser.add_argument("--kind", default="mood", help="kind: a kind of the lexicon's `kinds`, or holidays")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the ingested corpora (runs/corpus)")
    parser.add_argument("--wordnet", type=Path, default=WORDNET, help="WordNet 3.0's dict folder")
    args = parser.parse_args(argv)
    if args.command == "build":
        text = dumps(build(args.data, args.corpus, args.wordnet))
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({len(text.encode()) / 1024:.0f} KiB)")
    elif args.command == "tone":
        tone(args.out, args.posts)
    elif args.command == "kind":
        kind_report(args.out, args.kind)
    else:
        report(SafetyLexicon.load(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
