"""Topic tags: a post's broad topic (#BoardGames, #Commute) from the encoder, only where one topic is
clearly closest; added beside the post's own tags, never twice in another form, never a sensitive one."""

from __future__ import annotations

from pathlib import Path

from collections import Counter

import numpy as np
import pytest

from inference.runtime.grounding_rules import COMPANION_SCORE, TOPIC_SCORE, add_topic
from inference.runtime.sentence_encoder import SentenceEncoder
from inference.runtime.topic_terms import (TermIndex, is_emoji, loose_words, matcher, named_in, padded_words, rare_cue,
                                           reading, writes)
from inference.runtime.topics import (CLEAR_MARGIN, CUE_BONUS, CUE_TOPIC_COSINE, MIN_COSINE, MIN_MARGIN, NAMED_BONUS,
                                      TOPICS_EN, InvalidTopics, TopicTags, read_companions, read_cues, read_needs, read_pairs,
                                      read_topics, topics_file)


@pytest.fixture(scope="module")
def topics():
    return TopicTags.load(SentenceEncoder.load(), "en")


def _entry(words, source="vocab"):
    return {"words": words, "model": 0.0, "source": source}


def test_the_shipped_topics_file_reads_as_tag_words_and_descriptions():
    topics = read_topics(TOPICS_EN)
    assert ("board games", "board games, game night, tabletop game, cards, dice, Catan, chess") in topics
    per_topic = Counter(words for words, _ in topics)  # a description and its example posts
    assert len(per_topic) >= 90 and min(per_topic.values()) >= 2


def test_chinese_has_topics_of_its_own_and_other_languages_none():
    zh = read_topics(topics_file("zh"))
    assert ("跑步", "跑步, 跑了几公里, 配速, 晨跑, 夜跑") in zh
    assert topics_file("ko") is None


def test_a_line_without_a_description_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "topics.txt"
    path.write_text("# a comment\ngaming: video games\ncooking\n", encoding="utf-8")
    with pytest.raises(InvalidTopics, match=":3:"):
        read_topics(path)


def test_a_post_gets_the_topic_it_is_clearly_about(topics):
    posts = ["Stayed up for Monaco qualifying. that last lap was unreal",
             "Severance season 2 finale had me yelling at my TV at midnight",
             "game night turned into a 4 hour Catan war",
             "my commute by train took two hours today"]
    assert topics.best(SentenceEncoder.load().encode(posts)) == ["formula 1", "tv shows", "board games", "commute"]


def test_no_topic_below_the_cosine_or_between_two_topics():
    vectors = np.eye(3, dtype=np.float32)  # three topics, one axis each
    tags = TopicTags(["gaming", "cooking", "travel"], vectors)
    clear = np.array([[MIN_COSINE["en"] + 0.1, 0.0, 0.0]], dtype=np.float32)
    faint = np.array([[MIN_COSINE["en"] - 0.01, 0.0, 0.0]], dtype=np.float32)
    torn = np.array([[MIN_COSINE["en"] + 0.1, MIN_COSINE["en"] + 0.1 - MIN_MARGIN / 2, 0.0]], dtype=np.float32)
    assert tags.best(np.vstack([clear, faint, torn])) == ["gaming", None, None]


def test_a_topic_far_above_every_unrelated_one_is_very_clear():
    tags = TopicTags(["gaming", "cooking", "travel"], np.eye(3, dtype=np.float32))
    top = MIN_COSINE["en"] + 0.2
    far = np.array([[top, top - CLEAR_MARGIN - 0.01, 0.0]], dtype=np.float32)
    near = np.array([[top, top - CLEAR_MARGIN + 0.02, 0.0]], dtype=np.float32)
    assert tags.chosen(np.vstack([far, near])) == [("gaming", True), ("gaming", False)]
    pool = {}
    add_topic(pool, "gaming", clear=True)
    add_topic(pool, "travel")
    assert pool["gaming"]["topic"] and "topic" not in pool["travel"]


