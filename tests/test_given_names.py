"""A person the post names by a given name alone (a neighbour, a gran: #Derek, #Margaret) is no tag; a given name that
is a word, a place, a topic's cue word or a tag of the training posts stays one."""

from __future__ import annotations

import numpy as np

from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
from inference.runtime.tag_index import TagIndex
from inference.runtime.topics import read_cues, topics_file
from inference.text.english_words import GIVEN_NAMES, given_name


def _grounder() -> Grounder:
    index = TagIndex(np.zeros((1, 4), dtype=np.float32), ["adele"], np.array([12]))
    return Grounder(None, index, GroundingConfig(floor=0.1), "en")


def _entry(words: str, relevance: float, source: str = "phrase") -> dict:
    return {"words": words, "model": 0.0, "relevance": relevance, "source": source, "cos": 0.5}


def test_a_neighbours_given_name_leaves_the_list_and_a_singer_a_tag_in_training_stays():
    pool = {w: _entry(w, r) for w, r in [("derek", 0.9), ("beekeeping", 0.8), ("adele", 0.7), ("queenless", 0.6)]}
    text = "Derek next door says the hive is queenless again, Adele on the radio while we checked"
    grounded = _grounder()._finish(Prepared(pool, text), set(), False)
    assert [r.words for r in grounded.ranked] == ["beekeeping", "adele", "queenless"]


def test_given_names_are_people_not_words_places_or_cue_words():
    assert all(given_name(n) for n in ["derek", "Margaret", "nina", "bertie"])
    # a word ("hope", "rose"), a place ("adelaide", "madison"), a surname first ("taylor", "williams", "tatum"),
    # two words, a topic's cue word ("alexa", "hoa")
    assert not any(given_name(w) for w in ["hope", "rose", "adelaide", "madison", "taylor", "williams", "tatum",
                                           "derek jeter", "alexa", "hoa"])


def test_the_given_names_hold_no_cue_word_of_the_english_topics():
    # export/given_names.py leaves them out: rebuild the list after a round of topics
    #   python -m export.given_names --out inference/data/given_names_en.txt
    names = set(GIVEN_NAMES.read_text(encoding="utf-8").split("\n")[1:])
    cues = {cue for topic_cues in read_cues(topics_file("en")).values() for cue in topic_cues}
    assert not names & cues
