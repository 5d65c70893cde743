"""A top-n search over int8 rows that returns what the float32 product would, reading a quarter of its bytes.

A request's nearest rows among tens of thousands (dense retrieval's training posts) cost one pass over
the whole matrix, and that pass is bound by memory, not arithmetic. `Int8Scan` makes it over the int8
rows themselves (onnxruntime's MatMulInteger, one session on the CPU) with the query rounded to 6 bits,
and knows how far each approximate score can be from the exact one:

    exact_i  = scale_i * (q . r_i)
    approx_i = scale_i * sq * (qi . r_i)          qi = rint(q / sq), |q - sq * qi| <= sq / 2
    |exact_i - approx_i| <= scale_i * (sq / 2) * sum_j |r_ij|  =  bound_i

Every row of the exact top n then has approx_i + bound_i >= t, where t is the n-th largest of
approx_i - bound_i; only those candidates are scored exactly (`DenseIndex.search`), so the answer is
the float32 product's, up to the order in which a dot product adds its terms.

The query goes in as one uint8 row centred on 64 (6 bits: levels within +-63): AVX2's u8s8 kernels add
two uint8 x int8 products in int16 before the zero point is taken off, and 127 x 127 x 2 stays below
32767 where a query centred on 128 would not (use_graph._WEIGHT_LEVELS tells the same story for the
encoder). The coarser query only widens the bound: a few more candidates are scored exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.runtime.derived_cache import cached_arrays
from inference.runtime.providers import create_session

GRAPH_VERSION = 1  # of the graph kept in the cache folder (bump when `_graph` changes)
_LEVELS = 63  # the query's magnitude levels: a uint8 in 64 +- 63


class Int8Scan:
    """Candidates for the top n rows by scale_i * (q . rows_i): `candidates(queries, n)`. source: the file
    the rows came from: the graph is then kept in the cache folder (runtime/derived_cache.py), so later
    starts neither build it nor import onnx."""

    def __init__(self, rows: np.ndarray, scales: np.ndarray, source: Path | None = None):
        if rows.dtype != np.int8 or rows.ndim != 2:
            raise ValueError(f"Int8Scan takes [N, d] int8 rows, not {rows.dtype} {rows.shape}")
        # float32 rounding of an exact score (a d-term dot product of unit vectors), of the matrix entries
        # rows * scales and of this pass's own float32 arithmetic: within d units in the last place, twice over
        self.slack = np.float32(2.0 * rows.shape[1] * float(np.finfo(np.float32).eps))
        self._size = rows.shape[0]
        if source is None:
            graph = _graph(rows, scales)
        else:
            def build() -> dict[str, np.ndarray]:
                return {"graph": np.frombuffer(_graph(rows, scales), dtype=np.uint8)}

            graph = cached_arrays("int8-scan", GRAPH_VERSION, [source], build)["graph"].tobytes()
        self._session = create_session(graph, ["CPUExecutionProvider"], intra_op_threads=1, inter_op_threads=1)

    def candidates(self, queries: np.ndarray, n: int) -> list[np.ndarray]:
        """Per query [B, d] float32: the ascending row indexes that hold its n best rows."""
        step = np.maximum(np.abs(queries).max(axis=1, keepdims=True), 1e-30) / _LEVELS  # [B, 1]
        levels = (np.rint(queries / step) + (_LEVELS + 1)).astype(np.uint8)  # [B, d] within 64 +- 63
        k = np.array([min(n, self.size)], np.int64)
        # in units of each query's step (a positive number: the order of the scores is the same)
        upper, floor = self._session.run(None, {"q": levels, "slack": self.slack / step.astype(np.float32), "k": k})
        return [np.flatnonzero(u >= f) for u, f in zip(upper, floor)]

    @property
    def size(self) -> int:
        return self._size


def _graph(rows: np.ndarray, scales: np.ndarray) -> bytes:
    """The pass as one graph, in units of the query's step: q uint8 [B, d] (64 + the query's levels),
    slack float32 [B, 1], k int64 [1] -> upper [B, N] (approx_i + bound_i) and floor [B, 1] (the k-th
    largest approx_i - bound_i)."""
    from onnx import TensorProto, helper, numpy_helper  # only when the cache folder lacks the graph

    weight = np.ascontiguousarray(rows.T)  # [d, N]
    scales = np.asarray(scales, np.float64)
    half_l1 = (0.5 * scales * np.abs(rows.astype(np.int32)).sum(axis=1)).astype(np.float32)  # [N]: bound_i / step
    scales = scales.astype(np.float32)
    node = helper.make_node
    nodes = [
        node("MatMulInteger", ["q", "w", "zero"], ["dot"]),  # [B, N] int32, exact
        node("Cast", ["dot"], ["dotf"], to=TensorProto.FLOAT),  # exact: |dot| < 2**24
        node("Mul", ["dotf", "scales"], ["approx"]),
        node("Add", ["half_l1", "slack"], ["bound"]),
        node("Add", ["approx", "bound"], ["upper"]),
        node("Sub", ["approx", "bound"], ["lower"]),
        node("TopK", ["lower", "k"], ["best", "best_at"], axis=-1),
        node("ReduceMin", ["best", "axis_last"], ["floor"], keepdims=1),
    ]
    n_dims, n_rows = weight.shape
    graph = helper.make_graph(
        nodes, "int8_scan",
        [helper.make_tensor_value_info("q", TensorProto.UINT8, ["batch", n_dims]),
         helper.make_tensor_value_info("slack", TensorProto.FLOAT, ["batch", 1]),
         helper.make_tensor_value_info("k", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("upper", TensorProto.FLOAT, ["batch", n_rows]),
         helper.make_tensor_value_info("floor", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(np.array(_LEVELS + 1, np.uint8), "zero"),
         numpy_helper.from_array(scales, "scales"), numpy_helper.from_array(half_l1, "half_l1"),
         numpy_helper.from_array(np.array([-1], np.int64), "axis_last")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="tagsmith")
    model.ir_version = 8
    return model.SerializeToString()