def test_a_phrase_that_holds_a_topic_keeps_it_out_only_where_training_posts_used_the_phrase_as_a_tag():
    counts = {"tabletennis": 40}
    pool = {"tabletennis": {"words": "table tennis", "model": 0.0, "source": "phrase"},
            "detejo": {"words": "de tejo", "model": 0.0, "source": "phrase"}}
    add_topic(pool, "tennis", tag_count=lambda key: counts.get(key, 0))  # #TableTennis, a tag, holds #Tennis
    add_topic(pool, "tejo", tag_count=lambda key: counts.get(key, 0))  # "viernes de tejo": #DeTejo is no tag
    assert "tennis" not in pool and pool["tejo"]["phrase"] == TOPIC_SCORE
    add_topic(pool, "table", tag_count=None)  # without counts every phrase that holds it does
    assert "table" not in pool


def test_a_post_that_writes_its_closest_topics_words_is_clearer_about_it():
    tags = TopicTags(["board games", "cooking", "travel"], np.eye(3, dtype=np.float32),
                     terms=[("board games", "catan"), ("a recipe",), ("flight",)])
    top = MIN_COSINE["en"] + 0.2
    row = np.array([[top, top - CLEAR_MARGIN + NAMED_BONUS / 2, 0.0]], dtype=np.float32)
    texts = ["Catan night, my brother refused to trade", "my brother refused to trade all night"]
    assert tags.chosen(np.vstack([row, row]), texts) == [("board games", True), ("board games", False)]
    second = np.array([[top - 0.01, top, 0.0]], dtype=np.float32)  # the words of a topic not closest do nothing
    assert tags.chosen(second, texts[:1]) == [(None, False)]
    assert writes("Bought CATAN!", ("catan",)) and not writes("catanzaro", ("catan",))
    assert writes("今年年夜饭在奶奶家吃的", ("年夜饭",)) and not writes("五一去成都，熊猫", ("猫",))


def test_a_cue_word_brings_its_topic_closer_even_when_another_is_closest():
    tags = TopicTags(["running", "cooking", "travel"], np.eye(3, dtype=np.float32),
                     terms=[("running", "strava"), ("a recipe",), ("flight",)], cues=[("strava",), (), ()])
    top = MIN_COSINE["en"] + 0.2
    row = np.array([[top - CUE_BONUS / 2, top, 0.0]], dtype=np.float32)  # cooking closest by a little
    assert tags.chosen(row, ["strava says 10k before breakfast"])[0][0] == "running"
    assert tags.chosen(row, ["10k before breakfast"])[0][0] is None  # between the two, without the cue


def test_each_cue_word_a_post_writes_brings_its_topic_closer_up_to_a_few():
    tags = TopicTags(["fishing", "birdwatching", "travel"], np.eye(3, dtype=np.float32),
                     terms=[("fishing",), ("birds",), ("flight",)], cues=[("lure", "spinner", "reservoir", "pike"), (), ()])
    top = MIN_COSINE["en"] + 0.2
    row = np.array([[top - 1.5 * CUE_BONUS, top, 0.0]], dtype=np.float32)  # birdwatching closest by more than a cue
    assert tags.chosen(row, ["new spinner lure at the reservoir, saw more birds than pike"])[0][0] == "fishing"
    assert tags.chosen(row, ["new lure, saw nothing all day"])[0][0] is None  # one cue: between the two
    assert tags._cue_counts(tags._cue_index.hits("spinner", " spinner ", " spinner ")).tolist() == [1, 0, 0]


def test_a_cue_word_inside_another_of_the_same_topic_counts_once():
    tags = TopicTags(["surfing", "travel"], np.eye(2, dtype=np.float32), terms=[("surfing",), ("flight",)],
                     cues=[("万宁", "日月湾", "万宁日月湾"), ()])
    text = "万宁日月湾今天浪不错"
    assert tags._cue_counts(tags._cue_index.hits(text, padded_words(text))).tolist() == [1, 0]


def test_two_distinct_cue_words_of_a_topic_make_it_very_clear_and_spellings_of_one_count_once():
    tags = TopicTags(["woodworking", "food"], np.eye(2, dtype=np.float32), terms=[("woodworking",), ("food",)],
                     cues=[("lathe", "bowl gouge", "bowl gouges"), ("hole-in-the-wall", "hole in the wall")])
    tags.cue_topic = 2

    def cue_topic(j, text):
        read = (padded_words(text), loose_words(padded_words(text)))
        return tags._cue_topic(j, 2, text, read)
    assert cue_topic(0, "new bowl gouge and a catch on the lathe straight away")
    assert not cue_topic(0, "sharpened both bowl gouges, the bowl gouge i use most twice")  # one cue, two spellings
    assert not cue_topic(1, "six holes in the wall, hole-in-the-wall style")


