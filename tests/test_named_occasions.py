"""An anniversary or a dental treatment a post names in a set phrase ("6 years today with this goofball", "getting a
filling") is its topic; the anniversary is no grief."""

from __future__ import annotations

import pytest

from inference.runtime.named_occasions import occasions


@pytest.mark.parametrize("post", ["6 years today with this goofball, he still can't fold a fitted sheet",
                                  "10 years married today. we celebrated by arguing about grand designs",
                                  "3 yrs together and he finally admitted he hates coriander"])
def test_a_set_phrase_names_an_anniversary(post):
    assert occasions(post) == ["anniversary"]


@pytest.mark.parametrize("post", ["a year today since we lost mum. made her soup", "$219 a month with zero claims",
                                  "4 years at this company today", "years ago with my gran at the seaside"])
def test_a_loss_a_price_or_a_job_is_no_anniversary(post):
    assert occasions(post) == []


def test_a_dental_treatment_names_the_dentist_and_a_pies_filling_does_not():
    assert occasions("first time getting a filling as an adult") == ["dentist"]
    assert occasions("had my wisdom teeth out today") == ["dentist"]
    assert occasions("got a filling of custard in this donut") == [] and occasions("the filling in this pie") == []


def test_the_grief_reader_alone_does_not_make_an_anniversary_a_grief_post():
    from inference.runtime.safety import SafetyFilter
    from inference.runtime.suggester import DEFAULT_MODELS_DIR

    safety = SafetyFilter.load(DEFAULT_MODELS_DIR / "safety.json")

    class ReadsGrief:  # stands in for the encoder-based reader: it reads every post as grief
        @staticmethod
        def reads(vector, lang):
            return True

    safety.lexicon.tone.reader = ReadsGrief()
    post = "6 years today with this goofball, he makes me coffee every morning"
    assert safety.check("anniversary", safety.context_for(post, vector=[0.0], lang="en"), "en").allowed
    other = "he makes me coffee every morning and i miss it"
    assert not safety.check("anniversary", safety.context_for(other, vector=[0.0], lang="en"), "en").allowed


@pytest.mark.parametrize("post, parenting", [
    ("my 5yo just told me very seriously she's 'not tired, my eyes are just heavy'", True),
    ("my 15 y/o asked me to drop him off a block away from school. so it begins", True),
    ("my 3 year old has decided she only eats food that is yellow", True),
    ("had to say goodbye to our 14 year old lab today", False),  # a dog
    ("Our 78 yo lead came back to win", False),  # a teammate
    ("my 2 year old laptop died", False),
])
def test_a_child_of_the_posters_doing_something_names_parenting_and_a_dog_or_laptop_of_an_age_does_not(post, parenting):
    assert ("parenting" in occasions(post)) is parenting
