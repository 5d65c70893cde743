"""The grounding stage's settings: a model folder's grounding.json (inference/runtime/grounding.py).

Chosen on dev data by export/grounding.py; the runtime refuses a file of another format version or whose
settings are not numbers (true or false for the switches).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

GROUNDING_JSON = "grounding.json"
FORMAT_VERSION = 1


class InvalidGrounding(ValueError):
    """grounding.json is malformed or of another format version."""


@dataclass(frozen=True)
class GroundingConfig:
    model_weight: float = 0.5  # of the model's own score (max-normalised over its list)
    relevance_weight: float = 1.0  # of the cosine between the post and the tag
    phrase_weight: float = 0.3  # of a phrase's score (inference/text/phrases.py)
    model_pool: int = 20  # the model's best candidates considered
    vocab_k: int = 10  # nearest vocabulary tags considered
    phrase_limit: int = 8  # phrases taken from the post
    floor: float = 0.5  # the service's relevance floor (on r); `tagsmith predict --floor` applies it too
    # the service keeps a model or vocabulary tag only when it shares a word with the post (Chinese:
    # the encoder's similarity leans on shared characters, so it cannot tell a 2014 show's slogan from
    # the post's topic on its own)
    lexical_support: bool = False
    # dense retrieval (folders with dense_index.npz): the dense_k training posts nearest to the post,
    # cosine >= dense_min_cos, vote their tags; the dense_limit best votes join the candidates
    dense_weight: float = 0.0  # of a tag's vote (0: the votes never change a score)
    dense_k: int = 20
    dense_min_cos: float = 0.5
    dense_limit: int = 10
    # a name the post writes itself (phrases.py's "title" and "entity": Angels Landing, Elden Ring)
    # adds title_weight x its phrase score on top of the weighted sum (the encoder seldom knows it)
    title_weight: float = 0.0
    # English (grounding_rules.py): a single word the post writes that is a vocabulary tag adds
    # post_word_weight x its rarity (#Storm); with the floor, a tag sharing no word with the post whose
    # relevance is below guess_relevance ranks after the tags the post supports (0: neither rule)
    post_word_weight: float = 0.0
    guess_relevance: float = 0.0
    # a name the post writes (title_weight's) stands past the floor: the encoder seldom knows a player,
    # a show or a game (#Alcaraz scores near the post's mean cosine), yet the post names it
    names_past_floor: bool = False

    @classmethod
    def load(cls, folder: Path) -> "GroundingConfig":
        path = Path(folder) / GROUNDING_JSON
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidGrounding(f"{path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise InvalidGrounding(f"{path}: format_version must be {FORMAT_VERSION}")
        known = {f.name: f.type for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name, value in values.items():
            flag = known[name] in (bool, "bool")
            if flag != isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidGrounding(f"{path}: {name} must be {'true or false' if flag else 'a number'}, got {value!r}")
        return cls(**values)

    def to_json(self) -> dict:
        return {"format_version": FORMAT_VERSION, **{f.name: getattr(self, f.name) for f in fields(self)}}
