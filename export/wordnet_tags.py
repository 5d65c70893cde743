"""ImageNet class -> hashtags through WordNet 3.0 hypernyms (builds inference/data/imagenet_tags.json).

One command rebuilds the shipped mapping (class order from the shipped file itself, or --synsets):

    python -m export.wordnet_tags [--synsets /tmp/imagenet_synsets.txt] [--wordnet /usr/share/wordnet] \
        [--corpus runs/corpus/en_train.jsonl] --out inference/data/imagenet_tags.json

--synsets: the 1,000 class wnids in class order (`timm/data/_info/imagenet_synsets.txt` inside the
timm wheel); without it, the wnids of the existing --out file. --wordnet: Debian `wordnet-base`.
--corpus: the English training posts of `python -m export.ingest --out runs/corpus` (their `hashtags`,
space-segmented). Only the derived JSON ships.

The rule, decided from data (hashtag use in the corpus, WordNet's SemCor sense counts):
- A word is a hashtag people use when its squashed form ("wheeled vehicle" -> wheeledvehicle) is a
  hashtag of at least --min-hashtag training posts.
- Each class keeps its own name (weight 1): of its lemmas, the one used most as a hashtag (ties: the
  first, WordNet's headword), so "ice bear, polar bear" tags #polarbear when people write that.
- Up its IS-A graph (breadth first, to --max-depth, stopping at an abstract top level such as entity,
  object, artifact, device), a hypernym becomes a tag only when one of its lemmas is a hashtag people
  use AND the hypernym is that word's most frequent sense in SemCor (cntlist.rev; ties count), so the
  hashtag reads as meant: #coffee for espresso, #cat for a tabby, but not #beverage, #liquid, #rack,
  #support (a tripod is not support's usual sense), #wheeledvehicle or #coelenterate.
- Weight of a kept hypernym: decay**depth, raised by how much more it is used as a hashtag than the
  best word below it on the path (class name included): min(1, decay**depth * (h + 1) / (h_below + 1)).
  An everyday word above a rare class name (cat over egyptian cat, coffee over espresso) weighs as
  much as the name, so when the probability is split among siblings it outranks each of them; a
  general word above an everyday one (animal above dog) keeps a small weight.
- A few basic-level words WordNet lacks (dog -> puppy) are added beside a walked synset, when they
  pass the same hashtag test.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Top levels too abstract to be hashtags; the walk does not go above them.
ABSTRACT = {
    "entity", "physical entity", "abstraction", "object", "whole", "thing", "matter", "substance",
    "organism", "being", "living thing", "causal agent", "artifact", "artefact", "instrumentality",
    "device", "container", "structure", "construction", "covering", "commodity", "unit",
    "part", "piece", "group", "collection", "system", "implement", "equipment", "conveyance",
    "transport", "article", "material", "relation", "attribute", "psychological feature", "event",
    "act", "measure", "state", "vertebrate", "chordate", "placental", "placental mammal",
    "eutherian", "craniate", "invertebrate", "mechanism", "mechanical device", "creation",
    "product", "solid", "food", "nutriment", "foodstuff", "geological formation", "formation",
    "natural elevation", "location", "region", "point", "line", "shape", "form", "figure",
    "person", "individual", "someone", "somebody", "mortal", "soul", "worker", "adult",
}
# Familiar but odd as hashtags: not tagged, the walk goes on above them.
SKIP = {"domestic animal", "craft", "produce", "establishment", "obstruction", "barrier", "game",
        "military vehicle", "mammal", "carnivore", "invertebrate", "arthropod", "clothing", "garment"}
# Basic-level words WordNet does not reach by hypernyms, added beside a tag with a weight factor.
EXTRA = {"dog": [("puppy", 0.6)], "domestic cat": [("cat", 1.0), ("kitty", 0.5)], "big cat": [("wildlife", 0.8)]}


@dataclass
class Synset:
    offset: str
    lex_filenum: int
    lemmas: list[tuple[str, int]]  # (lemma as written, lex_id)
    hypernyms: list[str] = field(default_factory=list)  # offsets ("@" and instance "@i")

    def words(self, i: int = 0) -> str:
        return lemma_words(self.lemmas[i][0])

    def sense_key(self, i: int = 0) -> str:
        lemma, lex_id = self.lemmas[i]
        return f"{lemma.lower()}%1:{self.lex_filenum:02d}:{lex_id:02d}::"


def lemma_words(lemma: str) -> str:
    """'golden_retriever' -> 'golden retriever'; 'crane(a)' markers and dots dropped."""
    lemma = lemma.split("(")[0]
    return " ".join(lemma.replace("_", " ").replace(".", " ").replace("'", "").lower().split())


def parse_data_noun(path: str | Path) -> dict[str, Synset]:
    """WordNet's data.noun -> {offset: Synset}. Format: offset lex_filenum ss_type w_cnt(hex)
    [word lex_id(hex)]... p_cnt [symbol offset pos source/target]... | gloss."""
    synsets = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            head = line.split(" | ")[0].split()
            offset, lex_filenum, w_cnt = head[0], int(head[1]), int(head[3], 16)
            lemmas = [(head[4 + 2 * i], int(head[5 + 2 * i], 16)) for i in range(w_cnt)]
            pos = 4 + 2 * w_cnt
            p_cnt = int(head[pos])
            hypernyms = []
            for j in range(p_cnt):
                symbol, target = head[pos + 1 + 4 * j], head[pos + 2 + 4 * j]
                if symbol in ("@", "@i"):
                    hypernyms.append(target)
            synsets[offset] = Synset(offset, lex_filenum, lemmas, hypernyms)
    return synsets


def parse_counts(path: str | Path) -> dict[str, int]:
    """cntlist.rev lines 'sense_key sense_number tag_count' -> {sense_key: count}."""
    counts = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                counts[parts[0]] = int(parts[2])
    return counts


def squash(words: str) -> str:
    """'Wheeled vehicle' -> 'wheeledvehicle': how a hashtag spells the words."""
    return "".join(ch for ch in words.casefold() if ch.isalnum())


def read_hashtag_usage(path: str | Path) -> tuple[Counter, int]:
    """(squashed hashtag -> number of posts using it, posts) from a corpus JSONL with `hashtags`."""
    usage, posts = Counter(), 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                posts += 1
                usage.update({squash(tag) for tag in json.loads(line).get("hashtags") or []})
    return usage, posts


def read_corel_keywords(labels: str | Path, exclude: str | Path | None = None) -> tuple[Counter, int]:
    """(squashed keyword -> Corel-5k photos, photos) from `training_label` ('ID idx idx ...', indexes
    into the `words` file beside it), leaving out the photos of `exclude` (a held-out split's labels)."""
    labels = Path(labels)
    words = labels.with_name("words").read_text(encoding="utf-8").split("\n")
    held_out = {line.split()[0] for line in Path(exclude).read_text().splitlines() if line.strip()} if exclude else set()
    usage, photos = Counter(), 0
    for line in labels.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0] not in held_out:
            photos += 1
            usage.update({squash(words[int(i) - 1]) for i in parts[1:]})
    return usage, photos


