"""The hashtag safety filter: harmful tags leave unrelated posts, factual tags stay on posts about them."""

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest

from inference.runtime.safety import InvalidSafetyLexicon, SafetyFilter, SafetyLexicon, Verdict
from inference.text.english_words import names_a_quality

LEXICON = Path(__file__).resolve().parent.parent / "inference" / "models" / "safety.json"

BUNNY = "My bunny Clover hopped around the garden all morning and ate a whole carrot."
RUNNING = "Ran 10k along the river before work, new personal best! Legs are done."
NEW_JOB = "First day at the new job today: great team, free coffee, a desk by the window."
MID_AUTUMN = "今天 和 家人 一起 吃 月饼 赏月 , 中秋 快乐"
POLITICAL = "Canvassing for our senate candidate before the election; school board vote is next week."


@pytest.fixture(scope="module")
def safety() -> SafetyFilter:
    return SafetyFilter.load(LEXICON)


HARMFUL = [
    "sandy", "hurricane sandy", "hurricanesandy", "nepal earthquake", "nepalearthquake",
    "pray for boston", "prayforboston", "bomber", "fbi", "maga", "build that wall",
    "buildthatwall", "refugees not welcome", "pray for visayas", "prayforvisayas", "flood ph",
    "floodph", "pray for the philippines", "怀化 火车站 砍人", "怀化火车站砍人", "马航 飞机 失联",
    "马航失联", "爸爸 再 打 我 一次", "李娜 被 领导 打耳光", "wetback", "idiot", "women suck", "张杰 滚 出 我是歌手", "massacre", "death toll",
    "rot in hell", "kill them all", "boston bombing", "never forget", "redskins", "trump", "migrants",
    "illegals", "times up", "liberal", "corona", "pride for all", "equality for all", "never again", "modi",
]


@pytest.mark.parametrize("post", [BUNNY, RUNNING, NEW_JOB, MID_AUTUMN])
@pytest.mark.parametrize("tag", HARMFUL)
def test_a_harmful_tag_is_filtered_on_an_unrelated_post(safety, tag, post):
    verdict = safety.check(tag, post, "en")
    assert not verdict.allowed, verdict
    assert verdict.category


@pytest.mark.parametrize("tag", ["#Sandy", "#HurricaneSandy", "#NepalEarthquake", "#PrayForBoston",
                                 "#BuildThatWall", "#RefugeesNotWelcome", "#PrayForVisayas",
                                 "#FloodPH", "#PrayForThePhilippines", "#怀化火车站砍人", "#马航飞机失联", "#GroundZero"])
def test_a_harmful_hashtag_written_together_is_filtered_too(safety, tag):
    assert not safety.check(tag, BUNNY, "en").allowed


@pytest.mark.parametrize("tag, post", [
    ("shooting", "Shooting at the mall this afternoon: police say two people were hurt."),
    ("earthquake", "A strong earthquake hit northern Japan tonight, trains stopped."),
    ("flood", "Our street is flooded again, water up to the doors."),
    ("地震", "四川 地震 了 , 大家 平安"),
    ("地震", "四川地震了，大家平安"),
    ("boston marathon", "Ran the Boston Marathon today, best race of my life."),
    ("sandy", "Hurricane Sandy knocked out power across NYC."),
    ("hurricane sandy", "Watching the storm from Brooklyn #HurricaneSandy"),
    ("nepal earthquake", "Rescue teams reach villages near Kathmandu after the quake."),
    ("prayforboston", "Explosions at the Boston Marathon finish line. Praying for the victims."),
    ("never forget", "22 years since 9/11. Thinking of the victims and their families today."),
    ("trump", "Trump rally downtown tonight, half the roads are closed."),
    ("modi", "Modi's rally in Varanasi tonight, half the roads are closed."),
    ("refugees", "Volunteering with refugees at the welcome centre this morning."),
    ("corona", "Ice cold Corona on the beach, finally on holiday."),
])
def test_a_factual_tag_stays_on_a_post_about_its_event(safety, tag, post):
    verdict = safety.check(tag, post, "en")
    assert verdict.allowed, verdict


@pytest.mark.parametrize("tag", ["maga", "build the wall", "stop the steal", "lock her up",
                                 "im with her", "vote blue", "refugees not welcome", "kag", "na mo", "main bhi chowkidar",
                                 "water is life", "woke", "resistance"])
def test_a_political_slogan_is_filtered_even_on_a_political_post(safety, tag):
    assert not safety.check(tag, POLITICAL + " " + tag, "en").allowed


def test_a_stance_word_and_a_protest_slogan_are_filtered_under_posts_that_write_their_words(safety):
    assert not safety.check("woke", "slept 10 hours and woke up more tired", "en").allowed
    assert not safety.check("water is life", "water up to our knees inside the house, water is life they say", "en").allowed


