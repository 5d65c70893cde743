"""English lists put the post's own topic word before loose guesses (inference/runtime/grounding_rules.py):
a single word the post writes that is a vocabulary tag scores higher, the rarer the higher; with the
floor, a tag sharing no word with the post and only moderately relevant ranks after the supported ones;
fragments (#Third, #Double, #Doing) never stand alone."""

from __future__ import annotations

import numpy as np

from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
from inference.runtime.grounding_rules import (POST_PHRASE, clear_topic_placed, demote_loose_guesses, distinct_first, is_loose_guess,
                                               loose_centroid, mark_post_words, post_phrases_under_floor, raise_drawn_phrases, says_nothing,
                                               listed_name, past_the_floor, unwritten, unwritten_overlap, unwritten_saying)
from inference.runtime.unwritten import unwritten_greeting, unwritten_title
from inference.runtime.ranking import Ranked
from inference.text.tags import variant_key
from inference.runtime.tag_index import TagIndex
from inference.text.phrases import extract_phrases

TAGS = ["toddler", "club", "shoes", "parenting", "sosad", "storm"]


def _grounder(**config) -> Grounder:
    index = TagIndex(np.zeros((len(TAGS), 4), dtype=np.float32), TAGS, np.array([3, 5, 11, 9, 40, 108]))
    return Grounder(None, index, GroundingConfig(floor=0.1, **config), "en")


def _entry(words: str, relevance: float, source: str = "vocab", phrase: float = 0.0) -> dict:
    return {"words": words, "model": 0.0, "relevance": relevance, "source": source, "cos": 0.5, "phrase": phrase}


def _pool(*rows) -> dict[str, dict]:
    return {w.replace(" ", ""): _entry(w, *rest) for w, *rest in rows}


def test_a_rare_post_word_that_is_a_tag_outranks_a_common_one_and_a_word_outside_the_vocabulary():
    pool = _pool(("club", 0.6, "phrase", 0.05), ("toddler", 0.55, "phrase", 0.2), ("negotiation", 0.6, "phrase", 0.2))
    text = "toddler refused to go to the club. every day is a negotiation"
    mark_post_words(pool, text, _grounder().tag_count, frozenset())
    assert pool["toddler"]["post_word"] > pool["club"]["post_word"] >= 0.0
    assert "post_word" not in pool["negotiation"]  # no tag of the vocabulary
    ranked = _grounder(post_word_weight=0.6)._finish(Prepared(pool, text), set(), False).ranked
    assert ranked[0].words == "toddler"
    plain = _grounder()._finish(Prepared(pool, text), set(), False).ranked
    assert plain[0].words != "toddler"


def test_the_grounder_marks_post_words_only_when_the_folder_weighs_them():
    pool = _pool(("storm", 0.5, "vocab"))
    grounder = _grounder(post_word_weight=0.6)
    mark_post_words(pool, "the storm came through", grounder.tag_count, frozenset({"storm"}))
    assert "post_word" not in pool["storm"]  # a skipped (generic) word gets nothing
    assert grounder.tag_count("storm") == 108 and grounder.tag_count("unknown") == 0


def test_with_the_floor_a_loose_guess_ranks_after_the_tags_the_post_supports():
    pool = _pool(("so sad", 0.85), ("wrestling", 0.8), ("shoes", 0.7, "vocab"), ("wear shoes", 0.6, "phrase", 0.4),
                 ("toddler", 0.5, "phrase", 0.2))
    text = "toddler refused to wear shoes"
    grounded = _grounder(guess_relevance=0.9)._finish(Prepared(pool, text), set(), True)
    # #SoSad, the one vocabulary guess kept, ranks last; #Wrestling, a second guess, goes
    assert [r.words for r in grounded.ranked] == ["wear shoes", "shoes", "toddler", "so sad"]
    unfloored = _grounder(guess_relevance=0.9)._finish(Prepared(pool, text), set(), False)
    assert [r.words for r in unfloored.ranked][:2] == ["so sad", "wrestling"]  # predict without the floor: as before


