"""The tone rule of the safety filter: no cheerful tag on a grief post, and no mourning tag on any other.

A post or thread about a death or a loss (the lexicon's `tone.grief_cues`: "passed away", "funeral",
"lost" with "mum", 去世, 外婆 with 走了) gets no tag holding a cheerful or joking word (`tone.cheerful`:
happy, party, lol, "i died", 快乐, 哈哈), and no occasion tag (`tone.occasions`: fathers day,
birthday, 生日) unless the post itself names that occasion ("our first Christmas without her"):
#HappyFathersDay under a father's death is hurtful, #RIP is fine. A tag of mourning (`tone.mourning`: pet
loss, grief, rainbow bridge, 思念) stands only on a grief post; a post about an illness or a health scare
(`tone.worry_cues`: biopsy, chemo, 化疗) gets no cheerful tag either, and one about losing a job (`tone.job_loss_cues`:
laid off, made redundant, 被裁) no tag of a new job or of hiring (`tone.new_start`). Data: inference/models/safety.json,
built from export/safety_seeds.py.

Most losses are told in no word a list can hold ("still can't wash Dad's mug"): where the caller has the
sentence encoder's vector of a post in a language the lexicon's `grief_reader` was fitted on (its `langs`;
runtime/grounding.py hands it over), the reader reads it too, a linear model (export/grief_reader.py fits it
on labelled everyday posts):

    grief = w . v + b >= threshold        v: the post + thread vector [D]; w: [D]
"""

from __future__ import annotations

import re

import numpy as np

from inference.runtime.safety_terms import Context, compact, has_cjk, make_group, stem, tokens

# the tag a post that tells of a death takes, where the language has one (the rubric's own tasteful example): such posts
# had #Family, #Tractor or #Grandads, words of the post that say nothing of the loss
CONDOLENCE = {"en": "RIP"}
# words that tell of a death and of nothing else ("passed away"; a pet that "had to be put to sleep", not a patient "put to
# sleep for the surgery")
_NAMED_DEATH = re.compile(r"\bpassed away\b|\b(?:had to be|was|were|got) put to sleep\b|\bhad (?:him|her|them) put to sleep\b",
                          re.IGNORECASE)


def _terms(texts: list[str]) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """(Latin terms as stem tuples, Chinese terms written together)."""
    latin = tuple({tuple(stem(w) for w in tokens(t)) for t in texts if not has_cjk(t) and tokens(t)})
    return latin, tuple({compact(t) for t in texts if has_cjk(t)})


def _holds(terms: tuple[tuple[tuple[str, ...], ...], tuple[str, ...]], stems: list[str], joined: str) -> list[str]:
    """The terms a tag holds: a Latin term as consecutive words, a Chinese one anywhere in it."""
    latin, cjk = terms
    found = [" ".join(t) for t in latin for i in range(len(stems) - len(t) + 1) if tuple(stems[i:i + len(t)]) == t]
    return found + [t for t in cjk if t in joined]


class GriefReader:
    """The lexicon's linear reader of a post vector (module docstring)."""

    def __init__(self, data: dict):
        self.weights = np.asarray(data["weights"], dtype=np.float32)  # [D]
        self.bias, self.threshold = float(data["bias"]), float(data["threshold"])
        self.langs = frozenset(data.get("langs", ("en",)))  # the languages of the posts it learnt from

    def reads(self, vector: np.ndarray, lang: str) -> bool:
        return (lang in self.langs and vector.shape == self.weights.shape
                and float(vector @ self.weights) + self.bias >= self.threshold)


