"""Tags of a sensitive kind found from data (the lexicon's `kinds`, export/safety_kinds.py): kept only
under a post that says the tag's own words."""

import json
import re
from pathlib import Path

import pytest

from inference.runtime.safety import InvalidSafetyLexicon, SafetyFilter, SafetyLexicon

LEXICON = Path(__file__).resolve().parent.parent / "inference" / "models" / "safety.json"
WORDNET = Path("/usr/share/wordnet")

CRICKET = "rain delay at lords again, third day in a row. england need 140 to win"
BALLOT = "Wimbledon ticket ballot results are out, didn't get in again. 4 years running"
DIABETES = "diagnosed with type 1 diabetes at 29. carb counting is a full time job"
POWER_CUT = "Power's been out 14 hours since the storm came through. two big oaks down, everyone is ok"
QUAKE = "felt the earthquake in the office, whole building swayed for like 10 seconds. everyone ok?"
SAVINGS = "每个 月 工资 到手 就 没 了 , 大家 都 是 怎么 存钱 的 ?"


@pytest.fixture(scope="module")
def safety() -> SafetyFilter:
    return SafetyFilter.load(LEXICON)


@pytest.mark.parametrize("post", [CRICKET, BALLOT, DIABETES, POWER_CUT, QUAKE, SAVINGS])
@pytest.mark.parametrize("tag", ["harassment", "corruption", "aids", "survivors", "meteor", "tc ot", "tcot",
                                 "love wins", "是 你 工资 低", "老子 明天 不 上班"])
def test_a_tag_of_a_sensitive_kind_leaves_a_post_about_something_else(safety, tag, post):
    verdict = safety.check(tag, post, "zh" if post is SAVINGS else "en")
    assert not verdict.allowed, verdict
    assert verdict.category


@pytest.mark.parametrize("tag, post", [
    ("harassment", "Reported the harassment at work to HR today, finally."),
    ("corruption", "The mayor was charged with corruption this morning."),
    ("aids", "World AIDS Day: free HIV tests at the clinic, AIDS is still with us."),
    ("survivors", "500 cancer survivors walked the 5k together this morning."),
    ("meteor", "Saw a meteor streak across the sky last night, so bright!"),
    ("diabetes", DIABETES),
    ("tc ot", "Top conservatives on twitter tonight #tcot"),
    ("是 你 工资 低", "不是 房价 贵 , 是 你 工资 低"),
])
def test_a_tag_of_a_sensitive_kind_stays_on_a_post_that_says_it(safety, tag, post):
    verdict = safety.check(tag, post, "en")
    assert verdict.allowed, verdict


@pytest.mark.parametrize("tag", ["tennis", "cricket", "savings", "存钱", "工资"])
def test_everyday_tags_are_of_no_kind(safety, tag):
    assert "".join(tag.split()) not in safety.lexicon.kinds
    assert safety.check(tag, BALLOT, "en").allowed


def test_the_lexicon_kinds_must_map_languages_to_tags_and_kinds():
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    assert {"en", "zh"} <= set(data["kinds"])
    SafetyLexicon({**data, "kinds": {}})
    for bad in ({"en": ["harassment"]}, {"en": {"harassment": ""}}, {"en": {"harassment": 1}}, []):
        with pytest.raises(InvalidSafetyLexicon, match="kinds"):
            SafetyLexicon({**data, "kinds": bad})


def test_source_kinds_read_the_share_of_a_tags_posts_from_political_and_crisis_sources(tmp_path):
    from export.safety_kinds import source_kinds

    rows = [("tweeteval-stance-train-1", "tweeteval", ["tcot", "coffee"]),
            ("tweeteval-stance-train-2", "tweeteval", ["tcot"]),
            ("tweeteval-emoji-train-3", "tweeteval", ["coffee"]),
            ("instagram-life-4", "instagram", ["coffee"]),
            ("crisislex-x-5", "crisislex", ["meteor"]),
            ("crisislex-x-6", "crisislex", ["meteor"]),
            ("instagram-life-7", "instagram", ["meteor", "once"])]
    path = tmp_path / "en_train.jsonl"
    path.write_text("".join(json.dumps({"id": i, "source": s, "post": "p", "hashtags": h}) + "\n"
                            for i, s, h in rows), encoding="utf-8")
    assert source_kinds(path) == {"tcot": "stance", "meteor": "crisis"}  # "coffee": 1 of 3 posts