def test_two_rare_chinese_cue_words_of_a_topic_make_it_very_clear_and_two_everyday_ones_do_not():
    tags = TopicTags(["追星", "邻居"], np.eye(2, dtype=np.float32), terms=[("追星",), ("邻居",)],
                     cues=[("打投", "控评"), ("楼下", "物业")])
    tags.cue_topic = 2

    def cue_topic(j, text):
        read = (padded_words(text), loose_words(padded_words(text)))
        return tags._cue_topic(j, 2, text, read)
    assert cue_topic(0, "打投到凌晨三点，明早八点前控评")
    assert not cue_topic(1, "楼下充电桩永远满的，物业说管不了")  # words posts about anything write


def test_two_rare_chinese_cue_words_make_a_topic_very_clear_only_where_its_cosine_is_not_far_off():
    tags = TopicTags(["学车", "追星"], np.eye(2, dtype=np.float32), terms=[("学车",), ("追星",)],
                     cues=[("学员", "安全员"), ("打投", "控评")])
    tags.cue_topic, tags.cue_topic_cosine = 2, CUE_TOPIC_COSINE["zh"]
    text = "有个学员练恒重的时候出事了，下水一定要有安全员"
    read = (padded_words(text), loose_words(padded_words(text)))
    assert not tags._cue_topic(0, 2, text, read, cosine=0.21)  # a freediver's accident, nothing like a driving lesson
    assert tags._cue_topic(0, 2, text, read, cosine=0.3)


def test_a_post_that_writes_two_of_a_topics_cue_words_gets_it_though_its_vector_is_elsewhere(topics):
    encoder = SentenceEncoder.load()
    text = "spalted beech blank on the lathe tonight, bowl gouge sharpened twice and it still tore the end grain"
    assert dict(topics.picked(encoder.encode([text]), [text])[0]).get("woodworking") is True


def test_the_shipped_topics_name_their_description_and_cue_words(topics):
    assert topics.terms[topics.words.index("board games")][:2] == ("board games", "game night")
    assert "strava" in topics.terms[topics.words.index("running")]  # a cue word, not encoded
    assert all(len(terms) >= 8 for terms in topics.terms)


def test_cue_lines_are_read_apart_and_never_encoded(tmp_path):
    path = tmp_path / "topics_en.txt"
    path.write_text("# a comment\nrunning: running, a run, 5k\nrunning: ran 5k this morning, legs = jelly\n"
                    "running = strava, parkrun, pb\n", encoding="utf-8")
    assert [w for w, _ in read_topics(path)] == ["running", "running"]  # an example post may hold " = "
    assert read_cues(path) == {"running": ("strava", "parkrun", "pb")}


def test_companion_lines_are_read_apart_and_never_encoded(tmp_path):
    path = tmp_path / "topics_en.txt"
    path.write_text("running: running, a run\nrunning: ran 2 + 3 miles\nrunning + runner, running community\n",
                    encoding="utf-8")
    assert [w for w, _ in read_topics(path)] == ["running", "running"]  # an example post may hold " + "
    assert read_companions(path) == {"running": ("runner", "running community")}


def test_needs_its_words_lines_are_read_apart_and_name_topics(tmp_path, monkeypatch):
    from inference.runtime import topics as topics_module

    path = tmp_path / "topics_en.txt"
    path.write_text("! hangover, back pain\nhangover: a hangover\nback pain: my back\nrunning: a run\n", encoding="utf-8")
    assert [w for w, _ in read_topics(path)] == ["hangover", "back pain", "running"]
    assert read_needs(path) == {"hangover", "back pain"}
    path.write_text("! hangovr\nhangover: a hangover\nrunning: a run\n", encoding="utf-8")
    monkeypatch.setattr(topics_module, "topics_file", lambda lang: path)
    with pytest.raises(InvalidTopics, match="hangovr"):
        TopicTags.load(SentenceEncoder.load(), "en")


def test_every_shipped_companion_tag_belongs_to_a_topic_and_is_not_one():
    for lang in ("en", "zh"):
        path = topics_file(lang)
        words = {w for w, _ in read_topics(path)}
        companions = read_companions(path)
        assert companions and set(companions) <= words
        assert not {c for cs in companions.values() for c in cs} & words