class Tone:
    """Cheerful and occasion tags kept off grief posts (see the module docstring)."""

    def __init__(self, data: dict, reader: dict | None = None):
        self.reader = GriefReader(reader) if reader else None  # safety.json's grief_reader, or none
        cues = [t for ts in data.get("grief_cues", {}).values() for t in ts]
        self.grief = make_group("tone:grief", "grief", "contextual", False, cues)
        worry = [t for ts in data.get("worry_cues", {}).values() for t in ts]
        self.worry = make_group("tone:worry", "worry", "contextual", False, worry)
        self.mourning = _terms([t for ts in data.get("mourning", {}).values() for t in ts])
        self.cheerful = _terms([t for ts in data.get("cheerful", {}).values() for t in ts])
        self.occasions = _terms([t for ts in data.get("occasions", {}).values() for t in ts])
        self.holidays = _terms([t for ts in data.get("holidays", {}).values() for t in ts])
        kin = sorted({t.split()[1] for t in data.get("grief_cues", {}).get("en", ()) if re.fullmatch(r"lost \w+", t)})
        # "we lost my dad on Tuesday", "mum passed last night": a death told in words no death group holds (`tells_a_death`)
        self.kin_death = re.compile(rf"\blost (?:my|our) (?:\w+ )?(?:{'|'.join(kin)})\b(?!'s)|\b(?:my|our) (?:{'|'.join(kin)}) "
                                    r"passed\b(?! (?:the|my|his|her|their|a|an|it|all)\b)|\b(?:said|had to say) goodbye to\b",
                                    re.IGNORECASE) if kin else None
        lost = [t for ts in data.get("job_loss_cues", {}).values() for t in ts]
        self.job_loss = make_group("tone:job_loss", "job loss", "contextual", False, lost)
        self.new_start = _terms([t for ts in data.get("new_start", {}).values() for t in ts])

    def names_a_death(self, text: str) -> bool:
        """The text tells of a death in words that mean nothing else ("Mum passed away peacefully", "Misty had to be put to
        sleep"): a grief post whatever the grief reader reads (`SafetyFilter.mourning`), which missed a mother's death
        told beside her baking and her laugh."""
        return _NAMED_DEATH.search(text) is not None  # no apostrophe in its words: no quote to normalise

    def tells_a_death(self, text: str) -> bool:
        """The text tells of a kin's or a pet's death in everyday words ("we lost my dad on Tuesday", "our nan passed last
        night", "had to say goodbye to Biscuit"; not "lost my dad's watch", "my sister passed her test"): read only where
        the post is mourned (`SafetyFilter.mourning`), which the grief reader must agree to."""
        told = self.kin_death is not None and self.kin_death.search(text.replace("\u2019", "'")) is not None
        return told or self.names_a_death(text)

    def unnamed_holiday(self, tag_words: str, ctx: Context) -> str | None:
        """The day of the calendar a tag names (`tone.holidays`: #HappyMothersDay, #中秋快乐) that the post
        does not name, or None."""
        stems, joined = [stem(w) for w in tokens(tag_words)], compact(tag_words)
        return next((h for h in _holds(self.holidays, stems, joined) if not _named(h, ctx)), None)

    def objection(self, tag_words: str, ctx: Context) -> str | None:
        """Why this tag may not stand under this post, or None."""
        stems, joined = [stem(w) for w in tokens(tag_words)], compact(tag_words)
        grief = ctx.is_about(self.grief)
        if not grief and (mourning := _holds(self.mourning, stems, joined)):
            return f"mourning tag ({', '.join(mourning)}) on a post not read as grief"
        if ctx.is_about(self.job_loss) and (new := _holds(self.new_start, stems, joined)):
            return f"new-job tag ({', '.join(new)}) on a post about losing a job"
        if not grief and not ctx.is_about(self.worry):
            return None
        if cheerful := _holds(self.cheerful, stems, joined):
            return f"cheerful tag ({', '.join(cheerful)}) on a post of grief or illness"
        for occasion in _holds(self.occasions, stems, joined) if grief else ():
            if not _named(occasion, ctx):
                return f"occasion tag ({occasion}) on a grief post that does not name it"
        return None


def _named(term: str, ctx: Context) -> bool:
    """The post names the term: a Chinese one anywhere in it, every stem of a Latin one."""
    return term in ctx.cjk if has_cjk(term) else all(w in ctx.stems for w in term.split())


def add_condolence(pool: dict[str, dict], lang: str, floor: float, told: bool = False) -> None:
    """Add the language's CONDOLENCE tag to the candidates of a post that tells of a death (`SafetyFilter.mourning`), as a
    very clear topic at the relevance floor; told: the post tells it in everyday words (`Tone.tells_a_death`), which stand
    for the death category's own ("we lost my dad on Tuesday": `grounding.Grounder.allowed`)."""
    if (words := CONDOLENCE.get(lang)) is None:
        return
    entry = pool.setdefault(words.casefold(), {"words": words, "model": 0.0, "source": "phrase", "cos": 0.0})
    entry.update(topic=True, topical=True, phrase=max(entry.get("phrase", 0.0), 0.5), told_death=told,
                 relevance=max(entry.get("relevance", floor), floor))