def parse_index(path: str | Path) -> dict[str, list[str]]:
    """index.noun lines 'lemma pos synset_cnt p_cnt [ptr]... sense_cnt tagsense_cnt offset...' ->
    {lemma (lowercase, underscores): [synset offsets, most frequent sense first]}."""
    senses = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split()
            p_cnt = int(parts[3])
            senses[parts[0]] = parts[6 + p_cnt:]
    return senses


@dataclass
class Vocabulary:
    """Which words are hashtags people use (`hashtags`: squashed tag -> posts) and whether a synset is
    the usual sense of its word (SemCor counts); no corpus or no index: every word passes that test."""

    synsets: dict[str, Synset]
    hashtags: Counter | None = None
    counts: dict[str, int] | None = None
    senses: dict[str, list[str]] | None = None
    min_hashtag: int = 2

    def uses(self, words: str) -> int:
        """Posts or photos tagged with the words (or their plural: #flowers counts for flower)."""
        if self.hashtags is None:
            return 0
        key = squash(words)
        return sum(self.hashtags.get(form, 0) for form in {key, key + "s", key + "es"})

    def used(self, words: str) -> bool:
        return self.hashtags is None or self.uses(words) >= self.min_hashtag

    def sense_count(self, synset: Synset, lemma: str) -> int:
        for i, (other, _) in enumerate(synset.lemmas):
            if other.lower() == lemma:
                return (self.counts or {}).get(synset.sense_key(i), 0)
        return 0

    def usual_sense(self, synset: Synset, i: int) -> bool:
        """Whether the synset is its i-th lemma's usual sense: its first in index.noun or as frequent in SemCor."""
        if self.senses is None or self.counts is None:
            return True
        lemma = synset.lemmas[i][0].split("(")[0].lower()
        order = self.senses.get(lemma, [])
        others = [self.sense_count(self.synsets[o], lemma) for o in order if o in self.synsets]
        mine = self.sense_count(synset, lemma)
        # WordNet lists a word's senses by SemCor frequency: the first, or one as frequent (never tied at 0)
        return (bool(order) and order[0] == synset.offset) or (mine > 0 and mine >= max(others, default=0))

    def name(self, synset: Synset) -> str:
        """A class's own tag: its first lemma, or another one used more as a hashtag whose usual sense
        this class is ("ice bear, polar bear" -> polar bear; "microphone, mike" keeps microphone
        unless people tag mike for it)."""
        best = 0
        for i in range(1, len(synset.lemmas)):
            words = synset.words(i)
            if (self.uses(words) > self.uses(synset.words(best)) and self.used(words) and taggable(words)
                    and self.usual_sense(synset, i)):
                best = i
        return synset.words(best)

    def hashtag(self, synset: Synset) -> str | None:
        """A hypernym's tag: its first lemma (WordNet's order) people use as a hashtag in this sense, else None."""
        for i in range(len(synset.lemmas)):
            words = synset.words(i)
            if self.used(words) and self.usual_sense(synset, i) and taggable(words):
                return words
        return None