def test_a_tag_holding_a_word_of_a_mood_is_a_feeling_and_one_holding_a_verdicts_word_is_not(safety):
    assert safety.feeling("dad cry") and safety.feeling("loss hun") and safety.feeling("hate")
    assert not safety.feeling("broken bone") and not safety.feeling("love my job")


def test_a_condition_is_a_tag_only_under_a_post_that_names_it(safety):
    assert not safety.check("bipolar", "finished my first jumper! one sleeve is longer than the other", "en").allowed
    assert safety.check("bipolar", "two years since my bipolar diagnosis and the new meds are working", "en").allowed
    assert not safety.check("adhd", "started new meds today", "en").allowed
    assert safety.check("自闭症", "孩子确诊自闭症一年了", "zh").allowed
    tennis = "lost 6-0 6-1 to a man in his seventies at the club today. he wasn't even sweating"
    assert not safety.check("dementia", tennis, "en").allowed
    assert safety.check("dementia", "Dad's dementia is worse this winter, he asked for Mum twice today", "en").allowed


def test_the_name_of_a_prejudice_stands_only_where_the_post_takes_it_up(safety):
    tennis = "lost 6-0 6-1 to a man in his seventies at the club today. he wasn't even sweating"
    assert not safety.check("homophobia", tennis, "en").allowed and not safety.check("ageism", tennis, "en").allowed
    assert safety.check("homophobia", "the homophobia in the stands tonight was vile, reported it", "en").allowed


def test_the_campaigns_word_alone_is_filtered_and_a_resistance_band_stays(safety):
    assert not safety.check("resistance", "MOT passed. didn't realise i'd been holding my breath for 45 mins", "en").allowed
    assert safety.check("resistance band", "new resistance band arrived, leg day at home", "en").allowed


def test_a_bare_crude_word_is_filtered_even_where_the_post_means_the_bird(safety):
    pigeons = "first race since we buried dad, his old blue bar cock on widowhood dropped in first in our club"
    assert not safety.check("cock", pigeons, "en").allowed
    assert safety.check("pigeon racing", pigeons, "en").allowed


@pytest.mark.parametrize("tag", ["senate", "election", "school board", "politics"])
def test_a_neutral_political_topic_tag_stays_on_a_political_post(safety, tag):
    assert safety.check(tag, POLITICAL, "en").allowed


@pytest.mark.parametrize("tag", ["tennis", "running", "bunny", "中秋节", "wimbledon",
                                 "boston marathon", "maine coon", "photoshoot", "heatwave", "剧本杀"])
def test_an_ordinary_tag_is_untouched(safety, tag):
    assert safety.check(tag, BUNNY, "en") == Verdict(True, None, "no sensitive term")


def test_an_everyday_disaster_word_stays_only_where_the_post_uses_it(safety):
    # decision: "#fire" on "fire pit night" is kept (the post is about a fire, a harmless one);
    # on other posts it is dropped, and "#wildfire" needs a wildfire, not a fire pit
    assert safety.check("fire", "fire pit night with the neighbours", "en").allowed
    assert not safety.check("fire", BUNNY, "en").allowed
    assert not safety.check("wildfire", "fire pit night with the neighbours", "en").allowed


def test_sandy_alone_is_kept_on_a_beach_post_that_says_sandy_but_the_hurricane_is_not(safety):
    beach = "Long sandy beach, warm water, perfect day"
    assert safety.check("sandy", beach, "en").allowed
    assert not safety.check("hurricane sandy", beach, "en").allowed
    assert not safety.check("sandy", "Long white beach, warm water, perfect day", "en").allowed


def test_a_tag_naming_another_event_is_filtered_on_a_post_about_a_similar_one(safety):
    japan = "A strong earthquake hit northern Japan tonight"
    assert safety.check("earthquake", japan, "en").allowed
    assert not safety.check("nepal earthquake", japan, "en").allowed
    assert not safety.check("school shooting", "Shooting at the mall, two hurt", "en").allowed


def test_a_chinese_term_is_found_across_words_but_not_inside_other_words(safety):
    assert not safety.check("姚笛 滚 出 娱乐圈", MID_AUTUMN, "zh").allowed
    assert safety.check("白色 情人节", MID_AUTUMN, "zh").allowed
    assert safety.check("秒杀", MID_AUTUMN, "zh").allowed


def test_closeness_lets_a_plain_tag_onto_a_post_about_that_kind_of_thing_but_never_lifts_a_slogan(safety):
    threshold = safety.lexicon.threshold
    damage = "Storm damage everywhere this morning, trees down on every block"
    assert safety.check("flood", damage, "en", closeness=threshold).allowed
    assert not safety.check("flood", damage, "en", closeness=threshold - 0.01).allowed
    assert not safety.check("maga", BUNNY, "en", closeness=1.0).allowed


