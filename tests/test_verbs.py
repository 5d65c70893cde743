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


def test_someone_elses_doing_names_no_activity_of_the_post(dictionary):
    assert activities("rang tonight for Margaret, who taught half this band", dictionary) == []
    assert activities("he taught me to handle a bell", dictionary) == []
    assert activities("dad drove me to school", dictionary) == []
    assert activities("taught my first class today", dictionary) == ["teaching"]


def test_an_irregular_past_that_names_no_activity_gives_none(dictionary):
    assert not {"breaking", "meeting", "shooting"} & set(activities("broke my phone, met a friend, shot a 94", dictionary))


def test_verbs_that_open_a_sentence_before_a_name(dictionary):
    assert opening_verb("saw", dictionary) and opening_verb("tried", dictionary) and opening_verb("rewatched", dictionary)
    assert not verb_like("saw", dictionary)  # inside a sentence "chain saw" stays a phrase
    assert not opening_verb("boston", dictionary)


def test_the_word_lists_are_held_as_hashes_and_answer_as_a_set_and_a_dict_did():
    from inference.text.phrases import rarity
    from inference.text.word_hashes import WordRanks, WordSet

    words = WordSet(["apple", "banana", "apple"])
    assert "apple" in words and "banana" in words and "cherry" not in words and len(words) == 2
    ranks = WordRanks(["the", "of", "the", "and"])
    assert ranks.get("the", 9) == 1 and ranks.get("of", 9) == 2 and ranks.get("and", 9) == 4 and ranks.get("zz", 9) == 9
    assert "票" not in WordSet(["hy"]) and WordRanks(["hy"]).get("票", 9) == 9  # one code unit's bytes spell "hy"
    assert "\ud83d" not in words  # a lone surrogate (JSON allows one) is looked up, not an error
    dictionary, _ = english_lists()
    assert "watching" in dictionary and "chicago" not in dictionary
    assert rarity("the") == 0.0 and rarity("qwzxv") == 1.0 and 0 < rarity("marmalade") < 1


@pytest.mark.parametrize("text", ["ran Meg at Bala on sat, outrun was lovely", "sap ran like crazy after that cold snap",
                                  "Ran the club's Britannia in memory of Geoff", "the quick sync ran til 5:40",
                                  "ran my first triple peel in an actual game", "ran out of milk again"])
def test_ran_is_no_run_where_someone_ran_something_else_or_something_else_ran(dictionary, text):
    assert "running" not in activities(text, dictionary)


@pytest.mark.parametrize("text", ["ran my first 10k without stopping", "i ran the whole 8 mins without stopping",
                                  "Ran my first half marathon!", "ran along the canal this morning"])
def test_ran_with_a_runs_measure_or_a_way_is_a_run(dictionary, text):
    assert "running" in activities(text, dictionary)
