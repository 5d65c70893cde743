"""The two ONNX graphs of a hashtag generator, their checks, and their int8 quantization.

Two graphs, TorchScript exporter (dynamo=False), opset 17, dynamic batch and lengths:
    encoder.onnx  post [B,Tp] int64, post_mask [B,Tp] bool, conv [B,Tc] int64, conv_mask [B,Tc] bool
                  -> memory [B,Tm,D], memory_mask [B,Tm] bool, hidden0 [1,B,H]
    decoder.onnx  prev_word [N] int64, element_rows [A] int64, hidden [1,N,H], memory [B,Tm,D],
                  memory_mask [B,Tm], k [1] int64 -> top_log_probs [N,k], top_ids [N,k] (each row's
                  k best, best first), new_hidden [1,N,H]
The N rows come in A equal, contiguous groups (one element's beam, N = A*R); the decoder gathers the
A memory rows itself (`element_rows`) and attends with one [R,D] x [D,Tm] matmul per element, so no
one copies [N,Tm,D] memory (folders from before this layout have `batch_rows` [N], one per row;
inference/runtime/generator.py reads both). Its GRU cell is written out as matmuls (DecoderGraph), and it
ranks each row itself (ONNX TopK, k fed at run time: the search asks for 2 x beam), so the [N,V]
log-softmax is never written out or copied into numpy (older folders return log_probs [N,V]).

check_graphs: onnx.checker on both graphs, and linear_before_reset=1 on every GRU node (PyTorch #189225).
quantize_int8: dynamic int8 weights (MatMul, Gather; the encoder's GRU ops stay fp32).
export/onnx_export.py writes the model folder from them.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from export.model import HashtagGenerator, top_k_log_probs
from inference.runtime.model_folder import DECODER_FILE, ENCODER_FILE

OPSET = 17
ENCODER_INT8_FILE = "encoder.int8.onnx"
DECODER_INT8_FILE = "decoder.int8.onnx"


class ExportError(RuntimeError):
    """The exported graphs failed a check; nothing was written to the output folder."""


class EncoderGraph(nn.Module):
    def __init__(self, model: HashtagGenerator):
        super().__init__()
        self.model = model

    def forward(self, post, post_mask, conv, conv_mask):
        return self.model.encode(post, post_mask, conv, conv_mask)


class DecoderGraph(nn.Module):
    """The model's decode_step with its GRU written out as two matmuls and the gates, the same
    equations as nn.GRU (linear_before_reset): onnxruntime then runs the recurrent matmuls as int8
    like the others (its GRU op is never quantized), and a one-step GRU op costs more than the
    matmuls. Parity with the model's own decode_step is checked before anything is written."""

    TRACE_K = 3  # traced as a constant, then made the graph input `k` (with_k_input)

    def __init__(self, model: HashtagGenerator):
        super().__init__()
        self.model = model

    def forward(self, prev_word, element_rows, hidden, memory, memory_mask):
        # prev_word [N], element_rows [A] (N = A*R rows in A contiguous groups), hidden [1,N,H],
        # memory [B,Tm,D] -> top_log_probs [N,k], top_ids [N,k], new_hidden [1,N,H]
        model, gru = self.model, self.model.decoder
        memory = memory.index_select(0, element_rows)  # [A,Tm,D]
        memory_mask = memory_mask.index_select(0, element_rows)
        h = hidden[0]  # [N,H]
        x_r, x_z, x_n = F.linear(model.tgt_embedding(prev_word), gru.weight_ih_l0, gru.bias_ih_l0).chunk(3, dim=-1)
        h_r, h_z, h_n = F.linear(h, gru.weight_hh_l0, gru.bias_hh_l0).chunk(3, dim=-1)  # [N,H] each
        reset, update = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        candidate = torch.tanh(x_n + reset * h_n)
        h = (1 - update) * candidate + update * h  # [N,H]
        top_log_probs, top_ids = top_k_log_probs(model.step_logits(h.unsqueeze(1), memory, memory_mask), self.TRACE_K)
        return top_log_probs, top_ids, h.unsqueeze(0)


def with_k_input(path: Path) -> None:
    """Make the decoder's one TopK take its k from a new graph input `k` [1] int64 (the tracer bakes
    the Python int in as a constant)."""
    model = onnx.load(str(path))
    graph = model.graph
    top_ks = [n for n in graph.node if n.op_type == "TopK"]
    if len(top_ks) != 1:
        raise ExportError(f"{path.name}: expected one TopK node, found {len(top_ks)}")
    constant = top_ks[0].input[1]
    top_ks[0].input[1] = "k"
    graph.input.append(onnx.helper.make_tensor_value_info("k", onnx.TensorProto.INT64, [1]))
    if not any(constant in n.input for n in graph.node):  # drop the traced constant if nothing else reads it
        for node in [n for n in graph.node if constant in n.output]:
            graph.node.remove(node)
        for init in [i for i in graph.initializer if i.name == constant]:
            graph.initializer.remove(init)
    onnx.save(model, str(path))