def test_closeness_never_stands_in_for_a_named_events_words(safety):
    damage = "Storm damage everywhere in Hoboken this morning, trees down on every block"
    assert not safety.check("hurricane sandy", damage, "en", closeness=1.0).allowed
    assert not safety.check("nsw fires", "Wildfire smoke again today, kids stay inside", "en", closeness=1.0).allowed


def test_closeness_alone_never_puts_a_disaster_on_a_post_about_nothing_of_the_kind(safety):
    assert not safety.check("earthquake", BUNNY, "en", closeness=1.0).allowed
    assert not safety.check("hurricane sandy", "Beach day with the kids, sandy toes everywhere", "en", closeness=1.0).allowed


def test_filter_keeps_the_allowed_items_in_their_order(safety):
    items = [("bunny", 0.9), ("sandy", 0.8), ("garden", 0.7), ("maga", 0.6), ("carrot", 0.5)]
    kept = safety.filter(items, key=lambda item: item[0], context=BUNNY, lang="en")
    assert kept == [("bunny", 0.9), ("garden", 0.7), ("carrot", 0.5)]


def test_checking_fifty_tags_against_a_two_hundred_word_context_stays_in_milliseconds(safety):
    words = (BUNNY + " " + RUNNING + " " + NEW_JOB).split()
    context = " ".join(words[i % len(words)] for i in range(200))
    tags = (HARMFUL + ["tennis", "running", "bunny", "garden", "carrot", "spring", "love",
                       "nature", "photography", "pets", "cute", "morning", "coffee", "work"])[:50]
    safety.filter(tags, str, context, "en")  # warm the per-tag cache, as a server would be
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        ctx = safety.context(context + " ")  # a new post: the context is prepared once
        for tag in tags:
            safety.check(tag, ctx, "en")
        best = min(best, time.perf_counter() - start)
        context += " x"
    # a guard against a blow-up, not a benchmark: ~1 ms on a quiet core, so a loaded CI machine gets room
    assert best < 0.005


def test_the_committed_lexicon_is_valid_versioned_and_small():
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    assert data["format_version"] == 1
    assert LEXICON.stat().st_size <= 1_000_000
    SafetyLexicon(data)


def test_the_committed_lexicon_equals_what_build_produces():
    pytest.importorskip("better_profanity")
    from export import safety_lexicon

    if not (safety_lexicon.DATA / "crisislex").is_dir():
        pytest.skip("the crisis data of /work/shared/data is not on this machine")
    if not (safety_lexicon.CORPUS / "en_train.jsonl").is_file() or not safety_lexicon.WORDNET.is_dir():
        pytest.skip("the kinds need the built corpora (python -m export.ingest) and WordNet (Debian wordnet-base)")
    built, committed = safety_lexicon.build(), json.loads(LEXICON.read_text(encoding="utf-8"))
    reader, kept = built.pop("grief_reader"), committed.pop("grief_reader")  # the encoder's floats vary by CPU
    assert json.loads(safety_lexicon.dumps(built)) == committed
    assert np.allclose(reader["weights"], kept["weights"], atol=1e-3) and abs(reader["threshold"] - kept["threshold"]) < 0.05
    assert reader["trained"]["posts"] == kept["trained"]["posts"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format_version=2), "format_version"),
    (lambda d: d.pop("categories"), "categories"),
    (lambda d: d["categories"]["disaster"].update(policy="sometimes"), "policy"),
    (lambda d: d["events"][0].update(category="weather"), "unknown category"),
    (lambda d: d["never"]["en"].update({"x": "nope"}), "never"),
])
def test_a_bad_lexicon_file_raises_invalid_safety_lexicon(tmp_path, change, message):
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "safety.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidSafetyLexicon, match=message):
        SafetyFilter.load(path)


def test_a_file_that_is_not_json_raises_invalid_safety_lexicon(tmp_path):
    path = tmp_path / "safety.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidSafetyLexicon):
        SafetyLexicon.load(path)
    with pytest.raises(InvalidSafetyLexicon):
        SafetyLexicon.load(tmp_path / "missing.json")


def test_report_prints_tag_counts_and_mass_per_category_for_each_language():
    from export import safety_lexicon

    out = io.StringIO()
    safety_lexicon.report(SafetyLexicon.load(LEXICON), top=50, samples=3, out=out)
    text = out.getvalue()
    assert "== en:" in text and "disaster" in text and "politics_slogan" in text


# --- rules of this round: slogans with words put in, figures of speech, grief, crises, solidarity ------

@pytest.mark.parametrize("tag", ["build that damn wall now", "i cant breathe", "gamergate", "lets go brandon", "no illegals",
                                 "wear a mask", "flatten the curve"])
def test_a_slogan_with_words_put_in_or_a_campaign_tag_is_never_suggested(safety, tag):
    assert not safety.check(tag, "Minecraft night with my cousins, we built a castle out of dirt", "en").allowed


