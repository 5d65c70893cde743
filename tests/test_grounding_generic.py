"""The grounded English list holds no lone word that says nothing (#First, #Going), unless training
posts used it as a tag often (#Love), nor a loose compound of the post's words (#DogRefusing); the Chinese list no
tag of one character that is a body part or no noun (#腿, #抽)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
from inference.runtime.tag_index import TagIndex


def _grounder(lang: str) -> Grounder:
    index = TagIndex(np.zeros((2, 4), dtype=np.float32), ["love", "first"], np.array([465, 3]))
    return Grounder(None, index, GroundingConfig(floor=0.1), lang)


def _entry(words: str, relevance: float, source: str = "vocab") -> dict:
    return {"words": words, "model": 0.0, "relevance": relevance, "source": source, "cos": 0.5}


def test_lone_generic_words_leave_an_english_list():
    pool = {w.replace(" ", ""): _entry(w, r) for w, r in [
        ("first", 0.9), ("first time", 0.8), ("going", 0.7), ("doubles", 0.6), ("double", 0.55),
        ("club", 0.5), ("monday", 0.45), ("love", 0.4)]}
    grounded = _grounder("en")._finish(Prepared(pool, "first time playing doubles at the club on monday"), set(), False)
    # #First, #Going and the fragment #Double go; #Love, a tag 465 training posts used, stays
    assert [r.words for r in grounded.ranked] == ["first time", "doubles", "club", "monday", "love"]


def test_a_chinese_list_is_left_as_it_is():
    pool = {"第一": _entry("第一", 0.9), "first": _entry("first", 0.8)}
    grounded = _grounder("zh")._finish(Prepared(pool, "第一 次"), set(), False)
    assert [r.words for r in grounded.ranked] == ["第一", "first"]


def test_a_chinese_tag_of_one_character_that_is_a_body_part_or_no_noun_says_nothing_alone():
    pool = {w: _entry(w, r, "phrase") for w, r in [("腿", 0.9), ("抽", 0.85), ("骑行", 0.8), ("茶", 0.75), ("千岛湖", 0.7)]}
    grounded = _grounder("zh")._finish(Prepared(pool, "绕千岛湖骑了120公里，腿已经不是我的了，90抽，喝茶"), set(), False)
    assert [r.words for r in grounded.ranked] == ["骑行", "茶", "千岛湖"]  # #茶, a noun of one character, stays


def test_with_the_floor_one_vocabulary_guess_sharing_no_word_with_the_post_is_enough():
    pool = {w.replace(" ", ""): _entry(w, r, s) for w, r, s in [
        ("first time", 0.9, "phrase"), ("wrestling", 0.8, "vocab"), ("wrestler", 0.7, "vocab"),
        ("doubles", 0.6, "phrase"), ("clubs", 0.5, "vocab"), ("tennis", 0.45, "vocab")]}
    grounded = _grounder("en")._finish(Prepared(pool, "first time playing doubles at the club"), set(), True)
    # #Wrestling is the one guess; #Clubs shares a word with the post ("club")
    assert [r.words for r in grounded.ranked] == ["first time", "wrestling", "doubles", "clubs"]
    assert grounded.floored
    without = _grounder("en")._finish(Prepared(pool, "first time playing doubles at the club"), set(), False)
    assert len(without.ranked) == 6  # tagsmith predict fills k: no floor, no cap


def test_an_activity_a_posts_past_tense_names_becomes_a_candidate_taken_from_the_post():
    from inference.runtime.grounding_rules import add_activities

    counts = {"running": 14, "crying": 11, "stopping": 0}
    pool = {"running": _entry("running", 1.0)}  # the vocabulary search's guess
    add_activities(pool, "ran my first 10k without stopping and cried at the finish", lambda key: counts.get(key, 0),
                   sensitive=lambda words: words == "crying")
    assert pool["running"]["source"] == "phrase" and pool["running"]["phrase"] > 0
    assert "crying" not in pool  # a kind of the safety lexicon: no rule adds it on its own


def test_an_english_post_gets_no_tag_in_another_script_unless_it_writes_it():
    pool = {w: _entry(w, 0.6) for w in ("생일", "birthday", "café")}
    kept = _grounder("en")._finish(Prepared(dict(pool), "happy birthday to the queen of code at the café"), set(), False)
    assert {r.words for r in kept.ranked} == {"birthday", "café"}
    kept = _grounder("en")._finish(Prepared(dict(pool), "생일 축하해! happy birthday"), set(), False)
    assert "생일" in {r.words for r in kept.ranked}
    russian = {"метеорит": _entry("метеорит", 0.6)}  # a post in that script itself
    assert _grounder("en")._finish(Prepared(russian, "ПИЗДЕЦ. ГДЕ ЖЕ БЫЛ БРЮС УИЛЛИС?"), set(), False).ranked


def test_a_word_for_a_person_the_post_speaks_of_says_nothing_alone():
    pool = {w.replace(" ", ""): _entry(w, r, "phrase") for w, r in [
        ("bloke", 0.9), ("lads holiday", 0.8), ("mate", 0.7), ("magaluf", 0.6)]}
    grounded = _grounder("en")._finish(Prepared(pool, "bloke at the bar told my mate the lads holiday to magaluf is on"),
                                       set(), False)
    assert [r.words for r in grounded.ranked] == ["lads holiday", "magaluf"]


def test_people_named_by_a_colour_are_no_tag_alone_and_a_name_holding_the_word_stays():
    pool = {w.replace(" ", ""): _entry(w, r, "phrase") for w, r in [("blacks", 0.9), ("all blacks", 0.8), ("boks", 0.7)]}
    grounded = _grounder("en")._finish(Prepared(pool, "All Blacks scrum looking shaky again, the Boks are coming"), set(), False)
    assert [r.words for r in grounded.ranked] == ["all blacks", "boks"]


def test_words_of_the_post_run_together_across_a_verb_are_no_tag():
    pool = {w.replace(" ", ""): _entry(w, r, "phrase") for w, r in [
        ("dog refusing", 0.9), ("carries cash", 0.85), ("doing kutsinhira", 0.8), ("upstairs neighbour", 0.75),
        ("carrot juice", 0.7), ("first time", 0.65), ("dog", 0.6)]}
    pool["kiteflying"] = _entry("kite flying", 0.55, "phrase") | {"topical": True}  # a topic's own tag stays
    grounded = _grounder("en")._finish(Prepared(pool, "dog refusing, nobody carries cash, doing kutsinhira"), set(), False)
    # a gerund after the first word, an -s form before the last (upstairs is none) or "doing": a loose compound
    assert [r.words for r in grounded.ranked] == ["upstairs neighbour", "carrot juice", "first time", "dog", "kite flying"]


def test_a_word_that_only_names_a_quality_and_was_never_a_tag_says_nothing_alone():
    from inference.runtime.grounding_rules import says_nothing_alone
    from inference.text.english_words import names_a_quality

    assert names_a_quality("prouder") and names_a_quality("biggest") and not names_a_quality("teacher")
    assert says_nothing_alone(_entry("shaky", 0.9, "phrase"), tag_count=0)
    assert not says_nothing_alone(_entry("hilarious", 0.9, "phrase"), tag_count=28)  # a tag in training stays
    assert not says_nothing_alone(_entry("shaky", 0.9, "phrase") | {"name": 0.6}, tag_count=0)  # a name the post writes


def test_a_part_of_the_body_alone_is_no_tag_but_a_phrase_holding_one_stays():
    pool = {w.replace(" ", ""): _entry(w, r, "phrase") for w, r in [
        ("ribs", 0.9), ("elbow", 0.85), ("central line", 0.8), ("leg day", 0.7), ("commute", 0.6)]}
    grounded = _grounder("en")._finish(Prepared(pool, "central line at 8am, an elbow in my ribs, then leg day"), set(), False)
    assert [r.words for r in grounded.ranked] == ["central line", "leg day", "commute"]
