"""Derived arrays kept in the cache folder: read back when their inputs and checksum match, else rebuilt."""

from __future__ import annotations

import numpy as np

from inference.runtime import derived_cache


def _source(tmp_path, content=b"weights v1"):
    path = tmp_path / "model" / "weights.bin"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path


def test_built_once_then_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    source, calls = _source(tmp_path), []

    def build():
        calls.append(1)
        return {"keys": np.arange(12, dtype=np.float32).reshape(3, 4)}

    first = derived_cache.cached_arrays("demo", 1, [source], build)
    again = derived_cache.cached_arrays("demo", 1, [source], build)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["keys"], again["keys"])
    assert again["keys"].dtype == np.float32 and list(again) == ["keys"]
    derived_cache.cached_arrays("demo", 2, [source], build)  # another version: built again
    assert len(calls) == 2


def test_changed_input_or_damaged_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    source = _source(tmp_path)
    derived_cache.cached_arrays("demo", 1, [source], lambda: {"a": np.ones(4)})
    path = derived_cache.cache_path("demo", 1, [source])
    data = bytearray(path.read_bytes())
    data[-8:] = np.full(1, 7.0).tobytes()  # the last value changes: the stored checksum no longer holds
    path.write_bytes(bytes(data))
    assert derived_cache.cached_arrays("demo", 1, [source], lambda: {"a": np.zeros(4)})["a"].tolist() == [0.0] * 4
    path.write_bytes(path.read_bytes()[:-20])  # cut short
    assert derived_cache.cached_arrays("demo", 1, [source], lambda: {"a": np.full(4, 2.0)})["a"].tolist() == [2.0] * 4
    (tmp_path / "other").mkdir()
    source2 = _source(tmp_path / "other", b"weights v2")
    assert derived_cache.cache_path("demo", 1, [source2]) != path


def test_unwritable_cache_only_costs_the_build(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(blocker))
    source = _source(tmp_path)
    assert derived_cache.cached_arrays("demo", 1, [source], lambda: {"a": np.ones(2)})["a"].tolist() == [1.0, 1.0]


def test_old_files_of_a_kind_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    for i in range(derived_cache.KEEP_PER_KIND + 3):
        derived_cache.cached_arrays("demo", 1, [_source(tmp_path, f"v{i}".encode())], lambda: {"a": np.ones(1)})
    assert len(list(derived_cache.derived_dir().glob(f"demo-*{derived_cache.SUFFIX}"))) == derived_cache.KEEP_PER_KIND


def test_files_of_the_earlier_npz_format_are_removed_when_their_kind_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    derived_cache.derived_dir().mkdir(parents=True)
    legacy = derived_cache.derived_dir() / "demo-0123456789abcdef01234567.npz"
    np.savez(legacy, a=np.ones(1))
    derived_cache.cached_arrays("demo", 1, [_source(tmp_path)], lambda: {"a": np.ones(1)})
    assert not legacy.exists()


def test_arrays_keep_their_names_order_dtypes_and_shapes(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    arrays = {"zeta": np.arange(6, dtype=np.int8).reshape(2, 3), "ä names": np.array(["tennis", "网球"]), "empty": np.zeros((0, 4))}
    derived_cache.cached_arrays("demo", 1, [_source(tmp_path)], lambda: arrays)
    again = derived_cache.cached_arrays("demo", 1, [_source(tmp_path)], lambda: {})
    assert list(again) == list(arrays)
    for name, array in arrays.items():
        assert again[name].dtype == array.dtype and again[name].shape == array.shape
        np.testing.assert_array_equal(again[name], array)


def test_the_overlap_table_read_back_is_the_one_built(tmp_path, monkeypatch):
    from inference.runtime.retrieval import TagLexicon
    from inference.runtime.retrieval_overlap import OverlapTable, overlap_table

    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    lexicon = TagLexicon({"aus open": 5, "Tennis": 3, "final set": 2, "马航 失联": 1})
    idf = {"aus": 2.0, "open": 1.5, "tennis": 1.2, "final": 1.1, "set": 0.9, "马航": 3.0, "失联": 2.5}.get
    built = OverlapTable.build(lexicon.counts, lexicon._word_tags, lambda w: idf(w, 1.0))
    first = overlap_table(lexicon.counts, lambda: lexicon._word_tags, lambda w: idf(w, 1.0), [_source(tmp_path)])

    def never() -> dict:
        raise AssertionError("the word -> tags map was asked for, though the cache folder holds the table")

    again = overlap_table(lexicon.counts, never, lambda w: 0.0, [_source(tmp_path)])  # read, not built
    for table in (first, again):
        assert table.names == built.names and table.word_ids == built.word_ids
        for name in ("count", "name_rank", "words", "idf", "total"):
            np.testing.assert_array_equal(getattr(table, name), getattr(built, name))
            assert getattr(table, name).dtype == getattr(built, name).dtype
        assert list(table.word_tags) == list(built.word_tags)
        assert all(np.array_equal(table.word_tags[w], built.word_tags[w]) for w in built.word_tags)