def test_a_very_clear_topic_brings_its_companions_and_an_unclear_one_none():
    pool = {}
    add_topic(pool, "running", companions=("runner", "running community"))
    assert list(pool) == ["running"]
    add_topic(pool, "running", clear=True, companions=("runner", "running community"))
    assert list(pool) == ["running", "runner", "runningcommunity"]
    assert pool["runner"]["phrase"] == COMPANION_SCORE and not pool["runner"].get("topic")
    assert pool["runner"]["companion"]  # the post's words lacked it: a sombre post takes none (grounding.eligible)
    pool = {"runner": _entry("runner", "phrase")}
    add_topic(pool, "running", clear=True, companions=("runner",))
    assert not pool["runner"].get("companion")  # the post wrote it


def test_a_topics_first_companion_joins_even_where_the_topics_own_words_hold_it():
    pool = {}
    add_topic(pool, "mechanical keyboards", clear=True, companions=("keyboards", "desk setup"))
    assert list(pool) == ["mechanicalkeyboards", "keyboards", "desksetup"]
    assert pool["keyboards"]["beside"] == "mechanicalkeyboards" and not pool["desksetup"].get("beside")  # the commonest
    pool = {"tabletennis": _entry("table tennis", "phrase")}
    add_topic(pool, "sports", clear=True, companions=("tennis",))
    assert "tennis" not in pool  # a phrase of the post that holds it still keeps it out


def test_the_first_companion_stands_past_the_floor_where_its_topic_does_only_by_being_clear_and_not_under_a_sombre_post():
    from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
    from inference.runtime.safety import SafetyFilter
    from inference.runtime.tag_index import TagIndex

    safety = SafetyFilter.load(Path(__file__).parents[1] / "inference" / "models" / "safety.json")
    grounder = Grounder(None, TagIndex(np.zeros((1, 4), dtype=np.float32), ["tea"], np.array([5])),
                        GroundingConfig(floor=0.4), "en", safety)
    def pool(topic_relevance=0.1):
        entries = {}
        add_topic(entries, "tea", clear=True, companions=("tea lover", "tea time"))
        for e in entries.values():
            e.update(relevance=0.1, cos=0.1)  # a long-tail post: every tag under the floor
        entries["tea"]["relevance"] = topic_relevance
        return entries
    plain = "Kettle on and a cup of tea after a long day"
    assert [r.words for r in grounder._finish(Prepared(pool(), plain), set(), True).ranked] == ["tea", "tea lover"]
    # a topic the post's vector found itself: its companions meet the floor themselves
    assert [r.words for r in grounder._finish(Prepared(pool(0.5), plain), set(), True).ranked] == ["tea"]
    ill = "Dad's out of ICU tonight and asked for a cup of tea"
    assert [r.words for r in grounder._finish(Prepared(pool(), ill), set(), True).ranked] == ["tea"]


def test_a_sombre_post_takes_no_companion_the_post_does_not_write():
    from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
    from inference.runtime.safety import SafetyFilter
    from inference.runtime.tag_index import TagIndex

    safety = SafetyFilter.load(Path(__file__).parents[1] / "inference" / "models" / "safety.json")
    grounder = Grounder(None, TagIndex(np.zeros((1, 4), dtype=np.float32), ["tea"], np.array([5])),
                        GroundingConfig(floor=0.1), "en", safety)
    def pool():
        entries = {"tea": {**_entry("tea", "phrase"), "topic": True}, "tealover": {**_entry("tea lover", "phrase"), "companion": True}}
        for e in entries.values():
            e.update(relevance=0.5, cos=0.3, phrase=0.5)
        return entries
    ill = "Dad's out of ICU tonight and asked for a cup of tea"
    assert [r.words for r in grounder._finish(Prepared(pool(), ill), set(), True).ranked] == ["tea"]
    plain = "Kettle on and a cup of tea after a long day"
    assert {r.words for r in grounder._finish(Prepared(pool(), plain), set(), True).ranked} == {"tea", "tea lover"}


def test_cue_words_for_no_topic_are_refused(tmp_path, monkeypatch):
    from inference.runtime import topics as topics_module

    path = tmp_path / "topics_en.txt"
    path.write_text("running: running, a run\ncooking: a recipe\nrunnning = strava\n", encoding="utf-8")
    monkeypatch.setattr(topics_module, "topics_file", lambda lang: path)
    with pytest.raises(InvalidTopics, match="runnning"):
        TopicTags.load(SentenceEncoder.load(), "en")