def taggable(words: str) -> bool:
    return len(words.split()) <= 2 and "-" not in words and words not in SKIP


def class_tags(synset: Synset, vocab: Vocabulary, max_depth: int = 6, decay: float = 0.8) -> list[tuple[str, float]]:
    """[(tag words, weight)] for one class: its name (1.0), then the hypernyms people use as hashtags
    (breadth first). With h a word's hashtag use and h_below the most-used word already tagged for the
    class: the first such hypernym weighs min(decay, decay**depth * (h + 1) / (h_below + 1)) (an everyday
    word above a rare name weighs as much as its parent would), the ones above it decay**depth * min(1, same
    ratio) (a general word never outweighs the everyday one below it)."""
    name = vocab.name(synset)
    tags: dict[str, float] = {name: 1.0}
    below, first = vocab.uses(name), True
    frontier, seen = [(h, 1) for h in synset.hypernyms], {synset.offset}
    while frontier:
        offset, depth = frontier.pop(0)
        if offset in seen or offset not in vocab.synsets or depth > max_depth:
            continue
        seen.add(offset)
        hyper = vocab.synsets[offset]
        if hyper.words() in ABSTRACT:
            continue  # and nothing above it
        words = vocab.hashtag(hyper)
        if words is not None:
            ratio = (vocab.uses(words) + 1) / (below + 1)
            weight = round(min(decay, decay ** depth * ratio) if first else decay ** depth * min(1.0, ratio), 4)
            tags[words] = max(tags.get(words, 0.0), weight)  # an added word's weight, or better
            below, first = max(below, vocab.uses(words)), False
        for extra, factor in EXTRA.get(hyper.words(), []):
            if vocab.used(extra):
                tags.setdefault(extra, round(decay ** depth * factor, 4))
        frontier += [(h, depth + 1) for h in hyper.hypernyms]
    return sorted(tags.items(), key=lambda kv: -kv[1])


