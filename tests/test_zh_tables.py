"""jieba's part-of-speech and IDF tables for the phrase extractor, cached (inference/text/zh_tables.py):
the same tables as jieba.posseg's and jieba.analyse's, entry for entry and in order."""

from __future__ import annotations

import pytest

jieba = pytest.importorskip("jieba")

from inference.text import zh_tables  # noqa: E402


@pytest.fixture(scope="module")
def built():
    jieba.setLogLevel(60)
    jieba.initialize()
    return zh_tables.build_tables(jieba)


def test_the_cached_tables_are_jiebas_own(tmp_path, built):
    first = zh_tables.load_tables(jieba, tmp_path)
    path = zh_tables.cache_path(jieba, tmp_path)
    assert path.is_file()
    second = zh_tables.load_tables(jieba, tmp_path)  # read from the file
    for tables in (first, second):
        tags, idf, median, name_start = tables
        assert list(tags.items()) == list(built[0].items())
        assert list(idf.items()) == list(built[1].items())
        assert median == built[2] and name_start == built[3]
    assert {"王", "梅"} <= second[3] and second[0]["北京"] == "ns"


def test_a_damaged_cache_is_rebuilt(tmp_path, built):
    path = zh_tables.cache_path(jieba, tmp_path)
    path.write_bytes(b"not an npz")
    tags, _, median, _ = zh_tables.load_tables(jieba, tmp_path)
    assert len(tags) == len(built[0]) and median == built[2]
    assert zh_tables.read_tables(path)[2] == built[2]  # and written again


def _fresh_jieba(tmp_dir):
    """A stand-in for the jieba module with a Tokenizer of its own (the real one stays as it is)."""
    import types

    dt = jieba.Tokenizer()
    dt.tmp_dir = tmp_dir
    return types.SimpleNamespace(dt=dt, DEFAULT_DICT=jieba.DEFAULT_DICT, initialize=dt.initialize,
                                 __version__=jieba.__version__, __file__=jieba.__file__)


def test_the_cached_dictionary_is_jiebas_own(tmp_path):
    from inference.text.preprocess import cache_dir

    first = _fresh_jieba(str(cache_dir()) if cache_dir().is_dir() else None)
    zh_tables.initialize_jieba(first, tmp_path)  # jieba's own load, then written as a numpy file
    assert zh_tables._read_dict(zh_tables.cache_path(first, tmp_path, "dict")) is not None  # a readable file
    second = _fresh_jieba(str(tmp_path / "no-marshal-cache"))
    zh_tables.initialize_jieba(second, tmp_path)
    assert second.dt.initialized and second.dt.total == first.dt.total
    assert list(second.dt.FREQ.items()) == list(first.dt.FREQ.items())
    assert second.dt.lcut("今晚看澳网决赛") == first.dt.lcut("今晚看澳网决赛")
    zh_tables.cache_path(first, tmp_path, "dict").write_bytes(b"damaged")
    third = _fresh_jieba(first.dt.tmp_dir)
    zh_tables.initialize_jieba(third, tmp_path)  # rebuilt through jieba
    assert third.dt.FREQ == first.dt.FREQ


def test_the_tables_share_the_dictionarys_words(tmp_path, built):
    zh_tables.load_tables(jieba, tmp_path)  # written with each word's row in jieba's dictionary
    tags, idf, _, _ = zh_tables.load_tables(jieba, tmp_path)
    assert list(tags.items()) == list(built[0].items()) and list(idf.items()) == list(built[1].items())
    own = {k: k for k in list(jieba.dt.FREQ)[:50_000]}
    shared = [w for w in list(tags)[:20_000] if w in own]
    assert shared and all(own[w] is w for w in shared)
    other = dict.fromkeys(["not", "the", "dictionary"], 1)  # another dictionary: the words as read
    assert zh_tables.read_tables(zh_tables.cache_path(jieba, tmp_path), other)[0] == built[0]