def test_a_topic_joins_the_candidates_or_raises_the_same_tag():
    pool = {"catan": _entry("catan", "phrase")}
    add_topic(pool, "board games")
    assert pool["boardgames"]["source"] == "phrase" and pool["boardgames"]["phrase"] == TOPIC_SCORE
    pool = {"running": _entry("running")}
    add_topic(pool, "running")
    assert pool["running"] == {"words": "running", "model": 0.0, "source": "phrase", "phrase": TOPIC_SCORE, "topical": True}


def test_a_topic_in_another_form_raises_that_form_and_a_sensitive_one_is_not_added():
    pool = {"podcast": _entry("podcast", "phrase")}
    add_topic(pool, "podcasts", clear=True)
    assert list(pool) == ["podcast"] and pool["podcast"]["phrase"] == TOPIC_SCORE and pool["podcast"]["topic"]
    add_topic(pool, "mental health", sensitive=lambda words: words == "mental health")
    assert list(pool) == ["podcast"]


def test_a_topic_a_phrase_of_the_post_holds_with_more_is_not_added():
    pool = {"中秋节": _entry("中秋节", "phrase"), "月饼": _entry("月饼", "phrase")}
    add_topic(pool, "中秋")
    assert list(pool) == ["中秋节", "月饼"]
    add_topic(pool, "美食")
    assert "美食" in pool


def test_an_english_topic_is_held_only_by_a_phrase_of_whole_words():
    pool = {"esports": _entry("esports", "phrase"), "model training": _entry("model training", "phrase")}
    add_topic(pool, "sports")
    add_topic(pool, "ai")
    assert "sports" in pool and "ai" in pool
    pool = {"tabletennis": _entry("table tennis", "phrase")}
    add_topic(pool, "tennis")
    assert list(pool) == ["tabletennis"]


def test_topic_vectors_are_kept_in_the_cache_and_read_back_by_the_same_encoder_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    batches = []  # the topic lines' batches encoded (a probe text of one is the encoder's fingerprint)

    class Counting:
        def __init__(self, scale=1.0):
            self.scale = scale

        def encode(self, texts):
            if len(texts) > 1:
                batches.append(len(texts))
            return self.scale * np.eye(len(texts), 8, dtype=np.float32)

    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    first = TopicTags.load(Counting(), "en", [weights], "int8")
    again = TopicTags.load(Counting(), "en", [weights], "int8")
    assert len(batches) == 1 and np.array_equal(first.vectors, again.vectors)
    TopicTags.load(Counting(), "en", [weights], "fp32")  # another precision: vectors of their own
    TopicTags.load(Counting(scale=0.5), "en", [weights], "int8")  # another encoder (a stand-in): the same
    assert len(batches) == 3


def test_a_post_between_two_related_topics_still_gets_the_closer_one():
    books, reading, travel = np.eye(3, dtype=np.float32)
    reading = (books + 0.5 * reading) / np.linalg.norm(books + 0.5 * reading)  # close to books: one subject
    tags = TopicTags(["books", "reading", "travel"], np.vstack([books, reading, travel]))
    post = (books + 0.1 * travel) / np.linalg.norm(books + 0.1 * travel)
    assert tags.best(post[None, :]) == ["books"]


def test_the_term_index_finds_the_topics_whose_words_a_text_writes_as_a_loop_over_them_would(topics):
    from inference.runtime.topic_terms import written

    matchers = [matcher(("stardew valley", "catan")), matcher(("ran", "parkrun")), matcher(("原神", "王者荣耀")),
                matcher(("put up shelves",))]
    index = TermIndex(matchers)
    for text in ("Stardew Valley until 2am, then parkrun", "catanzaro trip", "今晚原神打到两点", "I ran", "",
                 "spent saturday putting up shelves"):
        read = (padded := padded_words(text), loose_words(padded))
        assert index.hits(text, *read) == {i for i, m in enumerate(matchers) if written(m, text, *read)}
    text = "Saka with the outside of the boot, then Valorant with the squad, and I turned 30"
    read = (padded := padded_words(text), loose_words(padded))
    indexed = [matcher((c,)) for c in topics._evidence] + [matcher(topics.terms[i] + (topics.words[i],))
                                                               for i in topics._needs]  # each cue word, then needs
    hits = topics._cue_index.hits(text, *read)  # ... then each pair word (`read_pairs`), from `_pair_first` on
    assert {k for k in hits if k < topics._pair_first} == {i for i, c in enumerate(indexed) if written(c, text, *read)}