def load_vocabulary(wordnet_dir: str | Path, corpus: str | Path | None, min_hashtag: int = 2,
                    corel: str | Path | None = None, corel_exclude: str | Path | None = None) -> tuple[Vocabulary, str]:
    """The WordNet graph, SemCor counts and sense order, and how often people tag with each word: the
    corpus's hashtags plus Corel-5k training keywords (and a line saying how many posts and photos)."""
    wordnet_dir = Path(wordnet_dir)
    synsets = parse_data_noun(wordnet_dir / "data.noun")
    counts = parse_counts(wordnet_dir / "cntlist.rev") if (wordnet_dir / "cntlist.rev").exists() else None
    senses = parse_index(wordnet_dir / "index.noun") if (wordnet_dir / "index.noun").exists() else None
    hashtags, posts = read_hashtag_usage(corpus) if corpus else (None, 0)
    keywords, photos = read_corel_keywords(corel, corel_exclude) if corel else (Counter(), 0)
    if hashtags is not None:
        hashtags.update(keywords)
    sources = (f"hashtags of {posts} posts in {Path(corpus).as_posix() if corpus else None}, keywords of {photos} "
               f"Corel-5k training photos ({Path(corel).as_posix() if corel else None} less {corel_exclude})")
    return Vocabulary(synsets, hashtags, counts, senses, min_hashtag), sources


def build(synsets_path: str | Path, wordnet_dir: str | Path, corpus: str | Path | None = None, min_hashtag: int = 2,
          max_depth: int = 6, decay: float = 0.8, corel: str | Path | None = None,
          corel_exclude: str | Path | None = None) -> dict:
    vocab, sources = load_vocabulary(wordnet_dir, corpus, min_hashtag, corel, corel_exclude)
    wnids = read_wnids(synsets_path)
    classes = []
    for wnid in wnids:
        synset = vocab.synsets[wnid.lstrip("n")]
        tags = class_tags(synset, vocab, max_depth, decay)
        classes.append({"wnid": wnid, "name": synset.words(), "tags": [[w, s] for w, s in tags]})
    return {
        "source": "WordNet 3.0 (data.noun, index.noun, cntlist.rev) hypernyms of the ImageNet-1k classes, kept "
                  "when people use them as hashtags; export/wordnet_tags.py",
        "rule": "h(word) = posts with the hashtag + Corel training photos with the keyword (squashed, plural "
                "counted); class name: its first lemma, or another with more h in its usual sense; hypernym: its "
                "first lemma with h >= min_hashtag whose first (SemCor) sense it is, below the abstract top "
                "levels; weight min(decay, decay**depth * (h + 1) / (h_below + 1)) for the first such hypernym, "
                "decay**depth * min(1, that ratio) above it",
        "usage_sources": sources,
        "min_hashtag": min_hashtag,
        "max_depth": max_depth,
        "decay": decay,
        "classes": classes,
    }


def read_wnids(path: str | Path) -> list[str]:
    """Class wnids in order: a synsets text file (one a line) or an existing mapping JSON's classes."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".json"):
        return [c["wnid"] for c in json.loads(text)["classes"]]
    return [w.strip() for w in text.split() if w.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synsets", help="class wnids in order (default: those of the existing --out file)")
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("--corpus", default="runs/corpus/en_train.jsonl", help="posts with `hashtags` (JSONL)")
    parser.add_argument("--corel", default="/work/shared/data/corel5k/training_label", help="Corel-5k labels ('' for none)")
    parser.add_argument("--corel-exclude", default="runs/corel-dev/dev_label", help="held-out Corel labels to leave out")
    parser.add_argument("--out", default="inference/data/imagenet_tags.json")
    parser.add_argument("--min-hashtag", type=int, default=2)
    parser.add_argument("--max-depth", type=int, default=6)
    parser.add_argument("--decay", type=float, default=0.8)
    args = parser.parse_args(argv)
    mapping = build(args.synsets or args.out, args.wordnet, args.corpus, args.min_hashtag, args.max_depth, args.decay,
                    args.corel or None, args.corel_exclude or None)
    Path(args.out).write_text(json.dumps(mapping, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(mapping['classes'])} classes -> {len({t for c in mapping['classes'] for t, _ in c['tags']})} tags: {args.out}")


if __name__ == "__main__":
    main()