def test_a_phrase_or_a_tag_sharing_a_word_is_never_a_loose_guess():
    text = "first time playing doubles at the club"
    assert is_loose_guess(_entry("wrestling", 0.8), text, 0.9)
    assert not is_loose_guess(_entry("wrestling", 0.95), text, 0.9)
    assert not is_loose_guess(_entry("clubs", 0.5), text, 0.9)
    assert not is_loose_guess(_entry("partner", 0.5, "phrase"), text, 0.9)
    kept = [("a", _entry("wrestling", 0.8)), ("b", _entry("doubles", 0.6, "phrase"))]
    assert demote_loose_guesses(kept, text, 0.0) == kept  # 0: the rule is off
    assert [k for k, _ in demote_loose_guesses(kept, text, 0.9)] == ["b", "a"]


def test_fragments_never_stand_alone_but_stay_inside_a_phrase():
    words = {p.words for p in extract_phrases("covid again. third time. a triple double in the second half, doing fine", [], "en", 20)}
    assert {"third", "triple", "double", "second", "doing", "half"}.isdisjoint(words)
    assert {"triple double", "second half"} <= words
    pool = _pool(("third", 0.9, "vocab"), ("double", 0.8, "model"), ("doing", 0.7, "phrase"), ("covid", 0.6, "phrase"))
    ranked = _grounder()._finish(Prepared(pool, "covid again. third time. doing fine"), set(), False).ranked
    assert [r.words for r in ranked] == ["covid"]


def test_an_english_tag_word_counts_when_it_shares_a_stem_of_four_letters_with_a_post_word():
    from inference.text.names import content_overlap

    assert content_overlap("rainy season", "it will rain all week", "en") == (1, 2)  # the post's word starts the tag's
    assert content_overlap("pancakes", "pancake breakfast", "en") == (1, 1)
    assert content_overlap("rain", "a rainy week", "en") == (1, 1)  # the tag's word starts the post's
    assert content_overlap("cats", "my cat sleeps", "en") == (0, 1)  # three letters are no stem
    assert content_overlap("raining", "a rainy week", "en") == (0, 1)  # neither starts the other


def test_a_plural_of_a_tag_above_it_ranks_after_the_other_tags():
    assert variant_key("Dogs") == variant_key("dog") and variant_key("puppies") == variant_key("puppy")
    assert variant_key("rabbit owners") == variant_key("rabbit owner") and variant_key("tennis") != variant_key("tenni")
    kept = [(Ranked(w, s, "vocab"), {}) for w, s in (("plants", 0.9), ("plant", 0.8), ("soil", 0.7), ("succulents", 0.6))]
    assert [r.words for r, _ in distinct_first(kept)] == ["plants", "soil", "succulents", "plant"]
    pool = _pool(("dogs", 0.9, "phrase", 0.3), ("dog", 0.85, "vocab"), ("beach", 0.6, "phrase", 0.2))
    ranked = _grounder()._finish(Prepared(pool, "took the dogs to the beach"), set(), False).ranked
    assert [r.words for r in ranked] == ["dogs", "beach", "dog"]


def test_a_tag_written_with_and_without_its_accents_is_one_tag_twice():
    assert variant_key("Mölkky") == variant_key("molkky") and variant_key("hāngī") == variant_key("Hangi")
    assert variant_key("ガス") != variant_key("カス") and variant_key("科目二") == "科目二"  # only Latin letters lose accents
    kept = [(Ranked(w, s, "phrase"), {}) for w, s in (("molkky", 0.9), ("mölkky", 0.8), ("lawn games", 0.7))]
    assert [r.words for r, _ in distinct_first(kept)] == ["molkky", "lawn games", "mölkky"]