def test_a_cue_phrase_of_two_content_words_is_written_in_any_inflection_and_one_of_function_words_only_as_it_is():
    assert writes("Spent Saturday putting up shelves", ("put up shelves",))
    assert writes("he turned 30 today", ("turning 30",))
    assert writes("Put up a shelf. It is level.", ("put up shelves",))  # no article, shelf as shelves
    assert not writes("the shelf is up", ("put up shelves",))
    assert not writes("it's feeling like rain", ("feels like",))  # like: a stop word, so only as written
    assert writes("it feels like rain", ("feels like",))


def test_a_chinese_post_missing_someone_who_died_gets_the_mourning_topic_and_the_filter_keeps_it_there():
    from inference.runtime.safety import SafetyFilter
    from inference.runtime.suggester import DEFAULT_MODELS_DIR

    zh = TopicTags.load(SentenceEncoder.load(), "zh")
    post = "爷爷走了一年了，今天路过他常坐的长椅，站了好一会儿"
    picked = zh.picked(SentenceEncoder.load().encode([post]), [post])[0]
    assert "思念" in [topic for topic, _ in picked]
    safety = SafetyFilter.load(DEFAULT_MODELS_DIR / "safety.json")
    assert safety.check("思念", post, "zh").allowed
    assert not safety.check("思念", "异地恋第一百天，今天又路过我们常坐的长椅", "zh").allowed


def test_a_topic_of_misfortune_stands_only_where_the_post_writes_its_words(topics):
    posts = ["Got laid off this morning along with most of my team. Eight years there.",
             "Hit 1500 after being stuck around 1380 for eight months. all I changed was no more bullet after midnight",
             "Week three of this chemo round. Hair's mostly gone and I've stopped caring about the hats"]
    picked = [[topic for topic, _ in p] for p in topics.picked(SentenceEncoder.load().encode(posts), posts)]
    assert "layoffs" in picked[0]
    assert "layoffs" not in picked[1] and "haircut" not in picked[2]


def test_a_cue_written_as_a_name_is_a_named_cue_and_a_plain_phrase_is_not():
    assert named_in("baby reindeer", "Just finished Baby Reindeer and I need to sit in silence")
    assert named_in("she said yes", "SHE SAID YES 💍 six years") and named_in("pillars of creation", "JWST's Pillars of Creation")
    assert not named_in("baby reindeer", "a baby reindeer at the farm park")  # the words, not the name
    assert not named_in("packing up", "a bream right as I was packing up") and not named_in("the 7:42", "cancelled the 7:42")
    assert not named_in("stardew", "Stardew has eaten my weekend")  # one word: a name of one word is often another's


def test_a_post_that_names_a_topics_cue_gets_that_topic_though_its_vector_is_elsewhere(topics):
    encoder = SentenceEncoder.load()
    text = "Just finished Baby Reindeer and I need to sit in silence for a while"
    named = dict(topics.picked(encoder.encode([text]), [text])[0])
    assert named.get("tv shows") is True
    plain = "a baby reindeer at the farm park today, so tiny"
    assert "tv shows" not in dict(topics.picked(encoder.encode([plain]), [plain])[0])


def test_a_rare_one_word_cue_is_a_rare_cue_and_a_common_word_a_number_or_a_phrase_is_not():
    assert rare_cue("mispunched") == "mispunched" and rare_cue("Anagrind") == "anagrind"
    assert rare_cue("nobody:") is None  # read as "nobody": a common word
    assert rare_cue("f1") is None and rare_cue("50p") is None  # no word of letters ("f1.8", a coin)
    assert rare_cue("bowl gouge") is None and rare_cue("半程马拉松") is None


def test_a_post_that_writes_a_rare_cue_in_any_case_gets_its_topic_though_its_vector_is_elsewhere(topics):
    encoder = SentenceEncoder.load()
    text = "mispunched at 7. DSQ. brilliant."
    assert dict(topics.picked(encoder.encode([text]), [text])[0]).get("orienteering") is True
    plain = "punched in at 7, left at 5. brilliant."
    assert "orienteering" not in dict(topics.picked(encoder.encode([plain]), [plain])[0])


