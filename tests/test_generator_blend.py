"""The generator's beams join the reranker's list with the fusion's generator weight."""

from inference.runtime.ranking import Ranked
from inference.runtime.strategies import blend_generator as _blend_generator

RERANKED = [Ranked("aus open", 0.9, "retrieval"), Ranked("tennis", 0.6, "extract"), Ranked("nadal", 0.3, "centroid")]
GENERATED = [("australian open final", -0.5), ("aus open", -1.0), ("tennis", -4.0)]


def test_without_a_generator_weight_the_reranked_list_is_kept():
    fusion = {"weights": {"retrieval": 1.0}}
    assert _blend_generator(RERANKED, {"generator": GENERATED}, fusion, 2, (), ()) == RERANKED[:2]


def test_a_generated_tag_never_seen_by_the_reranker_reaches_the_list():
    fusion = {"weights": {"generator": 0.5}, "norms": {"generator": "softmax"}}
    blended = _blend_generator(RERANKED, {"generator": GENERATED}, fusion, 4, (), ())
    words = [r.words for r in blended]
    assert words[0] == "aus open"  # proposed by both
    assert "australian open final" in words
    assert next(r for r in blended if r.words == "australian open final").source == "generator"


def test_reranked_tags_keep_the_source_that_proposed_them():
    fusion = {"weights": {"generator": 0.1}}
    blended = _blend_generator(RERANKED, {"generator": GENERATED}, fusion, 3, (), ())
    assert {r.words: r.source for r in blended}["tennis"] == "extract"


def test_existing_and_blocked_tags_stay_out_after_blending():
    fusion = {"weights": {"generator": 0.5}}
    blended = _blend_generator(RERANKED, {"generator": GENERATED}, fusion, 5, {"AusOpen"}, {"tennis"})
    words = [r.words for r in blended]
    assert "aus open" not in words and "tennis" not in words
    assert all(0.0 <= r.score <= 1.0 for r in blended)
