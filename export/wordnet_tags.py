"""ImageNet class -> hashtags through WordNet 3.0 hypernyms (builds inference/data/imagenet_tags.json).

    python -m export.wordnet_tags --synsets /tmp/imagenet_synsets.txt \
        [--wordnet /usr/share/wordnet] --out inference/data/imagenet_tags.json

--synsets: the 1,000 class wnids in class order (`timm/data/_info/imagenet_synsets.txt` inside the
timm wheel: `pip download timm --no-deps`, unzip that one file). --wordnet: Debian `wordnet-base`.
Only the derived JSON ships.

Each class gets its own first lemma (weight 1) and the hypernyms up its IS-A graph that people
actually use as words: a hypernym is kept when its first lemma has a SemCor sense count
(cntlist.rev) >= --min-count and it is not an abstract top level (entity, object, whole, organism,
artifact…); weights decay by 0.8 per level and the walk stops at --max-depth or an abstract synset.
golden retriever -> "golden retriever" 1.0, "retriever" 0.8, "dog" 0.41, "animal" …; a few basic-level words WordNet
lacks are added (dog -> puppy).
"""

from __future__ import annotations

import argparse
import json
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


def class_tags(
    synset: Synset, synsets: dict[str, Synset], counts: dict[str, int] | None, min_count: int = 1,
    max_depth: int = 6, decay: float = 0.8,
) -> list[tuple[str, float]]:
    """[(tag words, weight)] for one class: its lemma, then its familiar hypernyms (breadth first)."""
    tags: dict[str, float] = {synset.words(): 1.0}
    frontier, seen = [(h, 1) for h in synset.hypernyms], {synset.offset}
    while frontier:
        offset, depth = frontier.pop(0)
        if offset in seen or offset not in synsets or depth > max_depth:
            continue
        seen.add(offset)
        hyper = synsets[offset]
        words = hyper.words()
        if words in ABSTRACT:
            continue  # and nothing above it
        # the direct parent is kept even when rare ("big cat", "retriever"); above it, familiar words only
        familiar = depth == 1 or counts is None or counts.get(hyper.sense_key(), 0) >= min_count
        if familiar and len(words.split()) <= 2 and "-" not in words and words not in SKIP:
            tags.setdefault(words, round(decay ** depth, 4))
        frontier += [(h, depth + 1) for h in hyper.hypernyms]
    for words, weight in list(tags.items()):
        for extra, factor in EXTRA.get(words, []):
            tags.setdefault(extra, round(weight * factor, 4))
    return sorted(tags.items(), key=lambda kv: -kv[1])


def build(synsets_path: str | Path, wordnet_dir: str | Path, min_count: int = 1, max_depth: int = 6) -> dict:
    wordnet_dir = Path(wordnet_dir)
    synsets = parse_data_noun(wordnet_dir / "data.noun")
    counts_path = wordnet_dir / "cntlist.rev"
    counts = parse_counts(counts_path) if counts_path.exists() else None
    wnids = [w.strip() for w in Path(synsets_path).read_text().split() if w.strip()]
    classes = []
    for wnid in wnids:
        synset = synsets[wnid.lstrip("n")]
        tags = class_tags(synset, synsets, counts, min_count, max_depth)
        classes.append({"wnid": wnid, "name": synset.words(), "tags": [[w, s] for w, s in tags]})
    return {
        "source": "WordNet 3.0 (data.noun, cntlist.rev) hypernyms of the ImageNet-1k classes; export/wordnet_tags.py",
        "min_count": min_count,
        "max_depth": max_depth,
        "classes": classes,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synsets", required=True)
    parser.add_argument("--wordnet", default="/usr/share/wordnet")
    parser.add_argument("--out", default="inference/data/imagenet_tags.json")
    parser.add_argument("--min-count", type=int, default=1)
    parser.add_argument("--max-depth", type=int, default=6)
    args = parser.parse_args(argv)
    mapping = build(args.synsets, args.wordnet, args.min_count, args.max_depth)
    Path(args.out).write_text(json.dumps(mapping, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(mapping['classes'])} classes -> {len({t for c in mapping['classes'] for t, _ in c['tags']})} tags: {args.out}")


if __name__ == "__main__":
    main()