def test_a_possessive_or_a_verbs_d_writes_its_word_and_a_cue_with_one_is_still_written_as_it_is():
    assert writes("wiring the juniper's first branch", ("juniper",))
    assert writes("the players' lounge", ("players",))
    assert writes("a large Domino’s on the way", ("domino's",))  # a curly apostrophe is a straight one
    assert writes("mum’s hair", ("mum",)) and writes("who's gonna carry the boats", ("who's gonna carry the boats",))
    assert writes("a nano that's been DNF'd six times", ("dnf",))  # a verb's 'd too
    assert not writes("the players are tired", ("player",))  # no 's cut from a plain plural


def test_a_cue_of_one_word_is_written_in_its_plural_where_the_plural_is_a_rare_word():
    assert writes("harvested my KTB hives", ("hive",)) and writes("two colonies absconded", ("colony",))
    assert writes("41 QSOs on 20m", ("qso",)) and writes("hand cut dovetails", ("dovetail",))
    assert not writes("the nurses were amazing", ("nurse",))  # an everyday plural
    assert not writes("11 degrees at the lido", ("degree",)) and not writes("off it goes", ("goe",))


def test_latin_words_written_against_chinese_characters_are_words_of_their_own():
    assert " fnm " in padded_words("周五FNM用红快攻打了个4-0") and " 4 0 " in padded_words("周五FNM用红快攻打了个4-0")
    assert " v4 " in padded_words("卡在紫色那条V4第三周了") and padded_words("iPhone 15 Pro") == " iphone 15 pro "


def test_a_chinese_cue_names_a_topic_when_long_or_a_works_cue_inside_its_title_marks():
    assert named_in("半程马拉松", "报名了明年的半程马拉松，先立个flag", "跑步")
    assert named_in("哪吒之魔童闹海", "二刷《哪吒之魔童闹海》，敖丙出场还是想哭", "电影")
    assert named_in("繁花", "《繁花》终于补完了，一定要看沪语版", "追剧")
    assert not named_in("繁花", "春天到了，路边繁花似锦", "追剧")  # two characters, no title marks
    assert not named_in("晴天", "在家听《晴天》哭了", "天气")  # a song's title is no weather
    assert not named_in("凌晨三点", "凌晨三点爬泰山看日出", "熬夜")  # four characters: any night


def test_a_rare_one_word_cue_capitalised_inside_a_sentence_is_a_name_and_a_common_or_first_one_is_not():
    assert named_in("minecraft", "my 9yo built a working calculator in Minecraft and I can't get the printer to work")
    assert not named_in("minecraft", "Minecraft has eaten my weekend")  # first in its sentence: any word is capitalised
    assert not named_in("minecraft", "built a calculator in minecraft")  # written as a word, not a name
    assert not named_in("tesco", "scraped the windscreen with a Tesco clubcard")  # too common a word to be sure


def test_a_sports_emoji_is_a_cue_the_post_names_its_topic_with():
    assert is_emoji("🚲") and is_emoji("⛷") and not is_emoji("跑步") and not is_emoji("bike")
    index = TermIndex([matcher(("🚲", "🚴")), matcher(("跑步",))])
    text = "Cycled to work for the first time in months 🚲"
    padded = padded_words(text)
    assert index.hits(text, padded, loose_words(padded)) == {0}
    assert named_in("🏃", "18 miles this morning in the rain. 4 weeks till Berlin 🏃‍♀️", "running")
    cues = read_cues(TOPICS_EN)
    assert "🚲" in cues["cycling"] and "🧗" in cues["climbing"]


def test_a_cue_of_accented_latin_letters_is_a_word_read_in_any_case():
    index = TermIndex([matcher(("mölkky", "hāngī")), matcher(("跑步",))])
    for text in ("Mölkky at the park, needed exactly 3", "lifted the HĀNGĪ at dawn"):
        padded = padded_words(text)
        assert index.hits(text, padded, loose_words(padded)) == {0}
    padded = padded_words("pomölkkyx")
    assert index.hits("pomölkkyx", padded, loose_words(padded)) == set()  # a whole word, not a piece of one