def test_a_very_clear_topics_best_companion_takes_fourth_place_at_the_latest():
    words = ["sock", "second sock", "knitting", "sofa", "smile", "yarn", "knitters"]
    kept = [(Ranked(w, 0.9 - 0.1 * i, "phrase"), {"topic": w == "knitting", "companion": w in ("yarn", "knitters")})
            for i, w in enumerate(words)]
    placed = clear_topic_placed(kept)
    assert [r.words for r, _ in placed] == ["sock", "second sock", "knitting", "yarn", "sofa", "smile", "knitters"]
    assert [round(r.score, 2) for r, _ in placed][:5] == [0.9, 0.8, 0.7, 0.6, 0.6]  # the scores stay in order
    plain = [(r, {**e, "topic": False}) for r, e in kept]  # no very clear topic: its companions stay where they are
    assert clear_topic_placed(plain) == plain
    words = ["snow", "snow warning", "winter", "weather", "chicago", "heavy snow", "cold"]
    named = [(Ranked(w, 0.9 - 0.1 * i, "phrase"), {"topic": w in ("winter", "weather"), "companion": w == "cold",
                                                    "name": 0.5 if w == "chicago" else 0.0}) for i, w in enumerate(words)]
    assert clear_topic_placed(named, spare_names=True) == named  # #Cold would push #Chicago, a name, out of the first five
    assert [r.words for r, _ in clear_topic_placed(named)][4] == "cold"  # Chinese: no such exception


def test_a_very_clear_topic_takes_third_place_at_the_latest_and_a_misfortune_is_never_raised():
    words = ["youtube", "drip", "bathroom", "cartridge", "tap", "diy"]
    kept = [(Ranked(w, 0.9 - 0.1 * i, "phrase"), {"topic": w == "diy"}) for i, w in enumerate(words)]
    placed = clear_topic_placed(kept)
    assert [r.words for r, _ in placed] == ["youtube", "drip", "diy", "bathroom", "cartridge", "tap"]
    assert [round(r.score, 2) for r, _ in placed][:4] == [0.9, 0.8, 0.7, 0.7]  # the scores stay in order
    assert clear_topic_placed(kept[:2] + kept[-1:]) == kept[:2] + kept[-1:]  # already within the first three
    two = [(Ranked(w, 0.9 - 0.1 * i, "phrase"), {"topic": w in ("tv shows", "anime")})
           for i, w in enumerate(["frieren", "season", "quiet", "tv shows", "show", "anime"])]
    assert [r.words for r, _ in clear_topic_placed(two)] == ["frieren", "season", "tv shows", "anime", "quiet", "show"]
    laid_off = [(Ranked(w, 0.5, "phrase"), {"topic": w == "layoffs"}) for w in ["work", "bike", "sweaty", "layoffs"]]
    assert clear_topic_placed(laid_off) == laid_off
    pool = _pool(("youtube", 0.9, "phrase", 0.6), ("drip", 0.8, "phrase", 0.5), ("bathroom", 0.7, "phrase", 0.4),
                 ("tap", 0.6, "phrase", 0.3), ("diy", 0.3, "phrase", 0.05))
    pool["diy"]["topic"] = True
    ranked = _grounder()._finish(Prepared(pool, "fixed the bathroom tap drip with a youtube video"), set(), True).ranked
    assert [r.words for r in ranked][:3] == ["youtube", "drip", "diy"]


def test_a_text_of_function_words_alone_says_nothing():
    assert says_nothing("ok this is it") and says_nothing("lol same 😂") and says_nothing("never again. never.")
    assert not says_nothing("2 today, not to brag") and not says_nothing("Meeting that could've been an email")
    assert not says_nothing("哈哈哈哈")  # another script: not English's to judge


def test_a_drawn_out_laugh_a_name_called_and_a_bare_link_say_nothing():
    assert says_nothing("lmaooo i cant 😭") and says_nothing("hahahaha") and says_nothing("yesss")
    assert says_nothing("mate you need to see this https://youtu.be/abc") and says_nothing("@sam check this out")
    assert not says_nothing("you need to see Oppenheimer") and not says_nothing("new recipe https://x.com/a")
    assert not says_nothing("soooo tired") and says_nothing("okay this is the one, trust me https://youtu.be/abc")
    assert says_nothing("anyway how is everyone doing today, just checking in 🙂") and says_nothing("this, forever 😂")
    assert not says_nothing("everyone is doing yoga today")


def test_a_chinese_reply_that_only_laughs_or_agrees_says_nothing():
    assert says_nothing("哈哈哈哈哈哈", "zh") and says_nothing("同感+1", "zh") and says_nothing("笑死 真的笑死 哈哈哈", "zh")
    assert says_nothing("笑死我了", "zh") and says_nothing("随便发发", "zh") and says_nothing("emmm……算了，不说了", "zh")
    assert not says_nothing("哈哈哈 猫又打翻杯子了", "zh") and not says_nothing("拼豆真的会上头", "zh")
    assert not says_nothing("哈哈哈哈", "en")  # another script: not English's to judge