def test_a_crime_tag_needs_more_than_a_figure_of_speech(safety):
    assert not safety.check("crime", "$6 for a bagel now. honestly a crime", "en").allowed
    assert not safety.check("crime", "crown on the legion green tonight was criminal 😂 lost 21-17", "en").allowed
    assert safety.check("crime", "Bike stolen outside the gym again, police say crime is up on our street", "en").allowed


def test_a_disaster_word_only_in_a_simile_is_no_subject_of_the_post(safety):
    simile = "carrying 14 pots of tomatoes into the garage like it's an evacuation"
    assert not safety.check("evacuation", simile, "en").allowed
    assert safety.check("evacuation", "Evacuation order for our street tonight, the river is rising", "en").allowed


def test_a_kill_said_of_a_performance_or_a_pain_makes_no_post_about_a_death(safety):
    match = "lost the singles to a young lad who kills everything off the back wall. knees are in bits"
    assert not safety.check("rip", match, "en").allowed
    assert not safety.check("rip", "she absolutely killed it at the open mic, my knees are killing me", "en").allowed
    assert safety.check("rip", "my grandad was killed in the war, flowers at the memorial today", "en").allowed


def test_a_grief_post_gets_no_retirement_or_graduation_tag_it_does_not_name(safety):
    grief = "A year today since Dad died. His mates kept his allotment going and put his old cap on the scarecrow."
    assert not safety.check("retirement", grief, "en").allowed
    assert not safety.check("mortarboard", grief, "en").allowed
    assert safety.check("retirement", "Dad's retirement party was last week, and now he has died. RIP", "en").allowed


def test_a_suicide_or_death_tag_taken_from_a_joke_is_dropped(safety):
    assert not safety.check("slow suicide", "my houseplants are committing slow suicide on the windowsill", "en").allowed
    assert not safety.check("dead", "leg day at the gym, my legs are dead", "en").allowed


def test_a_grief_post_gets_no_cheerful_tag_and_no_occasion_it_does_not_name(safety):
    grief = "My grandad passed away on Sunday. He grew tomatoes every summer and let me help."
    assert not safety.check("happy fathers day", grief, "en").allowed
    assert not safety.check("fathers day", grief, "en").allowed
    assert not safety.check("lol", grief, "en").allowed
    assert safety.check("rip", grief, "en").allowed
    assert safety.check("grandad", grief, "en").allowed
    lost = "We lost our baby at 11 weeks. Thank you for being so gentle with us."  # a loss too
    assert not safety.check("happy baby", lost, "en").allowed and safety.check("baby", lost, "en").allowed
    assert safety.check("happy baby", "Our baby rolled over for the first time today!", "en").allowed
    buried = "buried my granda today in ballina. whole town came out, the church was packed"  # no death word
    assert not safety.check("lol", buried, "en").allowed and safety.check("granda", buried, "en").allowed


def test_a_grief_post_gets_no_engagement_tag(safety):
    gone = "Our dog Biscuit passed away this morning. 14 years of stolen socks and muddy paws"
    assert not safety.check("dogs of instagram", gone, "en").allowed and safety.check("dogs", gone, "en").allowed
    assert safety.check("dogs of instagram", "Biscuit learnt to sit today!", "en").allowed
    assert not safety.check("comedy", "grandad's funeral was today. he passed away last week", "en").allowed


def test_the_name_of_a_racist_practice_is_never_suggested_even_where_the_post_writes_its_words(safety):
    post = "finally a sunscreen with no white cast on me. my brown face thanks you"
    assert not safety.check("brownface", post, "en").allowed and not safety.check("brown face", post, "en").allowed
    assert not safety.check("blackface", "halloween costume ideas", "en").allowed
    assert safety.check("sunscreen", post, "en").allowed


def test_a_drug_tag_stands_only_under_a_post_about_drugs(safety):
    assert not safety.check("marijuana", "some days just feel long", "en").allowed
    assert not safety.check("cannabis", "finally finished the cryptic crossword, 14 across was a stinker", "en").allowed
    assert safety.check("cannabis", "the dispensary on main street opened today and the edibles queue was wild", "en").allowed
    assert safety.check("weed", "pulled weeds in the veg patch all morning", "en").allowed  # a garden's weeds
    assert not safety.check("大麻", "今天加班到十点，累", "zh").allowed


def test_a_news_series_on_uncounted_deaths_stands_only_under_a_post_about_deaths(safety):
    sale = "After 38 years, the shop's last day is Saturday. Everything's half off, come say goodbye."
    assert not safety.check("the uncounted", sale, "en").allowed and safety.check("retirement", sale, "en").allowed
    assert safety.check("the uncounted", "the civilians killed in the airstrikes were never counted", "en").allowed