def export_graphs(model: HashtagGenerator, out_dir: Path) -> tuple[Path, Path]:
    """Write encoder.onnx and decoder.onnx (fp32) into out_dir."""
    model = model.eval()
    c = model.config
    # Dummy inputs with padding and an empty conversation row, so nothing specialises on them.
    post = torch.randint(2, c.src_vocab_size, (2, 5))
    post_mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    conv = torch.randint(2, c.src_vocab_size, (2, 7))
    conv_mask = torch.tensor([[True] * 6 + [False], [False] * 7])
    encoder_path, decoder_path = out_dir / ENCODER_FILE, out_dir / DECODER_FILE
    with torch.no_grad(), warnings.catch_warnings():
        # dynamo=False is deliberate (see the module docstring); the GRU batch-size warning is about
        # exporting without h0, which parity at batch sizes 1, 7 and 32 checks for real.
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*GRU.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\.")
        # nn.GRU's own hidden-size sanity checks read shapes as Python values while tracing
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.modules\.rnn")
        torch.onnx.export(
            EncoderGraph(model).eval(),  # export restores the wrapper's mode afterwards, recursively
            (post, post_mask, conv, conv_mask),
            str(encoder_path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["post", "post_mask", "conv", "conv_mask"],
            output_names=["memory", "memory_mask", "hidden0"],
            dynamic_axes={
                "post": {0: "batch", 1: "post_len"},
                "post_mask": {0: "batch", 1: "post_len"},
                "conv": {0: "batch", 1: "conv_len"},
                "conv_mask": {0: "batch", 1: "conv_len"},
                "memory": {0: "batch", 1: "memory_len"},
                "memory_mask": {0: "batch", 1: "memory_len"},
                "hidden0": {1: "batch"},
            },
        )
        memory, memory_mask, hidden0 = model.encode(post, post_mask, conv, conv_mask)
        element_rows = torch.tensor([1, 0])  # two groups of three rows: nothing specialises on R or order
        torch.onnx.export(
            DecoderGraph(model).eval(),
            (torch.tensor([1, 5, 7, 4, 4, 6]), element_rows, hidden0.index_select(1, element_rows.repeat_interleave(3)),
             memory, memory_mask),
            str(decoder_path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["prev_word", "element_rows", "hidden", "memory", "memory_mask"],
            output_names=["top_log_probs", "top_ids", "new_hidden"],
            dynamic_axes={
                "prev_word": {0: "rows"},
                "element_rows": {0: "elements"},
                "hidden": {1: "rows"},
                "memory": {0: "batch", 1: "memory_len"},
                "memory_mask": {0: "batch", 1: "memory_len"},
                "top_log_probs": {0: "rows", 1: "k"},
                "top_ids": {0: "rows", 1: "k"},
                "new_hidden": {1: "rows"},
            },
        )
    with_k_input(decoder_path)
    model.eval()
    return encoder_path, decoder_path


def check_graphs(*paths: Path) -> dict:
    """onnx.checker plus the GRU trap; returns {file: GRU node count}."""
    gru_counts = {}
    for path in paths:
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        grus = [n for n in model.graph.node if n.op_type == "GRU"]
        for node in grus:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("linear_before_reset") != 1:
                raise ExportError(
                    f"{path.name}: GRU node {node.name!r} has linear_before_reset="
                    f"{attrs.get('linear_before_reset')}, PyTorch's GRU needs 1 (see PyTorch issue #189225)"
                )
        gru_counts[path.name] = len(grus)
    return gru_counts


def quantize_int8(encoder_path: Path, decoder_path: Path, out_dir: Path) -> tuple[Path, Path]:
    """Dynamic int8 weights for MatMul and Gather (embeddings); GRU ops and the rest stay fp32. Weights are
    kept to 7 bits (reduce_range): AVX2's u8s8 kernels add two uint8 x int8 products in int16 and saturate
    at full 8-bit weights, so results would depend on the CPU (the shipped folders were exported before
    this; the exporter's dev check decides whether int8 is kept either way)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    outputs = (out_dir / ENCODER_INT8_FILE, out_dir / DECODER_INT8_FILE)
    quiet = logging.getLogger()  # the quantizer warns on the root logger about pre-processing: we do it
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for source, target in zip((encoder_path, decoder_path), outputs):
            prepared = target.with_suffix(".prep.onnx")
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            quantize_dynamic(str(prepared), str(target), op_types_to_quantize=["MatMul", "Gather"],
                             weight_type=QuantType.QInt8, reduce_range=True)
            prepared.unlink()
    finally:
        quiet.setLevel(level)
    return outputs
