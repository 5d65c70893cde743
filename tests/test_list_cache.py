"""Word lists kept in the cache folder: read back when their sources and checksum match, else rebuilt."""

from __future__ import annotations

import os

import pytest

from inference.text import list_cache, phrases


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _source(tmp_path, text="a b\nc d\n"):
    path = tmp_path / "bigrams.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_built_once_then_read_back(tmp_path, cache):
    source, calls = _source(tmp_path), []

    def build():
        calls.append(1)
        return ["heat wave", "city council", "中秋 节"]

    first = list_cache.cached_lines("demo", 1, [source], build)
    again = list_cache.cached_lines("demo", 1, [source], build)
    assert first == again == ["heat wave", "city council", "中秋 节"] and len(calls) == 1
    list_cache.cached_lines("demo", 2, [source], build)  # another version: built again, the old file removed
    assert len(calls) == 2 and len(list(cache.glob("demo-*.txt"))) == 1


def test_an_empty_list_is_kept_as_empty(tmp_path, cache):
    source = _source(tmp_path)
    assert list_cache.cached_lines("demo", 1, [source], list) == []
    assert list_cache.cached_lines("demo", 1, [source], lambda: ["built again"]) == []


def test_changed_source_or_damaged_file_is_rebuilt(tmp_path, cache):
    source = _source(tmp_path)
    list_cache.cached_lines("demo", 1, [source], lambda: ["old"])
    path = list_cache.cache_path("demo", 1, [source])
    digest, _, _ = path.read_text(encoding="utf-8").partition("\n")
    path.write_text(digest + "\ntampered", encoding="utf-8")  # the checksum no longer holds
    assert list_cache.cached_lines("demo", 1, [source], lambda: ["new"]) == ["new"]
    os.utime(source, ns=(1, 1))  # another modification time: another file name
    assert list_cache.cache_path("demo", 1, [source]) != path


def test_unwritable_cache_only_costs_the_build(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(blocker / "cache"))
    assert list_cache.cached_lines("demo", 1, [_source(tmp_path)], lambda: ["x y"]) == ["x y"]


def test_a_line_break_inside_an_entry_is_refused(tmp_path, cache):
    with pytest.raises(list_cache.ListCacheError):
        list_cache.cached_lines("demo", 1, [_source(tmp_path)], lambda: ["two\nlines"])


def test_collocations_read_back_equal_the_filtered_bigrams(cache):
    phrases._collocations.cache_clear()
    try:
        built = phrases._collocations()
        assert len(list(cache.glob("collocations-*.txt"))) == 1
        phrases._collocations.cache_clear()
        assert phrases._collocations() == built
        assert "heat wave" in built and "city council" in built and "of the" not in built
    finally:
        phrases._collocations.cache_clear()
