"""Boosted trees (rerank.Trees arrays) as an onnxruntime TreeEnsembleRegressor graph, built at load.

onnxruntime walks the trees in C++ (~0.5 ms for a reranker pool where the numpy lockstep walk takes
~2 ms). Thresholds and leaf values are doubles and the input is float64, so every split decides as
numpy's does; the sum comes back as float32 (the operator's only output type), which the reranker's
sigmoid reads as before. The numpy walk stays the reference (tests/test_rerank.py checks both agree).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.runtime.derived_cache import cached_arrays
from inference.runtime.providers import create_session

ML_OPSET = 3  # ai.onnx.ml: TreeEnsembleRegressor with *_as_tensor (double) attributes


def _reachable(left: np.ndarray, right: np.ndarray, leaf: np.ndarray) -> list[int]:
    """The nodes of one tree that a walk from its root can reach (padding nodes are left out)."""
    found, stack = [], [0]
    while stack:
        node = stack.pop()
        found.append(node)
        if not leaf[node]:
            stack += [int(left[node]), int(right[node])]
    return sorted(found)


def tree_graph(trees) -> bytes:
    """A serialised ONNX graph: X [C, F] float64 -> Y [C, 1] float32, the trees' summed logit."""
    from onnx import TensorProto, helper

    ids, nodes, features, modes, values, true_ids, false_ids = [], [], [], [], [], [], []
    target_trees, target_nodes, weights = [], [], []
    for t in range(trees.feature.shape[0]):
        for n in _reachable(trees.left[t], trees.right[t], trees.leaf[t]):
            ids.append(t)
            nodes.append(n)
            if trees.leaf[t, n]:
                modes.append("LEAF")
                features.append(0), values.append(0.0), true_ids.append(0), false_ids.append(0)
                target_trees.append(t), target_nodes.append(n), weights.append(float(trees.value[t, n]))
            else:  # x <= threshold goes left: scikit-learn's HistGradientBoosting rule
                modes.append("BRANCH_LEQ")
                features.append(int(trees.feature[t, n])), values.append(float(trees.threshold[t, n]))
                true_ids.append(int(trees.left[t, n])), false_ids.append(int(trees.right[t, n]))

    def doubles(name: str, data: list[float]):
        return helper.make_tensor(name, TensorProto.DOUBLE, [len(data)], data)

    node = helper.make_node(
        "TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml", n_targets=1, aggregate_function="SUM",
        post_transform="NONE", nodes_treeids=ids, nodes_nodeids=nodes, nodes_featureids=features,
        nodes_modes=modes, nodes_truenodeids=true_ids, nodes_falsenodeids=false_ids,
        nodes_values_as_tensor=doubles("thresholds", values), target_treeids=target_trees,
        target_nodeids=target_nodes, target_ids=[0] * len(weights),
        target_weights_as_tensor=doubles("leaves", weights), base_values_as_tensor=doubles("base", [trees.baseline]),
    )
    graph = helper.make_graph(
        [node], "rerank_trees", [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["rows", "features"])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["rows", 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
                              producer_name="tagsmith")
    model.ir_version = 8
    return model.SerializeToString()


GRAPH_VERSION = 1  # bump when tree_graph builds another graph from the same trees


class TreeSession:
    """logits(features [C, F]) -> [C] float64, computed by onnxruntime on the CPU, one thread.
    source: the rerank.json the trees came from: the graph is then kept in the cache folder
    (runtime/derived_cache.py), so later starts neither build it nor import onnx."""

    def __init__(self, trees, source: Path | None = None):
        if source is None:
            graph = tree_graph(trees)
        else:
            def build() -> dict[str, np.ndarray]:
                return {"graph": np.frombuffer(tree_graph(trees), dtype=np.uint8)}

            graph = cached_arrays("rerank-trees", GRAPH_VERSION, [source], build)["graph"].tobytes()
        self._session = create_session(graph, ["CPUExecutionProvider"], intra_op_threads=1, inter_op_threads=1)

    def logits(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        x = np.ascontiguousarray(features, dtype=np.float64)
        return self._session.run(None, {"X": x})[0][:, 0].astype(np.float64)
