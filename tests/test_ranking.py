"""Fusion ranking: normalisation, weights, de-duplication, exclusion and blocklist."""

from inference.runtime.ranking import Ranked, keep_image_share, normalise, rank, tag_key


def test_tags_equal_ignoring_spaces_and_case_are_one_candidate():
    ranked = rank({"a": [("Aus Open", 2.0), ("tennis", 1.0)], "b": [("ausopen", 1.0)]}, {"a": 1, "b": 1}, k=5)
    assert [r.words for r in ranked].count("Aus Open") + [r.words for r in ranked].count("ausopen") == 1
    assert tag_key(ranked[0].words) == "ausopen"
    assert len(ranked) == 2


def test_excluded_and_blocklisted_tags_are_dropped():
    candidates = {"a": [("aus open", 3.0), ("tennis", 2.0), ("spam", 1.0)]}
    ranked = rank(candidates, {"a": 1.0}, k=5, exclude={"AusOpen"}, blocklist={"spam"})
    assert [r.words for r in ranked] == ["tennis"]


def test_scores_lie_in_the_unit_interval_and_are_sorted():
    candidates = {"a": [("x", 10.0), ("y", 5.0)], "b": [("x", 0.9), ("z", 0.3)], "c": [("z", -1.2), ("x", -0.1)]}
    ranked = rank(candidates, {"a": 2.0, "b": 1.0, "c": 0.5}, k=10, norms={"c": "softmax"})
    assert all(0.0 <= r.score <= 1.0 for r in ranked)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    assert ranked[0] == Ranked("x", 1.0, "a")


def test_weights_decide_the_order_and_the_source():
    candidates = {"retrieval": [("tennis", 1.0)], "generator": [("aus open", 1.0)]}
    assert rank(candidates, {"retrieval": 2.0, "generator": 1.0}, k=1)[0].words == "tennis"
    top = rank(candidates, {"retrieval": 1.0, "generator": 2.0}, k=1)[0]
    assert (top.words, top.source) == ("aus open", "generator")


def test_sources_without_weight_are_ignored_and_k_limits_the_list():
    candidates = {"a": [(f"t{i}", float(10 - i)) for i in range(8)], "ignored": [("other", 100.0)]}
    ranked = rank(candidates, {"a": 1.0}, k=3)
    assert [r.words for r in ranked] == ["t0", "t1", "t2"]


def test_a_fusion_config_dict_carries_weights_and_norms():
    config = {"weights": {"g": 1.0}, "norms": {"g": "rank"}}
    ranked = rank({"g": [("a", -5.0), ("b", -1.0)]}, config, k=2)
    assert [r.words for r in ranked] == ["a", "b"]
    assert normalise([("a", -5.0), ("b", -1.0)], "softmax")[1][1] == 1.0


def test_english_function_words_are_never_suggested_alone_but_stay_inside_longer_tags(tmp_path):
    from inference.runtime.suggester import Suggester, SuggestRequest
    from service_fixtures import write_retrieval_model

    records = [("after the race we ate pasta", ["after", "after party", "pasta"]), ("pasta after the game", ["after", "pasta"]),
               ("the after party was great", ["after party", "that"])]
    folder = write_retrieval_model(tmp_path / "en", "en", records)
    suggester = Suggester.from_folders([folder])
    tags = [s.words for s in suggester.suggest(SuggestRequest("pasta after the after party, that was it", k=10, lang="en")).suggestions]
    assert "pasta" in tags and "after party" in tags
    assert "after" not in tags and "that" not in tags


def test_a_learnt_tag_with_a_number_placeholder_is_suggested_with_the_posts_number_or_not_at_all(tmp_path):
    from inference.runtime.suggester import Suggester, SuggestRequest
    from service_fixtures import write_retrieval_model

    records = [("小时代 DIGIT 首映 好看", ["小时代 DIGIT", "首映"]), ("小时代 DIGIT 首映 哭了", ["小时代 DIGIT"]),
               ("今天 首映 礼", ["首映"])]
    suggester = Suggester.from_folders([write_retrieval_model(tmp_path / "zh", "zh", records)])

    def tags(text):
        return [s.words for s in suggester.suggest(SuggestRequest(text, k=5, lang="zh")).suggestions]

    assert "小时代 3" in tags("小时代3首映好看")
    assert not any("DIGIT" in t for t in tags("小时代首映好看"))
    assert "小时代 DIGIT" in tags("小时代 DIGIT 首映 好看")  # the data sets' own convention in, the same out


def _fused(*pairs):
    return [Ranked(words, score, source) for words, score, source in pairs]


FUSED = _fused(("a", 0.9, "retrieval"), ("b", 0.8, "retrieval"), ("c", 0.7, "retrieval"), ("d", 0.6, "retrieval"),
               ("e", 0.5, "retrieval"), ("red", 0.3, "image"), ("green", 0.2, "image"))
PHOTO = [("red", 1.0), ("green", 0.5), ("blue", 0.1)]


def test_a_third_of_a_fused_list_goes_to_the_photos_own_best_tags():
    top = keep_image_share(FUSED, PHOTO, 5, 1 / 3)
    assert [r.words for r in top] == ["a", "b", "c", "red", "green"]


def test_a_list_already_holding_the_photos_tags_is_left_as_it_is():
    fused = _fused(("red", 0.9, "image"), ("a", 0.8, "retrieval"), ("green", 0.7, "image"), ("b", 0.6, "retrieval"))
    assert keep_image_share(fused, PHOTO, 3, 1 / 3) == fused[:3]
    assert keep_image_share(FUSED, PHOTO, 1, 1 / 3) == FUSED[:1]  # round(1/3) = 0 places


def test_existing_and_blocked_tags_are_not_brought_back_for_the_photo():
    fused = [r for r in FUSED if r.words != "red"]  # rank() already dropped the post's own #red
    top = keep_image_share(fused, PHOTO, 5, 1 / 3, exclude={"red"}, blocklist={"blue"})
    assert [r.words for r in top] == ["a", "b", "c", "d", "green"]
