"""Tag index search: best cosine first, k capped by the vocabulary, clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from inference.runtime.tag_index import TagIndex, TagIndexError


@pytest.fixture
def index_path(tmp_path):
    vectors = np.eye(3, 4, dtype=np.float16)
    path = tmp_path / "tag_index.npz"
    tags = np.array(["aus open", "las vegas", "吴亦凡"])
    np.savez_compressed(path, vectors=vectors, tags=tags, counts=np.array([5, 4, 3]))
    return path


def test_search_returns_the_closest_tags_first(index_path):
    index = TagIndex.load(index_path)
    query = np.array([[0.8, 0.6, 0.0, 0.0]], dtype=np.float32)
    assert [tag for tag, _ in index.search(query, 2)[0]] == ["aus open", "las vegas"]
    assert index.search(query, 1)[0][0][1] == pytest.approx(0.8)


def test_k_larger_than_the_vocabulary_returns_every_tag(index_path):
    result = TagIndex.load(index_path).search(np.ones((2, 4), dtype=np.float32), 10)
    assert [len(row) for row in result] == [3, 3]


def test_a_query_of_the_wrong_dimension_is_a_named_error(index_path):
    with pytest.raises(TagIndexError):
        TagIndex.load(index_path).search(np.ones((1, 5), dtype=np.float32), 2)


def test_a_missing_file_is_a_named_error(tmp_path):
    with pytest.raises(TagIndexError):
        TagIndex.load(tmp_path / "absent.npz")


def test_the_columns_are_the_vectors_transposed_and_contiguous():
    index = TagIndex(np.arange(12, dtype=np.float32).reshape(3, 4), ["a", "b", "c"], np.ones(3))
    assert index.columns.flags["C_CONTIGUOUS"] and np.array_equal(index.columns, index.vectors.T)
    assert index.columns is index.columns  # made once