def test_a_meme_people_call_others_to_mock_them_is_never_suggested_even_where_the_post_writes_it(safety):
    post = "wfh day: colleague asked if I was 'still online' at 4:58pm. yes Karen. for two more minutes."
    assert not safety.check("karen", post, "en").allowed and not safety.check("karens", post, "en").allowed
    assert safety.check("remote work", post, "en").allowed
    for meme in ("ok boomer", "incel", "simp", "redneck", "white trash", "chav", "illegals"):
        assert not safety.check(meme, f"ok so apparently I'm a {meme} now", "en").allowed
    assert safety.check("gammon", "christmas gammon glazed with honey and cloves", "en").allowed
    for meme in ("普信男", "渣男", "杠精", "妈宝男"):
        assert not safety.check(meme, f"今天又遇到{meme}了，真是服了", "zh").allowed
    assert safety.check("绿茶", "下午泡了一壶绿茶，配桂花糕", "zh").allowed


def test_a_post_about_an_illness_gets_no_cheerful_tag_and_no_mourning_tag(safety):
    worry = "Waiting on biopsy results. They said 7 to 10 days. Walked the dog twice already"
    assert not safety.check("pets of instagram", worry, "en").allowed and safety.check("dog", worry, "en").allowed
    assert not safety.check("pet loss", worry, "en").allowed
    assert not safety.check("吸猫", "化疗第三周，猫一直趴在我腿上", "zh").allowed
    assert safety.check("pets of instagram", "Walked the dog twice already, what a morning", "en").allowed


def test_a_mourning_tag_stands_only_on_a_grief_post(safety):
    gone = "Our dog Biscuit passed away this morning. 14 years of stolen socks and muddy paws"
    assert safety.check("pet loss", gone, "en").allowed and safety.check("rainbow bridge", gone, "en").allowed
    assert not safety.check("pet loss", "Biscuit turned 14 today and still steals socks", "en").allowed
    assert not safety.check("grief", "The queue at the post office went round the block", "en").allowed
    assert safety.check("思念", "爷爷去世三年了，今天路过他常去的公园", "zh").allowed
    assert not safety.check("思念", "异地恋第一百天，好想他", "zh").allowed
    assert not safety.check("吸猫", "橘子走了，猫砂盆还没舍得收", "zh").allowed  # a pet by its name: a grief post


def test_an_occasion_a_grief_post_names_is_kept_and_cheer_on_other_posts_is_untouched(safety):
    assert safety.check("christmas", "First Christmas since we lost our dad. Set a place for him anyway", "en").allowed
    assert not safety.check("merry christmas", "First Christmas since we lost our dad. Set a place for him anyway", "en").allowed
    assert safety.check("happy fathers day", "Breakfast in bed from the kids, best fathers day", "en").allowed


def test_a_loss_told_without_a_death_word_is_a_grief_post_too(safety):
    for post in ("First Christmas without Mum. Set the table for five out of habit",
                 "Dad's ashes came home today. The tin is so small",
                 "Had to put our dog down this morning. The house is so quiet",
                 "Thank you to the hospice nurses for looking after Grandad"):
        assert not safety.check("merry christmas", post, "en").allowed and not safety.check("happy", post, "en").allowed
    assert safety.check("merry christmas", "Christmas without the crowds this year! Just us and a film", "en").allowed