def test_the_shipped_cue_words_name_the_works_people_write_about():
    cues = read_cues(TOPICS_EN)
    assert "the bear" in cues["tv shows"] and "project hail mary" in cues["books"]
    assert named_in("the bear", "Started The Bear last night 'just one episode'", "tv shows")


def test_american_football_gives_way_to_football_where_the_post_names_nothing_of_it(topics):
    posts = ["5-a-side last night, lost 11-3, pulled my hamstring going for a ball I was never getting.",
             "Paid £60 to watch United lose 3-0 at home in the pissing rain.",
             "Chiefs win it in the last two minutes AGAIN. Mahomes you absolute menace"]
    picked = [[topic for topic, _ in p] for p in topics.picked(SentenceEncoder.load().encode(posts), posts)]
    assert "american football" not in picked[0] + picked[1] and "football" in picked[0]
    assert "american football" in picked[2]


def test_a_topic_that_needs_its_words_is_out_of_the_running_where_the_post_does_not_write_them(topics):
    posts = ["turned 30 today and my body immediately started making new noises"]
    nearest = topics.nearest(SentenceEncoder.load().encode(posts), posts)[0][0]
    assert not {"hangover", "back pain", "mental health"} & {topics.words[i] for i in nearest}
    assert "birthday" in [t for t, _ in topics.picked(SentenceEncoder.load().encode(posts), posts)[0]]


def test_two_pair_words_of_a_topic_count_as_one_cue_word_and_as_its_words_and_one_alone_does_nothing(tmp_path):
    path = tmp_path / "topics_en.txt"
    path.write_text("! cricket\ncricket: a cricket match\ncricket ~ Overs, skipper, over\ncooking: a recipe\n", encoding="utf-8")
    assert [w for w, _ in read_topics(path)] == ["cricket", "cooking"]
    assert read_pairs(path) == {"cricket": ("overs", "skipper", "over")}
    tags = TopicTags(["cricket", "cooking"], np.eye(2, dtype=np.float32), terms=[("cricket",), ("a recipe",)],
                     needs=frozenset({"cricket"}), pairs=[("overs", "skipper", "over"), ()])
    row = np.array([[0.3, 0.1]], dtype=np.float32)

    def bonused(text):
        b, raw, _, cues, *_ = next(tags._bonused(row, [text]))
        return float(b[0] - raw[0]), cues[0]
    assert bonused("2 for 30 off my 6 overs, skipper kept me on") == pytest.approx((CUE_BONUS, 1))
    assert bonused("2 for 30 off my 6 overs") == pytest.approx((-1.3, 0))  # one pair word: the topic still needs its words
    assert bonused("over and over, 6 overs") == pytest.approx((-1.3, 0))  # spellings of one pair word count once


def test_every_shipped_pair_word_line_names_a_topic_and_holds_two_words_or_more():
    for lang in ("en", "zh"):
        path = topics_file(lang)
        pairs = read_pairs(path)
        assert pairs and set(pairs) <= {w for w, _ in read_topics(path)}
        assert all(len(set(words)) >= 2 for words in pairs.values())


def test_a_tag_that_is_a_topic_needing_its_words_is_unwritten_where_the_text_writes_none_of_them():
    tags = TopicTags(["glassblowing", "cooking"], np.eye(2, dtype=np.float32),
                     terms=[("blowing glass", "glory hole"), ("a recipe",)], needs=frozenset({"glassblowing"}))
    assert tags.unwritten("Glassblowing", "seat in, tank in the boot, glass out, doors welded")
    assert not tags.unwritten("glassblowing", "first class at the hot shop, blowing glass for an hour")
    assert not tags.unwritten("glassblowing", "Glassblowing all day")  # its own name is its word too
    assert not tags.unwritten("cooking", "glass out")  # a topic that needs no words is never unwritten


def test_a_cue_inside_quotes_is_read_and_a_word_keeps_its_own_apostrophe():
    index = TermIndex([matcher(("just a trim",)), matcher(("shove ha'penny",)), matcher(("players' lounge",))])
    for text, found in (("asked for 'just a trim' and cried", {0}), ("asked for \u2018just a trim\u2019", {0}),
                        ("Shove ha'penny final tonight", {1}), ("the players' lounge", {2})):
        assert index.hits(text, *reading(text)) == found
