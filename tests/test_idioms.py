"""An idiom a post uses is read in its plain meaning and none of its words is a tag (inference/text/idioms.py)."""

from __future__ import annotations

import pytest

from inference.text.idioms import IDIOMS_FILE, InvalidIdioms, drop_idiom_words, idiom_keys, idiom_spans, plainly, read_idioms


IDIOMS = ["# idioms", "thin ice = in trouble", "under the weather = unwell", "do {} justice = show how good it is",
          "piece of cake = very easy", "on fire = doing brilliantly"]


@pytest.fixture
def idioms_file(tmp_path):
    (tmp_path / "idioms_en.txt").write_text("\n".join(IDIOMS) + "\n", encoding="utf-8")
    return tmp_path / "idioms_en.txt"


@pytest.mark.parametrize("post, idiom", [
    ("my controller is on very thin ice", "thin ice"),
    ("the tiny screen did not do it justice", "do it justice"),
    ("photos never do them justice", "do them justice"),
    ("honestly the exam was a Piece Of Cake", "Piece Of Cake"),
])
def test_an_idiom_is_found_in_any_of_its_forms(idioms_file, post, idiom):
    assert [post[a:b] for a, b, _ in idiom_spans(post, idioms_file)] == [idiom]


def test_a_post_is_read_with_each_idiom_in_its_plain_meaning(idioms_file):
    assert plainly("feeling a bit under the weather today", idioms_file) == "feeling a bit unwell today"
    assert plainly("a walk in the park", idioms_file) == "a walk in the park"


def test_no_word_of_an_idiom_is_a_tag_but_one_the_post_also_writes_outside_it(idioms_file):
    pool = {key: {"words": words, "source": "phrase"} for key, words in
            [("ice", "Ice"), ("thinice", "Thin Ice"), ("controller", "Controller")]}
    drop_idiom_words(pool, "my controller is on very thin ice", idioms_file)
    assert set(pool) == {"controller"}
    assert "fire" not in idiom_keys("the shed is on fire, the fire brigade came", idioms_file)
    assert "fire" in idiom_keys("my team is on fire tonight", idioms_file)


def test_a_work_the_post_names_stays_though_an_idiom_holds_its_words(idioms_file):
    pool = {"thinice": {"words": "Thin Ice", "source": "phrase", "work_named": True}}
    drop_idiom_words(pool, "binged thin ice all weekend", idioms_file)
    assert set(pool) == {"thinice"}


def test_a_line_without_its_meaning_is_refused(tmp_path):
    path = tmp_path / "idioms_en.txt"
    path.write_text("under the weather\n", encoding="utf-8")
    with pytest.raises(InvalidIdioms):
        read_idioms(path)


def test_the_shipped_idioms_read_and_mislead_no_more():
    assert len(read_idioms(IDIOMS_FILE)) > 100
    assert "justice" in idiom_keys("honestly the tiny screen did not do it justice")
    assert "cake" in idiom_keys("the exam was a piece of cake")


def test_the_shipped_idioms_keep_a_dance_move_and_a_look_from_naming_a_death():
    for post in ("our captain hit the death drop on the last count", "she gave me a death stare"):
        assert "death" not in plainly(post, IDIOMS_FILE) and "death" in idiom_keys(post, IDIOMS_FILE)