def test_chinese_clauses_speaking_to_someone_are_a_kind():
    from export.safety_kinds import clause_kinds

    assert clause_kinds({"是 你 工资 低", "老子 明天 不 上班", "重庆 火锅", "中秋 快乐"}) == {
        "是 你 工资 低": "clause", "老子 明天 不 上班": "clause"}


@pytest.mark.skipif(not (WORDNET / "data.noun").exists(), reason="Debian wordnet-base not installed")
def test_wordnet_harm_nouns_by_their_common_senses():
    from export.safety_kinds import harm_kinds

    kinds = harm_kinds({"harassment", "corruption", "aids", "survivors", "street harassment", "coffee",
                        "shark", "snow", "tennis", "fall", "ms"}, WORDNET)
    assert set(kinds) == {"harassment", "corruption", "aids", "survivors", "street harassment"}
    assert kinds["aids"] == "harm:ill health"


@pytest.mark.parametrize("tag", ["horrific", "horrible", "frustrated", "disgusting", "pathetic"])
def test_a_lone_negative_judgement_stands_only_under_a_post_that_says_it(safety, tag):
    ragu = "made my nonna's ragu for the first time without calling her. it was close. not nonna close but close"
    assert not safety.check(tag, ragu, "en").allowed
    assert safety.check(tag, f"honestly the queue at the airport was {tag} today, two hours to get through", "en").allowed


@pytest.mark.skipif(not (WORDNET / "index.adj").exists(), reason="Debian wordnet-base not installed")
def test_judgement_tags_are_strongly_negative_adjectives_and_nothing_else():
    pytest.importorskip("vaderSentiment")
    from export.safety_kinds import judgement_kinds

    kinds = judgement_kinds({"horrific", "pathetic", "sad", "horrible terrible", "cancer", "hate", "grief",
                             "tennis", "horrific crash", "happy", "bored"}, WORDNET)
    assert kinds == {"horrific": "judgement", "pathetic": "judgement", "sad": "judgement",
                     "horrible terrible": "judgement"}


def test_a_chinese_title_ending_on_you_is_no_clause():
    from export.safety_kinds import clause_kinds

    assert clause_kinds({"来自星星的你", "同桌的你", "我 不知 会 遇见 你", "林宥嘉 我们 守护 你"}) == {}


@pytest.mark.parametrize("tag", ["helicopter", "ruins", "ice", "woman", "meteor"])
def test_a_photos_own_tag_with_no_text_is_of_no_kind(safety, tag):
    assert safety.check(tag, "", "en").allowed
    assert safety.check(tag, "fun day out", "en", kinds=False).allowed
    assert not safety.check("maga", "", "en").allowed  # the curated lexicon still applies


def test_the_kind_report_counts_judged_candidates_where_the_post_says_them_and_where_not(capsys):
    from export.safety_lexicon import OUT, kind_report

    kind_report(OUT, "holidays")
    not_said, said = capsys.readouterr().out.splitlines()
    assert not_said.startswith("holidays candidates on posts that do not say their words: shown ")
    assert said.startswith("holidays candidates on posts that say their words: shown ")
    shown, usable = (int(n) for n in re.findall(r"\d+", said))
    assert shown > 0 and 0 < usable <= shown


@pytest.mark.parametrize("tag", ["chimp", "pig", "snake", "rat"])
def test_an_animal_people_call_a_person_stands_only_under_a_post_that_says_it(safety, tag):
    rant = "Got a parking ticket for being 3 minutes late. The guy was literally waiting there like a vulture"
    assert not safety.check(tag, rant, "en").allowed
    assert safety.check(tag, f"the {tag} at the zoo today was the best part of the trip", "en").allowed


def test_a_stance_of_several_words_stands_only_where_the_post_writes_it_as_a_phrase(safety):
    pet = "Said goodbye to Biscuit today. 15 years of the best friend a girl could ask for. 15 years of love is a gift"
    assert not safety.check("love is love", pet, "en").allowed
    assert safety.check("love is love", "love is love, happy pride everyone", "en").allowed


def test_a_disability_word_said_in_jest_is_never_a_chinese_tag(safety):
    assert not safety.check("残疾人", "练腿第二天，上厕所蹲下去就起不来了 练腿的第二天都是残疾人", "zh").allowed
