"""English words that are only adjectives (inference/data/adjectives_en.txt): a post's word of this list names a
quality ("insufferable", "lumpy", "proud"), which as a tag under a sombre post reads as a judgement of the dead or
the ill (grounding_rules.describes).

    python -m export.adjectives_en [--wordnet /usr/share/wordnet] [--max-rank 200000] --out inference/data/adjectives_en.txt

The words WordNet 3.0 (Debian `wordnet-base`) lists as adjectives and never as nouns or verbs, one word of letters
each, among the --max-rank commonest words of wordsegment's web counts (all it ranks). Only the derived list ships.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inference.text.phrases import english_lists


def lemmas(path: Path) -> set[str]:
    """The one-word lemmas of a WordNet index file."""
    with open(path, encoding="utf-8", errors="replace") as lines:
        return {w for w in (line.split(" ", 1)[0] for line in lines if not line.startswith(" ")) if w.isalpha()}


def adjectives(wordnet: Path, max_rank: int) -> list[str]:
    """The common words WordNet knows only as adjectives, sorted."""
    only = lemmas(wordnet / "index.adj") - lemmas(wordnet / "index.noun") - lemmas(wordnet / "index.verb")
    _, ranks = english_lists()
    return sorted(w for w in only if ranks.get(w, max_rank + 1) <= max_rank)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--max-rank", type=int, default=200000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    words = adjectives(args.wordnet, args.max_rank)
    header = ("# English words WordNet 3.0 lists only as adjectives, among wordsegment's commonest words: none stands as a tag"
              f" under a sombre post. Built by `python -m export.adjectives_en --max-rank {args.max_rank}`.\n")
    args.out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"wrote {len(words)} words to {args.out}")


if __name__ == "__main__":
    main()
