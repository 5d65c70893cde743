"""The safety lexicon file's format (inference/models/safety.json): its version and its validation."""

from __future__ import annotations

from typing import Callable

FORMAT_VERSION = 1
POLICIES = ("never", "contextual")


class InvalidSafetyLexicon(ValueError):
    """The safety lexicon file is missing, unreadable, of another format version or malformed."""


def validate(data: object) -> None:
    """Raise InvalidSafetyLexicon unless ``data`` is a lexicon of this format version."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise InvalidSafetyLexicon(what)

    need(isinstance(data, dict), "the lexicon is not a JSON object")
    version = data.get("format_version")
    need(version == FORMAT_VERSION, f"format_version {version!r}, expected {FORMAT_VERSION}")
    for key in ("closeness_threshold", "categories", "events", "never", "safe", "stopwords"):
        need(key in data, f"missing key {key!r}")
    need(isinstance(data["closeness_threshold"], (int, float)), "closeness_threshold not a number")
    cats = data["categories"]
    need(isinstance(cats, dict) and bool(cats), "categories must be a non-empty object")
    for name, cat in cats.items():
        need(isinstance(cat, dict) and cat.get("policy") in POLICIES, f"category {name}: policy")
        need(isinstance(cat.get("groups"), list), f"category {name}: groups must be a list")
        for g in cat["groups"]:
            _check_entry(g, f"category {name}", need)
    need(isinstance(data["events"], list), "events must be a list")
    for ev in data["events"]:
        _check_entry(ev, "event", need)
        need(ev.get("category") in cats, f"event {ev.get('name')}: unknown category")
        need(_lang_lists(ev.get("tags")), f"event {ev.get('name')}: tags per language")
    for key in ("safe", "stopwords"):
        need(_lang_lists(data[key]), f"{key} must map languages to lists of strings")
    tone = data.get("tone", {})
    need(isinstance(tone, dict) and all(_lang_lists(v) for v in tone.values()),
         "tone must map grief_cues, worry_cues, mourning, cheerful, occasions, holidays, job_loss_cues and new_start to "
         "languages and lists of strings")
    need(_lang_lists(data.get("support", {})), "support must map languages to lists of strings")
    reader = data.get("grief_reader")
    need(reader is None or (isinstance(reader, dict) and isinstance(reader.get("weights"), list)
                            and all(isinstance(w, (int, float)) for w in reader["weights"])
                            and all(isinstance(reader.get(k), (int, float)) for k in ("bias", "threshold"))),
         "grief_reader must hold weights (numbers), bias and threshold")
    need(isinstance(data.get("corroborate", []), list) and all(c in cats for c in data.get("corroborate", [])),
         "corroborate must list known categories")
    kinds = data.get("kinds", {})
    need(isinstance(kinds, dict) and all(isinstance(v, dict) and all(isinstance(t, str) and isinstance(k, str) and k
                                                                      for t, k in v.items()) for v in kinds.values()),
         "kinds must map languages to {tag: kind}")
    never = data["never"]
    need(isinstance(never, dict), "never must map languages to {tag: category}")
    for lang, tags in never.items():
        need(isinstance(tags, dict) and all(c in cats for c in tags.values()),
             f"never[{lang}] must map tags to known categories")


def _check_entry(entry: object, where: str, need: Callable[[bool, str], None]) -> None:
    need(isinstance(entry, dict) and isinstance(entry.get("name"), str), f"{where}: entry name")
    need(_lang_lists(entry.get("terms")), f"{where} {entry['name']}: terms per language")
    need(_lang_lists(entry.get("triggers", {})), f"{where} {entry['name']}: triggers per language")


def _lang_lists(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, list) and all(isinstance(s, str) and s.strip() for s in v)
        for v in value.values())
