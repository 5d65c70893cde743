"""A small real model folder for the service tests: a retrieval index + tag lexicon built from a
dozen records written here, so the tests run on a fresh clone without trained models."""

from __future__ import annotations

import json
from pathlib import Path

from inference.text.preprocess import tokenize
from inference.runtime.retrieval import RetrievalConfig, RetrievalIndex, TagLexicon

EN_RECORDS = [
    ("Watching the final set at the Australian Open tonight", ["aus open", "tennis"]),
    ("Nadal wins the Australian Open final in five sets", ["aus open", "nadal"]),
    ("Serena serves an ace on centre court", ["tennis", "serena williams"]),
    ("Federer and Nadal meet again in the semi final", ["tennis", "federer"]),
    ("Throwback to our summer trip to the beach", ["throwback thursday", "summer"]),
    ("Old photo from high school graduation day", ["throwback thursday"]),
    ("Stock markets fall as inflation fears grow", ["stocks", "inflation"]),
    ("Central bank raises interest rates again", ["inflation", "economy"]),
    ("New iPhone launch event starts in an hour", ["iphone", "apple"]),
    ("Apple unveils the new iPhone camera", ["iphone", "apple"]),
    ("Lakers beat the Celtics in overtime at the NBA finals", ["nba finals", "lakers"]),
    ("Celtics fans celebrate the NBA finals win", ["nba finals", "celtics"]),
]
ZH_RECORDS = [
    ("今晚 看 澳网 决赛", ["澳网"]),
    ("纳达尔 赢得 澳网 冠军", ["澳网", "纳达尔"]),
    ("股市 下跌 通胀 担忧", ["股市"]),
    ("央行 再次 加息", ["经济"]),
]


def write_retrieval_model(folder: Path, lang: str = "en", records=None, version: str = "test") -> Path:
    """A retrieval-only model folder (config.json, retrieval.npz/json, tags.json, fusion.json)."""
    records = records or (EN_RECORDS if lang == "en" else ZH_RECORDS)
    canonical = [{"post": post, "thread": [], "hashtags": tags, "lang": lang} for post, tags in records]
    folder.mkdir(parents=True, exist_ok=True)
    index = RetrievalIndex.build(canonical, lambda text: tokenize(text, lang), RetrievalConfig(k_neighbors=5))
    index.save(folder)
    TagLexicon.from_tag_lists(r["hashtags"] for r in canonical).save(folder)
    (folder / "config.json").write_text(json.dumps({"name": f"tiny-{lang}", "version": version, "language": lang}))
    fusion = {"weights": {"retrieval": 1.0, "extract": 0.5}, "norms": {}}
    (folder / "fusion.json").write_text(json.dumps(fusion))
    return folder


def write_models_dir(root: Path, langs=("en", "zh")) -> Path:
    for lang in langs:
        write_retrieval_model(root / lang, lang)
    return root


def write_grounding(folder: Path, encoder, lang: str = "en", **config) -> Path:
    """Add the grounding stage to a model folder: tag_index.npz (its tags.json tags embedded by
    `encoder`) and grounding.json (GroundingConfig defaults, overridden by `config`)."""
    import numpy as np

    from inference.runtime.grounding import GROUNDING_JSON, TAG_INDEX, GroundingConfig, embed_text

    counts = json.loads((folder / "tags.json").read_text(encoding="utf-8"))
    tags = sorted(counts)
    vectors = encoder.encode([embed_text(t, lang) for t in tags]).astype(np.float16)
    np.savez_compressed(folder / TAG_INDEX, vectors=vectors, tags=np.array(tags), counts=np.array([counts[t] for t in tags]))
    (folder / GROUNDING_JSON).write_text(json.dumps(GroundingConfig(**config).to_json()))
    return folder