def test_the_tone_rule_is_measured_on_labelled_posts(tmp_path, capsys):
    from export.safety_lexicon import main

    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "a", "grief": true, "post": "first birthday without dad"}\n'
                     '{"id": "b", "grief": false, "post": "lost my keys again"}\n', encoding="utf-8")
    main(["tone", "--posts", str(posts)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["by words: grief posts read as grief: 1 of 1", "by words: other posts read as grief: 0 of 1"]
    assert lines[2].startswith("by words or vector: grief posts read as grief: 1 of 1")


def test_a_chinese_grief_post_gets_no_cheerful_tag(safety):
    grief = "爷爷昨天走了，再也听不到他讲故事了"
    assert not safety.check("生日 快乐", grief, "zh").allowed
    assert safety.check("爷爷", grief, "zh").allowed
    assert safety.check("生日 快乐", "今天二十岁生日，朋友们都来了", "zh").allowed


def test_a_crisis_tag_needs_the_crisis_it_names(safety):
    assert not safety.check("water crisis", "turned 40 today, no midlife crisis yet, just pie", "en").allowed
    assert safety.check("refugee crisis", "Volunteering at the shelter: the refugee crisis here is getting worse", "en").allowed


def test_a_links_letters_are_not_the_posts_words(safety):
    assert not safety.check("co flood", "Flooding at the site of the WTC: https://t.co/KNMyOn9C", "en").allowed
    assert safety.check("co flood", "Boulder CO flood: roads closed on US 36 https://t.co/KNMyOn9C", "en").allowed


def test_a_breaking_incident_tag_needs_an_incident(safety):
    assert not safety.check("上海 突发", "上海今天降温了，出门记得穿外套", "zh").allowed
    assert safety.check("上海 突发", "上海突发火灾，消防正在救援，目前没有伤亡", "zh").allowed


def test_a_places_solidarity_tag_needs_a_disaster_and_an_exam_cheer_is_untouched(safety):
    assert not safety.check("成都 加油", "国庆去成都吃火锅，求推荐", "zh").allowed
    assert safety.check("成都 加油", "成都地震了，大家注意安全", "zh").allowed
    assert safety.check("高考 加油", "表妹明天高考，给她买了好多零食", "zh").allowed


def test_a_war_commemoration_tag_is_dropped_on_a_post_about_nothing_of_the_kind(safety):
    assert not safety.check("九一八 勿忘国耻", "今天九一八，公司楼下新开了奶茶店", "zh").allowed


@pytest.mark.parametrize("change, message", [
    (lambda d: d.__setitem__("corroborate", ["nonsense"]), "corroborate"),
    (lambda d: d.__setitem__("tone", {"cheerful": {"en": [1]}}), "tone"),
    (lambda d: d.__setitem__("support", {"zh": "加油"}), "support"),
])
def test_a_bad_tone_support_or_corroborate_entry_raises(tmp_path, change, message):
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "safety.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidSafetyLexicon, match=message):
        SafetyLexicon.load(path)


def _under_the_floor(safety, tag: str, post: str) -> list[str]:
    """What the grounding stage's support rules leave of one candidate `tag` under `post`, with the floor."""
    from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
    from inference.runtime.tag_index import TagIndex

    grounder = Grounder(None, TagIndex(np.zeros((1, 4), dtype=np.float32), [tag], np.array([130])),
                        GroundingConfig(floor=0.1), "en", safety)
    entry = {"words": tag, "model": 1.0, "relevance": 0.5, "source": "retrieval", "cos": 0.5}
    return [r.words for r in grounder._finish(Prepared({tag: entry}, post), set(), True).ranked]


def test_a_tag_one_crisis_owns_is_left_to_the_support_rules_which_ask_the_post_for_it(safety):
    shooting = "another school shooting. I don't even know what to say anymore. thinking of the families"
    assert safety.needs_its_words("lax") and safety.needs_its_words("cleopatra") and not safety.needs_its_words("school")
    assert safety.check("lax", shooting, "en").allowed  # `tagsmith predict` without the floor keeps it
    assert _under_the_floor(safety, "lax", shooting) == []
    assert _under_the_floor(safety, "lax", "just landed at LAX, 3 hour delay") == ["lax"]


def test_a_safe_name_that_holds_a_sensitive_word_needs_the_post_to_say_it(safety):
    novel = "Book club pick this month made me cry on the train. what a finale"
    assert safety.needs_its_words("suicide squad") and not safety.needs_its_words("book club")
    assert safety.check("suicide squad", novel, "en").allowed  # a safe name: `predict` without the floor keeps it
    assert _under_the_floor(safety, "suicide squad", novel) == []
    assert _under_the_floor(safety, "suicide squad", "rewatching suicide squad tonight") == ["suicide squad"]


def test_a_mood_the_post_does_not_say_is_kept_off_the_services_list_but_not_off_a_benchmarks(safety):
    assert safety.needs_its_words("sadness") and safety.needs_its_words("depressing") and not safety.needs_its_words("finale")
    late_win = "Arsenal really made me wait until the 94th minute again. my heart can't take this"
    assert safety.check("sadness", late_win, "en").allowed  # `tagsmith predict` without the floor keeps it
    assert _under_the_floor(safety, "sadness", late_win) == []
    assert _under_the_floor(safety, "sadness", "such sadness in the house today") == ["sadness"]


def test_a_holiday_the_post_does_not_name_is_kept_off_the_services_list(safety):
    teacher = "Last day of teaching before summer break. 28 kids gave me a card"
    assert safety.unnamed_holiday("happy mothers day", teacher) == "mother day"
    assert safety.unnamed_holiday("happy mothers day", "brunch with mum for Mother's Day") is None
    assert safety.unnamed_holiday("teaching", teacher) is None  # names no holiday
    assert safety.unnamed_holiday("中秋 快乐", "今天加班到十一点") is not None
    assert _under_the_floor(safety, "happy easter", "it's sleeting. in April.") == []
    assert _under_the_floor(safety, "happy easter", "egg hunt in the garden this Easter") == ["happy easter"]


def test_a_post_vector_the_grief_reader_reads_makes_a_grief_post_and_leaves_the_cached_context_alone():
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    data["grief_reader"] = {"weights": [1.0, 0.0], "bias": 0.0, "threshold": 0.5}
    safety = SafetyFilter(SafetyLexicon(data))
    post = "still can't bring myself to wash his mug"
    sad, plain = np.array([1.0, 0.0], dtype=np.float32), np.array([0.0, 1.0], dtype=np.float32)
    assert not safety.check("happy", safety.context_for(post, sad), "en").allowed
    assert safety.check("happy", safety.context_for(post, plain), "en").allowed
    assert safety.check("happy", post, "en").allowed  # no vector: its words decide, as before
    assert safety.check("happy", safety.context_for(post, np.zeros(3, dtype=np.float32)), "en").allowed  # another encoder


def test_the_grief_readers_threshold_lets_few_ordinary_posts_through():
    from export.grief_reader import threshold_for

    logits = np.array([3.0, 2.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1] + [0.0] * 8)
    y = np.array([True, True] + [False] * 18)
    t = threshold_for(logits, y)
    assert ((logits >= t) & ~y).sum() <= 0.05 * 18 and t >= 0.0


def test_a_post_is_sombre_for_an_illness_in_its_words_or_a_death_in_its_words_and_to_the_reader():
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    data["grief_reader"] = {"weights": [1.0, 0.0], "bias": 0.0, "threshold": 0.5}
    safety = SafetyFilter(SafetyLexicon(data))
    sad, plain = np.array([1.0, 0.0], dtype=np.float32), np.array([0.0, 1.0], dtype=np.float32)
    assert safety.sombre("Dad's been moved out of ICU tonight, he asked for a cup of tea")  # illness: words alone
    death = "Dad died in his sleep this morning"
    assert safety.sombre(death, sad) and not safety.sombre(death, plain) and not safety.sombre(death)
    assert safety.sombre("Dad passed away peacefully this morning")  # words that mean nothing else: no reader needed
    catan = "catan night ended with my brother refusing to trade. we lost a friendship but he lost the game"
    assert not safety.sombre(catan, plain)  # "lost" + "brother" alone is no death
    assert not safety.sombre("my 5 year old asked why the moon follows our car", sad)  # the reader alone neither



def test_a_road_accident_told_as_it_happened_is_sombre_and_a_car_or_a_crashed_game_is_not(safety):
    assert safety.sombre("中山路路口出了车祸，一辆电动车被渣土车刮倒了，救护车刚到", lang="zh")
    assert safety.sombre("bad car crash on Route 9 this morning, the ambulance is still there")
    assert not safety.sombre("my car finally passed its MOT")
    assert not safety.sombre("the game crashed twice tonight and I lost my save")


def test_a_death_is_mourned_only_where_words_and_reader_agree_and_a_word_of_one_quality_is_known():
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    data["grief_reader"] = {"weights": [1.0, 0.0], "bias": 0.0, "threshold": 0.5}
    safety = SafetyFilter(SafetyLexicon(data))
    sad, plain = np.array([1.0, 0.0], dtype=np.float32), np.array([0.0, 1.0], dtype=np.float32)
    death = "First race since Dad died. He'd have been insufferable about it"
    assert safety.mourning(death, sad) and not safety.mourning(death, plain)
    assert not safety.mourning("Dad's been moved out of ICU tonight", sad) and safety.sombre("Dad's been moved out of ICU tonight")
    assert names_a_quality("insufferable") and names_a_quality("Lumpy")
    assert not names_a_quality("dad") and not names_a_quality("pigeon racing") and not names_a_quality("blue")  # a noun too

def test_a_death_in_words_that_mean_nothing_else_is_mourned_whatever_the_reader_reads():
    data = json.loads(LEXICON.read_text(encoding="utf-8"))
    data["grief_reader"] = {"weights": [1.0, 0.0], "bias": 0.0, "threshold": 0.5}
    safety = SafetyFilter(SafetyLexicon(data))
    plain = np.array([0.0, 1.0], dtype=np.float32)
    assert safety.mourning("Mum passed away peacefully on Sunday. She taught me how to bake and how to laugh", plain)
    assert safety.mourning("Our old girl Misty had to be put to sleep this afternoon. 17 years.", plain)
    assert not safety.mourning("they put me to sleep for the surgery and I woke up starving", plain)


def test_a_pregnancy_lost_in_everyday_words_is_sombre_and_takes_no_puppy_tag(safety):
    post = "We lost our little one at 10 weeks. Please just send memes and dog photos"
    assert safety.sombre(post)  # its words alone, no grief reader needed
    assert not safety.check("puppy love", post, "en").allowed and not safety.check("puppy", post, "en").allowed
    assert safety.check("puppy", "picked up our new puppy today, 10 weeks old", "en").allowed


def test_a_post_about_losing_a_job_gets_no_tag_of_a_new_job_or_of_hiring(safety):
    post = "Got told this morning my role is 'at risk'. 12 years there. Consultation period starts Monday"
    for tag in ("new job", "new beginnings", "first day", "we are hiring"):
        assert not safety.check(tag, post, "en").allowed, tag
    assert safety.check("career", post, "en").allowed and safety.check("open to work", post, "en").allowed
    assert safety.check("new job", "first day at the new job tomorrow, so nervous", "en").allowed
    assert not safety.check("新工作", "今天被通知优化了，N+1拿到了", "zh").allowed


def test_a_feeling_or_a_verdict_is_a_kind_no_rule_reads_into_a_sombre_post(safety):
    assert safety.feeling("hate") and safety.feeling("sucks") and not safety.feeling("card games")
    assert safety.sombre("Dad's been moved out of ICU tonight")  # so grounding drops #Hate there (Grounder.eligible)


def test_a_hospital_stay_or_surgery_is_sombre_and_takes_no_joking_tag(safety):
    post = "Out of theatre, appendix gone. Still can't laugh without it hurting so nobody send me memes"
    assert safety.sombre(post) and safety.sombre("Home after 9 days in hospital with pneumonia")
    assert not safety.check("memes", post, "en").allowed and not safety.check("laugh", post, "en").allowed
    assert safety.check("appendix", post, "en").allowed
    assert not safety.sombre("my swimming stroke is getting better")  # a stroke is an illness only when "had a stroke"


def test_a_chinese_pregnancy_loss_is_sombre_and_takes_no_pregnancy_tag(safety):
    post = "八周的时候胎停了，今天做完手术回家，谢谢大家别问了"
    assert safety.sombre(post, lang="zh")
    assert not safety.check("孕期", post, "zh").allowed and not safety.check("孕妈", post, "zh").allowed
    assert safety.check("孕期", "今天第一次感觉到胎动，像小鱼吐泡泡", "zh").allowed


def test_a_campaign_slogan_of_the_past_is_never_suggested_in_chinese(safety):
    assert not safety.check("农业学大寨", "收到一套天津火柴厂七十年代的农业学大寨套花 十二枚齐", "zh").allowed


def test_a_new_job_or_a_payday_tag_does_not_stand_under_a_job_lost(safety):
    laid_off = "workshop is closing at the end of the month, all 6 of us laid off. 22 years of voicing reeds"
    assert not safety.check("payday", laid_off, "en").allowed and not safety.check("new job", laid_off, "en").allowed
    assert safety.check("payday", "payday treat, new trainers and a curry", "en").allowed


def test_a_fire_named_only_by_its_service_makes_no_post_about_a_fire(safety):
    flood = "flooding down by the river last night, fire brigade were out til 3am. just a ruined carpet and sandbags"
    assert not safety.check("fire", flood, "en").allowed and safety.check("flooding", flood, "en").allowed
    assert safety.check("fire", "house fire on our street, the fire brigade were out til 3am", "en").allowed


def test_a_crisis_of_the_training_data_the_post_does_not_name_is_kept_off_the_services_list(safety):
    valencia = "watching the valencia flooding on the news. my cousin's whole street is wrecked"
    assert safety.check("sandy", valencia, "en").allowed  # a flood: `tagsmith predict` without the floor keeps it
    assert safety.unnamed_event("sandy", valencia) and not safety.unnamed_event("flooding", valencia)
    assert _under_the_floor(safety, "sandy", valencia) == []
    assert _under_the_floor(safety, "sandy", "hurricane sandy flooded the whole street in hoboken") == ["sandy"]


def test_a_meteorite_hunters_post_may_carry_the_meteorite_tag(safety):
    hunt = "在风蚀砾石里捡到一颗带熔壳的！表皮黑亮有气印，八成是普通球粒，回去切个窗口再送检"
    assert safety.check("陨石", hunt, "zh").allowed  # a stone from the sky, no disaster
    assert safety.check("meteorite", "found my first meteorite with the detector, fusion crust and all", "en").allowed
    assert not safety.check("russian meteor", hunt, "zh").allowed  # the crisis's own tag still needs its words


@pytest.mark.parametrize("tag, post, lang", [
    ("tug of war", "anchor dug in and we pulled the gloucester lads over the line, 8 man team, 640kg class", "en"),
    ("throat singing", "finally got a clean kargyraa undertone after months of practice, khoomei next", "en"),
    ("clay shooting", "25 straight on the skeet layout today, the low house 4 finally clicked", "en"),
    ("杀戮尖塔", "铁甲战士进阶20终于过了，心灵之火真好用", "zh"),
])
def test_a_topic_whose_name_holds_a_sensitive_word_stands_on_its_own_posts(safety, tag, post, lang):
    assert safety.check(tag, post, lang).allowed


def test_a_topic_name_is_no_stance_tag_but_a_mood_still_needs_its_word(safety):
    pump = "bitcoin just did a 10% candle in an hour, my portfolio is a rollercoaster"
    assert safety.check("crypto", pump, "en").allowed  # TweetEval's political tweets made it a stance tag
    assert safety.needs_its_words("horror") and not safety.needs_its_words("crypto")


def test_a_plural_the_data_gave_no_kind_holds_its_singulars(safety):
    basket = "Basket's loaded, liberation at six."
    assert not safety.check("guns", basket, "en").allowed and not safety.check("gun", basket, "en").allowed
    assert safety.check("guns", "new gun law debate tonight, guns everywhere in this town", "en").allowed
    assert safety.check("news", basket, "en").allowed  # no kind of "new" to hold