def test_a_saying_stands_under_the_floor_only_where_the_post_writes_its_words():
    assert unwritten_saying("she is the first", "Got my first pair of reading glasses at 42")
    assert unwritten_saying("may the fourth be with you", "Meeting that could've been an email, part 4")
    assert not unwritten_saying("asking for a friend", "cofounder breakup advice? asking for a friend")
    assert not unwritten_saying("reading glasses", "Got my first pair of reading glasses")  # two words: a thing
    assert not unwritten_saying("birds of a feather", "BIRDS OF A FEATHER is going to be everywhere")


def test_a_cheer_stands_under_the_floor_only_where_the_post_cheers_it():
    assert unwritten_saying("go hawks", "Hawk hit the team on the race, the hawks have been bad this year")
    assert unwritten_saying("go for gold", "stuck in gold 2 forever")
    assert not unwritten_saying("go pies", "Pies by 4 points at the MCG. Go Pies")
    assert not unwritten_saying("go pro", "new gopro mount for the bike")


def test_an_old_chinese_trend_that_is_a_clause_stands_only_where_the_post_writes_it():
    child = "娃两岁半，今天第一次完整说出“妈妈我爱你”"
    assert unwritten_saying("明天妈妈不在", child, "zh") and unwritten_saying("把姐姐煮了", "螺蛳粉煮好了", "zh")
    assert unwritten_saying("我们结婚了", "闺蜜今天结婚，我当伴娘", "zh")
    assert not unwritten_saying("爸爸回来了", "爸爸回来了！出差一个月终于到家", "zh")
    assert not unwritten_saying("七夕快乐", "七夕一个人过", "zh") and not unwritten_saying("不夜城", "逛夜市", "zh")  # three characters


def test_with_the_floor_a_post_that_says_nothing_gets_no_tags_and_an_unwritten_saying_goes():
    pool = _pool(("jokes", 0.9, "vocab"), ("funny", 0.8, "vocab"))
    assert _grounder()._finish(Prepared(pool, "lol same 😂"), set(), True).ranked == []
    assert [r.words for r in _grounder()._finish(Prepared(pool, "lol same 😂"), set(), False).ranked] == ["jokes", "funny"]
    pool = _pool(("she is the first", 0.9, "vocab"), ("reading glasses", 0.6, "phrase", 0.5))
    text = "Got my first pair of reading glasses at 42"
    assert [r.words for r in _grounder()._finish(Prepared(pool, text), set(), True).ranked] == ["reading glasses"]


def test_a_chinese_trend_that_speaks_as_i_or_you_stands_only_where_the_post_writes_it():
    wedding = "闺蜜今天结婚，我当伴娘哭得比她还厉害"
    assert unwritten_saying("我们 结婚 了", wedding, "zh") and unwritten_saying("我爱男闺蜜", wedding, "zh")
    assert not unwritten_saying("婚礼", wedding, "zh") and not unwritten_saying("伴娘", wedding, "zh")
    assert not unwritten_saying("我们结婚了", "我们结婚了！！领证啦", "zh")  # the post's own words


def test_a_sport_the_post_tells_in_its_verb_stands_past_the_floor_and_another_activity_does_not():
    from inference.runtime.grounding_rules import add_activities

    pool = {}
    add_activities(pool, "biked to work in -12 today. my eyelashes froze", lambda key: 10)
    assert pool["biking"]["topic"] and pool["biking"]["phrase"] == 0.5
    pool = {}
    add_activities(pool, "packed his lunch and moved the car", lambda key: 10)
    assert pool and not any(e.get("topic") for e in pool.values())


