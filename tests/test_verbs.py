"""English verb forms: verbs in a post, a verb opening a sentence, the activities a post's verbs name."""

from __future__ import annotations

import pytest

from inference.text.phrases import english_lists
from inference.text.verbs import activities, gerund, opening_verb, verb_like


@pytest.fixture(scope="module")
def dictionary():
    return english_lists()[0]


def test_a_gerund_doubles_a_short_words_last_letter_and_drops_a_silent_e():
    assert [gerund(b) for b in ("run", "swim", "bake", "hike", "cook", "lie")] == \
        ["running", "swimming", "baking", "hiking", "cooking", "lying"]


def test_the_activities_of_a_posts_past_tenses_regular_and_irregular(dictionary):
    assert "running" in activities("ran my first 10k without stopping", dictionary)
    assert "swimming" in activities("Swam my first full mile at the pool today", dictionary)
    assert "biking" in activities("Biked to work for the first time", dictionary)
    assert "shopping" in activities("shopped for shoes all afternoon", dictionary)


def test_a_past_tense_in_a_likeness_names_no_activity(dictionary):
    assert "swimming" not in activities("biked to work in the rain, arrived looking like I swam here", dictionary)
    assert "running" not in activities("stared at me as if we ran over his cat", dictionary)
    assert "biking" in activities("biked to work in the rain, arrived looking like I swam here", dictionary)


def test_an_irregular_past_that_names_no_activity_gives_none(dictionary):
    assert not {"breaking", "meeting", "shooting"} & set(activities("broke my phone, met a friend, shot a 94", dictionary))


def test_verbs_that_open_a_sentence_before_a_name(dictionary):
    assert opening_verb("saw", dictionary) and opening_verb("tried", dictionary) and opening_verb("rewatched", dictionary)
    assert not verb_like("saw", dictionary)  # inside a sentence "chain saw" stays a phrase
    assert not opening_verb("boston", dictionary)
