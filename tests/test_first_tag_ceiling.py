"""The F1@1 ceiling of reordering: the best-ranked gold tag of the top K moved to the front."""

from __future__ import annotations

from export.first_tag_ceiling import gold_first


def test_the_first_gold_tag_within_reach_moves_to_the_front_and_the_rest_keep_their_order():
    assert gold_first(["#MIT", "#Snow"], ["boston", "winter", "snow", "mit"], 3) == ["snow", "boston", "winter", "mit"]


def test_a_list_with_no_gold_tag_within_reach_is_left_as_it_is():
    assert gold_first(["#MIT"], ["boston", "winter", "mit"], 2) == ["boston", "winter", "mit"]
    assert gold_first(["#MIT"], [], 5) == []
