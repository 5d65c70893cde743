"""English idioms a post uses (inference/data/idioms_en.txt): their words name a thing the post is not about. "did not
do it justice" gave #Justice, "on very thin ice" #Ice and #ThinIce, "a piece of cake" #Cake and a birthday's topic,
"under the weather" #Weather and #Heatwave. No word of an idiom the post uses, nor a run of them, is a tag
(`drop_idiom_words`), and the encoder and the topic reader read the post with each idiom in its plain meaning
(`plainly`: "feeling a bit unwell today"; runtime/grounding.py, runtime/topics.py).

An idiom is matched word by word, each word in any of its forms (verbs.inflection_key: bit, biting -> bite), "{}" any
one word (do {} justice: did it justice, do them justice)."""

from __future__ import annotations

import functools
import re

from inference.text.segment_data import PACKAGE_DATA
from inference.text.tags import variant_key
from inference.text.verbs import inflection_key

IDIOMS_FILE = PACKAGE_DATA / "idioms_en.txt"
SLOT = "{}"
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|\{\}")
_LINE = re.compile(r"^([a-z0-9' {}]+?)\s+=\s+([a-z0-9' ,-]+)$")


class InvalidIdioms(ValueError):
    """An idioms file line that is not "idiom = its plain meaning", the idiom of two words or more, in lower case."""


@functools.lru_cache(maxsize=1 << 16)
def _key(word: str) -> str:
    return inflection_key(word.replace("’", "'"))


def read_idioms(path=IDIOMS_FILE) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Each idiom's first word's key -> (the idiom's word keys, SLOT for "{}"; its plain meaning) of the idioms
    starting with it."""
    out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        found = _LINE.match(line)
        words = _WORD.findall(found.group(1)) if found else []
        if len(words) < 2 or words[0] == SLOT:
            raise InvalidIdioms(f"{path}:{number}: expected 'idiom = its plain meaning' in lower case, got {line!r}")
        out.setdefault(_key(words[0]), []).append((tuple(w if w == SLOT else _key(w) for w in words), found.group(2)))
    return out


@functools.cache
def idioms(path=IDIOMS_FILE) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    return read_idioms(path)


@functools.lru_cache(maxsize=256)  # a request asks for its text's spans three times (plainly twice, idiom_keys)
def idiom_spans(text: str, path=IDIOMS_FILE) -> tuple[tuple[int, int, str], ...]:
    """(start, end, plain meaning) of each idiom the text uses, by characters, in order, none inside another."""
    table = idioms(path)
    found = list(_WORD.finditer((text or "").lower()))
    keys = [_key(m.group(0)) for m in found]
    spans, i = [], 0
    while i < len(keys):
        starting = table.get(keys[i])
        idiom, meaning = max(((w, m) for w, m in starting if _fits(w, keys, i)), key=lambda p: len(p[0]),
                             default=((), "")) if starting else ((), "")
        if idiom:
            spans.append((found[i].start(), found[i + len(idiom) - 1].end(), meaning))
        i += max(len(idiom), 1)
    return tuple(spans)


def _fits(idiom: tuple[str, ...], keys: list[str], i: int) -> bool:
    return i + len(idiom) <= len(keys) and all(w == SLOT or w == keys[i + k] for k, w in enumerate(idiom))


def plainly(text: str, path=IDIOMS_FILE) -> str:
    """The text with each idiom it uses in its plain meaning ("feeling a bit under the weather": "feeling a bit unwell")."""
    for start, end, meaning in reversed(idiom_spans(text, path)):
        text = text[:start] + meaning + text[end:]
    return text


def idiom_keys(text: str, path=IDIOMS_FILE) -> set[str]:
    """The variant keys of every run of words inside an idiom the text uses (thin, ice, thin ice), but a word the text
    also writes outside its idioms ("the shed is on fire, the fire brigade came": fire)."""
    out, rest, last = set(), [], 0
    for start, end, _ in idiom_spans(text, path):
        words = _plain_words(text[start:end])
        out.update(variant_key(" ".join(words[i:j])) for i in range(len(words)) for j in range(i + 1, len(words) + 1))
        rest, last = rest + _plain_words(text[last:start]), end
    return out - {variant_key(w) for w in rest + _plain_words(text[last:])} if out else out


def _plain_words(text: str) -> list[str]:
    return [w.replace("’", "").replace("'", "") for w in _WORD.findall(text.lower()) if w != SLOT]


def drop_idiom_words(pool: dict[str, dict], text: str, path=IDIOMS_FILE) -> None:
    """Drop the candidates that are words of an idiom the text uses (#Justice under "did not do it justice"), but a work
    the post names (runtime/named_titles.py)."""
    keys = idiom_keys(text, path)
    for key in [k for k, e in pool.items() if keys and not e.get("work_named")
                and variant_key(e["words"].replace("'", "").replace("’", "")) in keys]:
        del pool[key]
