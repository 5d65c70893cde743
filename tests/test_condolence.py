"""A post that tells of a death takes #RIP, the tasteful tag the rubric names; no other post does
(inference/runtime/safety_tone.py `add_condolence`, grounding.Grounder.eligible)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
from inference.runtime.safety import SafetyFilter
from inference.runtime.safety_tone import add_condolence
from inference.runtime.tag_index import TagIndex


class ReadsGrief:  # stands in for the encoder-based grief reader: it reads every post as grief
    @staticmethod
    def reads(vector, lang):
        return True


@pytest.fixture(scope="module")
def grounder():
    safety = SafetyFilter.load(Path(__file__).parents[1] / "inference" / "models" / "safety.json")
    safety.lexicon.tone.reader = ReadsGrief()
    return Grounder(None, TagIndex(np.zeros((1, 4), dtype=np.float32), ["dad"], np.array([5])),
                    GroundingConfig(floor=0.1), "en", safety)


def _tags(grounder, text):
    pool = {"dad": {"words": "Dad", "model": 0.0, "source": "phrase", "phrase": 0.5, "relevance": 0.5, "cos": 0.3}}
    return [r.words for r in grounder._finish(Prepared(pool, text, np.zeros(4)), set(), True).ranked]


def test_a_post_that_tells_of_a_death_takes_rip_among_its_first_tags(grounder):
    assert set(_tags(grounder, "Dad passed away peacefully this morning. He taught me to fish.")) == {"RIP", "Dad"}


def test_a_death_told_in_everyday_words_takes_rip_too(grounder):
    assert "RIP" in _tags(grounder, "We lost my dad on Tuesday. He never missed one of my softball games.")


def test_a_pet_said_goodbye_to_takes_rip(grounder):
    assert "RIP" in _tags(grounder, "Had to say goodbye to Biscuit this morning. Fifteen years of being the best boy.")


def test_a_pet_put_to_sleep_takes_rip(grounder):
    assert "RIP" in _tags(grounder, "Our old girl Misty had to be put to sleep this afternoon. 17 years. The house is so quiet.")


def test_a_loss_that_is_no_death_takes_no_rip(grounder):
    assert "RIP" not in _tags(grounder, "lost my dad's watch at the fair, gutted")
    tone = grounder.safety.lexicon.tone
    assert tone.tells_a_death("our nan passed last night") and not tone.tells_a_death("my sister passed her test")


def test_a_post_that_tells_of_no_death_or_names_an_anniversary_takes_no_rip(grounder):
    assert "RIP" not in _tags(grounder, "Dad taught me to fish this morning, best day")
    assert "RIP" not in _tags(grounder, "5 years today with this man. the tamagotchi he got me died already, rip")


def test_a_language_without_a_condolence_tag_gets_none():
    pool = {}
    add_condolence(pool, "zh", 0.1)
    assert pool == {}
