"""A first start builds the caches in a child process and stamps them; later starts find the stamp and
start at once; a changed model is a new install; a child that cannot build leaves it to the server."""

from __future__ import annotations

import pytest

from inference.runtime import first_start
from service_fixtures import write_models_dir


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_models_dir(tmp_path_factory.mktemp("models"), langs=("en",))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(folder))
    return folder


def test_a_stamp_makes_the_install_warm_until_a_file_it_names_is_gone(cache):
    (cache / "derived").mkdir(parents=True)
    (cache / "derived" / "table.npz").write_bytes(b"x")
    assert not first_start.is_warm("k1")
    assert first_start.record_warm("k1")
    assert first_start.is_warm("k1")
    assert not first_start.is_warm("k2")
    (cache / "derived" / "table.npz").unlink()
    assert not first_start.is_warm("k1")


def test_a_changed_model_file_or_provider_is_a_new_install(tmp_path):
    models = tmp_path / "models"
    (models / "en").mkdir(parents=True)
    (models / "en" / "config.json").write_text("{}")
    key = first_start.install_key(models, None)
    assert first_start.install_key(models, None) == key
    assert first_start.install_key(models, ["CUDAExecutionProvider"]) != key
    (models / "en" / "config.json").write_text('{"changed": 1}')
    assert first_start.install_key(models, None) != key


def test_the_first_start_builds_in_a_child_and_the_next_finds_it_warm(models_dir, cache):
    done = first_start.prepare(models_dir, ["CPUExecutionProvider"])
    assert done.startswith("built in 2 child processes"), done
    assert "peak RSS" in done
    assert list(cache.glob("warm-*.json"))
    assert first_start.prepare(models_dir, ["CPUExecutionProvider"]) == "warm"


def test_after_the_children_the_servers_own_load_builds_nothing(models_dir, cache):
    from inference.runtime.suggester import Suggester

    assert first_start.prepare(models_dir, ["CPUExecutionProvider"]).startswith("built in")
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    Suggester.from_models_dir(models_dir, providers=["CPUExecutionProvider"]).warm_up()
    after = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert after == before


def test_a_server_without_its_models_folder_prepares_nothing(tmp_path, cache):
    from inference.server.app import ServiceConfig
    from inference.server.serve import _prepare_caches

    _prepare_caches(ServiceConfig(models_dir=tmp_path / "missing"))
    assert not cache.exists()


def test_a_child_that_cannot_load_leaves_the_build_to_the_server(tmp_path, cache):
    done = first_start.prepare(tmp_path, None)  # no model folder in it
    assert done.startswith("the child failed") and "no model folder" in done, done
    assert not list(cache.glob("warm-*.json"))


def test_a_cache_folder_that_cannot_be_made_runs_no_child(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(blocker / "cache"))
    assert "not writable" in first_start.prepare(tmp_path, None)
