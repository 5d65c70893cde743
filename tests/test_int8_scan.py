"""The int8 pre-selection of dense retrieval's search (inference/runtime/int8_scan.py): the same nearest
posts as the float32 product, whatever the query."""

from __future__ import annotations

import numpy as np
import pytest

from export.dense_index import build_index, write
from inference.runtime import dense_retrieval
from inference.runtime.dense_retrieval import DENSE_INDEX, DenseIndex
from inference.runtime.int8_scan import Int8Scan


def _unit_rows(rng, n: int, d: int) -> np.ndarray:
    rows = rng.normal(size=(n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _exact_top(rows: np.ndarray, scales: np.ndarray, query: np.ndarray, n: int) -> set[int]:
    scores = (rows.astype(np.float64) * scales[:, None]) @ query.astype(np.float64)
    return set(np.argsort(-scores)[:n].tolist())


def test_the_candidates_hold_the_exact_top_rows_for_any_query():
    rng = np.random.default_rng(0)
    vectors = _unit_rows(rng, 3000, 64)
    scales = np.abs(vectors).max(axis=1) / 127
    rows = np.rint(vectors / scales[:, None]).astype(np.int8)
    scan = Int8Scan(rows, scales)
    queries = np.concatenate([
        _unit_rows(rng, 40, 64),
        np.eye(64, dtype=np.float32)[:4],  # all the weight on one component: its level is the largest
        vectors[:4],  # a query equal to a row of the index
    ])
    for query, picked in zip(queries, scan.candidates(queries, 10)):
        assert _exact_top(rows, scales, query, 10) <= set(picked.tolist())
        assert len(picked) < len(rows) // 4  # and the exact pass scores few of them


def test_rows_of_the_largest_int8_values_add_up_without_overflow():
    """A query at its largest level times rows of +-127 everywhere: the sums an int16 pair would saturate."""
    rows = np.full((50, 256), 127, np.int8)
    rows[25:] = -127
    scales = np.full(50, 1.0 / (127 * 16), np.float32)
    query = np.full((1, 256), 1 / 16, np.float32)
    picked = set(Int8Scan(rows, scales).candidates(query, 3)[0].tolist())
    assert picked == set(range(25))  # every row of the tie, none of the opposite ones


@pytest.mark.parametrize("n", [1, 5, 30])
def test_a_large_int8_index_finds_the_same_posts_with_and_without_the_scan(monkeypatch, tmp_path, n):
    rng = np.random.default_rng(1)
    vectors = _unit_rows(rng, 2000, 512)
    write(build_index([{"hashtags": [f"tag{i % 97}"]} for i in range(2000)], vectors, dims=48, dtype="int8"), tmp_path)
    monkeypatch.setattr(dense_retrieval, "SCAN_MIN_ROWS", 0)
    scanned = DenseIndex.load(tmp_path / DENSE_INDEX)
    monkeypatch.setattr(dense_retrieval, "SCAN_MIN_ROWS", 10**9)
    plain = DenseIndex.load(tmp_path / DENSE_INDEX)
    assert scanned._scan is not None and plain._scan is None
    queries = _unit_rows(rng, 30, 512)
    for with_scan, without in zip(scanned.search(queries, n, min_cos=0.05), plain.search(queries, n, min_cos=0.05)):
        assert [i for i, _ in with_scan] == [i for i, _ in without]
        assert np.allclose([c for _, c in with_scan], [c for _, c in without], atol=1e-6)


def test_the_scans_graph_is_kept_in_the_cache_folder_and_read_back_without_building(monkeypatch, tmp_path):
    from inference.runtime import int8_scan

    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(2)
    vectors = _unit_rows(rng, 500, 32)
    scales = np.abs(vectors).max(axis=1) / 127
    rows = np.rint(vectors / scales[:, None]).astype(np.int8)
    source = tmp_path / "rows.npz"
    np.savez(source, rows=rows)
    first = Int8Scan(rows, scales, source)
    monkeypatch.setattr(int8_scan, "_graph", lambda *a: pytest.fail("built again"))  # onnx is not imported either
    second = Int8Scan(rows, scales, source)
    query = vectors[:3]
    assert [c.tolist() for c in first.candidates(query, 5)] == [c.tolist() for c in second.candidates(query, 5)]
