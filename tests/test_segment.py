"""Hashtag segmentation and formatting: rules, round trips, the `segment` and `bench segment` commands."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from inference import cli
from inference.evaluation.bench_segment import read_benchmark
from inference.text.segment import Counts, Formatter, Segmenter, format_tag, segment

ROOT = Path(__file__).resolve().parents[1]


def test_camel_case_splits_words():
    assert segment("#ThrowbackThursday") == ["throwback", "thursday"]
    assert segment("AusOpen") == ["aus", "open"]


def test_lowercase_tag_is_segmented_by_the_language_model():
    assert segment("#throwbackthursday") == ["throwback", "thursday"]
    assert segment("#happybirthday") == ["happy", "birthday"]


def test_digits_split_from_letters():
    assert segment("#NBAFinals2019") == ["nba", "finals", "2019"]
    assert segment("#worldcup2018") == ["world", "cup", "2018"]


def test_all_caps_tags_are_segmented_and_lowercased():
    assert segment("#WEATHERDELAYS") == ["weather", "delays"]
    assert segment("#NBA") == ["nba"]


def test_underscores_and_punctuation_always_split():
    assert segment("#game_of_thrones") == ["game", "of", "thrones"]
    assert segment("#Back_To_School") == ["back", "to", "school"]


def test_scripts_without_spaces_come_back_unchanged():
    assert segment("#北京奥运会") == ["北京奥运会"]
    assert segment("ラーメン大好き") == ["ラーメン大好き"]


def test_thai_stays_whole_and_devanagari_keeps_its_vowel_signs():
    assert segment("#ยินดีต้อนรับ") == ["ยินดีต้อนรับ"]
    assert segment("#नमस्ते_दुनिया") == ["नमस्ते", "दुनिया"]
    assert segment("#love❤️") == ["love"]


def test_known_mixed_case_words_stay_whole():
    assert segment("#iPhone") == ["iphone"]
    assert segment("#YouTube") == ["youtube"]


def test_empty_tags_give_no_words():
    assert segment("") == []
    assert segment("#") == []


def test_segment_returns_a_fresh_list_each_call():
    first = segment("#AusOpen")
    first.append("mutated")
    assert segment("#AusOpen") == ["aus", "open"]


def test_formatter_writes_camel_case():
    assert format_tag("throwback thursday") == "#ThrowbackThursday"
    assert format_tag(["aus", "open"]) == "#AusOpen"


def test_formatter_keeps_the_casing_people_use():
    assert format_tag(["nba", "finals"]) == "#NBAFinals"
    assert format_tag(["iphone"]) == "#iPhone"
    assert format_tag(["covid", "19"]) == "#COVID19"


def test_formatter_writes_a_street_a_saint_and_a_boy_as_words_not_abbreviations():
    assert format_tag("main st") == "#MainSt"
    assert format_tag("st mary") == "#StMary"
    assert format_tag("co op") == "#CoOp"
    assert format_tag("burna boy") == "#BurnaBoy"


def test_formatter_joins_chinese_words_without_spaces():
    assert format_tag(["北京", "奥运会"], lang="zh") == "#北京奥运会"
    assert format_tag("北京 奥运会") == "#北京奥运会"


@pytest.mark.parametrize("words", [
    ["throwback", "thursday"], ["nba", "finals", "2019"], ["game", "of", "thrones"],
    ["iphone"], ["covid", "19"], ["world", "cup"], ["black", "lives", "matter"],
])
def test_formatter_round_trips_through_the_segmenter(words):
    assert segment(format_tag(words)) == words


def test_formatter_and_segmenter_classes_work_on_small_counts():
    counts = Counts(
        ws_unigrams={"big": 1e6, "data": 2e6, "bigdata": 10.0}, ws_bigrams={"big data": 5e5}, ws_total=1e7,
        corpus_unigrams={}, corpus_bigrams={}, casing={"ai": "AI"},
    )
    assert Segmenter(counts=counts)("#bigdata") == ["big", "data"]
    assert Formatter(casing=counts.casing)(["big", "ai"]) == "#BigAI"


def test_segment_command_reads_stdin_line_by_line():
    stdin = "#ThrowbackThursday\n\nNBAFinals2019\ngame_of_thrones\n"
    result = subprocess.run([sys.executable, "-m", "inference.cli", "segment"], input=stdin,
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["throwback thursday", "", "nba finals 2019", "game of thrones"]


def test_bench_command_scores_a_tiny_fixture(tmp_path, capsys):
    (tmp_path / "tiny_dev.txt").write_text("throwback thursday \nworld cup\n\n", encoding="utf-8")
    (tmp_path / "tiny.tsv").write_text(
        "tweet one #AusOpen\tAusOpen\tAus Open\taus open\n"
        "tweet two #pmqs\tpmqs\tzzz qqq\n", encoding="utf-8")
    assert read_benchmark(tmp_path / "tiny.tsv")[0] == ("AusOpen", [("aus", "open")])
    assert cli.main(["bench", "segment", "--data", str(tmp_path / "tiny_dev.txt"),
                     "--data", str(tmp_path / "tiny.tsv")]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    ours = {row[0]: row for row in rows if len(row) == 5 and row[1] == "tagsmith"}
    assert ours["tiny_dev.txt"][2:4] == ["2", "100.0%"]
    assert ours["tiny.tsv"][2:4] == ["2", "50.0%"]
    assert any(row[1] == "wordsegment" for row in rows if len(row) == 5)


def test_default_tables_load_from_the_cache_with_the_same_segmentations(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path))
    tags = ["#NBAFinals2019", "iPhone", "#throwbackthursday", "ABCnews", "what_a_goal", "#澳网"]
    built = Segmenter()  # builds from the count files and writes the cache
    assert list(tmp_path.glob("segmenter-*.npz"))
    cached = Segmenter()  # loads the cache: the count files are not read
    assert cached._counts is None
    assert [cached(t) for t in tags] == [built(t) for t in tags]
    assert cached.logp1 == built.logp1 and cached.bonus == built.bonus