def test_a_strong_phrase_of_the_post_that_its_thread_drew_under_the_floor_is_raised_to_it():
    vectors = {"jollof": np.array([1.0, 0.0]), "pepper": np.array([1.0, 0.0]), "nice": np.array([1.0, 0.0]),
               "review": np.array([0.0, 1.0])}
    pool = {"jollof": {"source": "phrase", "words": "jollof", "phrase": 0.4, "relevance": 0.3},  # the post's, drawn away
            "pepper": {"source": "phrase", "words": "pepper", "phrase": 0.4, "relevance": 0.3},  # the thread's word
            "nice": {"source": "phrase", "words": "nice", "phrase": POST_PHRASE / 2, "relevance": 0.3},  # too weak a phrase
            "review": {"source": "phrase", "words": "review", "phrase": 0.4, "relevance": 0.3}}  # far from the post too
    alone = np.array([0.9, 0.1])  # the post without its thread: near jollof
    post = "Tried making jollof. Their review: nice"
    assert post_phrases_under_floor(pool, post, 0.4) == ["jollof", "review"]  # pepper is the thread's, nice too weak
    no_thread = {key: dict(entry) for key, entry in pool.items()}
    raise_drawn_phrases([pool, no_thread], [post, post], [["pepper, and a review"], []], lambda texts: [alone] * len(texts),
                        lambda key, words: vectors[key], np.array([[0.1, 0.1], [0.1, 0.1]]), 0.4, 4.0)
    assert [k for k, e in pool.items() if e["relevance"] == 0.4] == ["jollof"]
    assert all(e["relevance"] == 0.3 for e in no_thread.values())  # a post without a thread keeps its relevance


def test_a_chinese_lexicon_tag_sharing_one_word_with_the_post_stands_only_where_the_post_writes_it_whole():
    corridor = "外婆住院了，在医院走廊坐了一夜"
    assert unwritten_overlap({"words": "走廊医生", "source": "overlap"}, corridor, "zh")
    assert not unwritten_overlap({"words": "周杰伦 演唱会", "source": "overlap"}, "抢到周杰伦演唱会的票了", "zh")
    assert not unwritten_overlap({"words": "走廊医生", "source": "vocab"}, corridor, "zh")  # the vector's own find
    assert not unwritten_overlap({"words": "hospital corridor", "source": "overlap"}, "a night in the corridor", "en")


def test_a_recent_chinese_proper_noun_the_post_writes_stands_past_the_floor_and_a_plain_name_does_not():
    game = {"words": "原神", "name": 0.7, "relevance": 0.1}
    assert listed_name("原神", "zh") and not listed_name("池子", "zh") and not listed_name("原神", "en")
    assert past_the_floor(game, {}, 0.4, False, "zh")
    assert not past_the_floor({"words": "池子", "name": 0.6, "relevance": 0.1}, {}, 0.4, False, "zh")
    assert not past_the_floor({"words": "原神", "relevance": 0.1}, {}, 0.4, False, "zh")  # a vocabulary guess of it


def test_a_centroids_tag_sharing_no_word_with_an_english_post_is_unwritten_and_one_it_writes_is_not():
    bonsai = "the trident maple finally back-budded on that bare section after I cut it hard in February"
    assert loose_centroid({"words": "science", "source": "centroid"}, bonsai, "en")
    assert unwritten({"words": "science", "source": "centroid"}, bonsai, "en")
    assert not loose_centroid({"words": "happy diwali", "source": "centroid"}, "diwali lights are up on our street", "en")
    assert not loose_centroid({"words": "science", "source": "phrase"}, bonsai, "en")  # the post's own phrases stand
    assert not loose_centroid({"words": "科学", "source": "centroid"}, "今天去公园", "zh")  # English only


def test_a_the_title_of_one_word_stands_only_where_the_post_writes_it_with_its_the():
    assert unwritten_title("The Voice", "Fontaines D.C. at Brixton last night. lost my voice", "en")
    assert unwritten_title("The Strip", "monday. again.", "en")
    assert not unwritten_title("The Voice", "watching the voice finale tonight", "en")
    assert not unwritten_title("The Eras Tour", "eras tour movie tonight", "en")  # of two words or more: not this rule


def test_a_workday_greeting_stands_only_where_the_post_writes_happy():
    assert unwritten_greeting("HappyMonday", "monday. again. why.", "en")
    assert not unwritten_greeting("HappyMonday", "happy monday everyone, new week new goals", "en")
    assert not unwritten_greeting("HappySaturday", "saturday plans: nothing. bliss", "en")
