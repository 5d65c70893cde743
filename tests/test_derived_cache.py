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
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["a"] = np.full(4, 7.0)  # the stored checksum no longer holds
    np.savez(path, **arrays)
    assert derived_cache.cached_arrays("demo", 1, [source], lambda: {"a": np.zeros(4)})["a"].tolist() == [0.0] * 4
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
    assert len(list(derived_cache.derived_dir().glob("demo-*.npz"))) == derived_cache.KEEP_PER_KIND
