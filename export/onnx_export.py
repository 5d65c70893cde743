"""Export a trained hashtag generator to a self-describing ONNX model folder, validating it first.

    python -m export.onnx_export --checkpoint runs/zh-full/ckpt.pt --dev runs/corpus/zh_dev.jsonl \
        --out inference/models/zh [--int8]

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

Before anything lands in --out (built in a temporary folder, then moved in place):
    1. onnx.checker on both graphs, and linear_before_reset=1 on every GRU node (PyTorch #189225);
    2. parity with PyTorch on >= 200 dev posts at batch sizes 1, 7, 32: max |Δ log-prob| <= 1e-4
       at every step of the beam and max |Δ| <= 1e-4 on the encoder outputs (each graph on the same
       inputs as PyTorch; end-to-end float32 drift is reported beside, see parity_check), and
       identical top-10 hashtags from beam search with either backend;
    3. with --int8: dynamic int8 quantization (MatMul, Gather; the encoder's GRU ops stay fp32), made the default only
       if dev F1@1 drops by less than 0.5 point.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import math
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from export.model import HashtagGenerator, ModelConfig, top_k_log_probs
from inference.runtime.beam import BeamSearch
from inference.runtime.generator import Generator
from inference.runtime.model_folder import (
    CONFIG_FILE,
    DECODER_FILE,
    ENCODER_FILE,
    FORMAT_VERSION,
    SRC_SPECIALS,
    SRC_VOCAB_FILE,
    TGT_SPECIALS,
    TGT_VOCAB_FILE,
    load_model_folder,
    sha256_file,
    write_vocab,
)
from inference.text.preprocess import PREPROCESS_VERSION, tokenize

log = logging.getLogger("export.onnx_export")

OPSET = 17
PARITY_TOLERANCE = 1e-4
PARITY_BATCH_SIZES = (1, 7, 32)
PARITY_MIN_POSTS = 200
PARITY_TOP_K = 10
INT8_MAX_F1_DROP = 0.5  # points of F1@1 (percent)
MAX_FOLDER_MB = 25.0
ENCODER_INT8_FILE = "encoder.int8.onnx"
DECODER_INT8_FILE = "decoder.int8.onnx"


class ExportError(RuntimeError):
    """The exported graphs failed a check; nothing was written to the output folder."""


# -- the two graphs ----------------------------------------------------------------------------


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


# -- parity ------------------------------------------------------------------------------------


def record_tokens(record: dict, lang: str) -> tuple[list[str], list[str]]:
    """Canonical record -> (post tokens, conversation tokens), as export/data.py tokenizes for
    training: the thread's messages tokenized one by one and joined in order."""
    lang = record.get("lang") or lang
    post = tokenize(record.get("post") or "", lang)
    conv = [t for message in record.get("thread") or [] for t in tokenize(message, lang)]
    return post, conv


def _torch_feeds(feeds: dict[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(feeds[k]) for k in ("post", "post_mask", "conv", "conv_mask"))


def _same_top_k(torch_hyps, ort_hyps, k: int, tolerance: float) -> str:
    """"same", "tie" (lists differ only where scores agree within tolerance) or "different"."""
    a, b = torch_hyps[:k], ort_hyps[:k]
    if [h.tokens for h in a] == [h.tokens for h in b]:
        return "same"
    if len(a) == len(b) and all(abs(x.score - y.score) <= tolerance for x, y in zip(a, b)):
        return "tie"
    return "different"


def parity_check(
    model: HashtagGenerator,
    generator: Generator,
    examples: list[tuple[list[str], list[str]]],
    batch_sizes=PARITY_BATCH_SIZES,
    top_k: int = PARITY_TOP_K,
    beam_size: int = 10,
) -> dict:
    """Compare PyTorch and onnxruntime on `examples` at each batch size; raise ExportError on failure.

    Gated (each graph against PyTorch float32 on identical inputs, along the PyTorch beam):
      - encoder: max |Δ| of memory and hidden0 <= PARITY_TOLERANCE;
      - decoder: max |Δ log-prob| <= PARITY_TOLERANCE at every beam step, onnxruntime fed PyTorch's
        hidden state and memory;
      - the top-k hashtags of a beam search run entirely in onnxruntime == PyTorch's.
    Reported, not gated: end to end, onnxruntime carrying its own encoder output and state, against
    PyTorch float32 and float64. A trained model's output layer amplifies float32 rounding from the
    encoder's long recurrences: on the Weibo model PyTorch float32 itself drifts 4e-4 from float64
    where onnxruntime drifts 1.3e-4, so that end-to-end figure measures float32, not the export.
    Columns of ids the model never emits (<pad>, <bos>, <unk>: pinned near -1e4, where float32
    spacing is ~1e-3) are left out.
    """
    model = model.eval()
    reference = copy.deepcopy(model).double().eval()
    banned = [generator.tgt["pad"], generator.tgt["bos"], generator.tgt["unk"]]
    search = generator.beam_search(n_best=top_k, beam_size=max(beam_size, top_k), max_len=None, length_penalty=0.0)
    # the PyTorch float32 search carries three states: (torch fp32, onnxruntime, torch fp64)
    twin = BeamSearch(
        search.beam_size, search.max_len, search.bos_id, search.eos_id, n_best=top_k,
        state_axes=(1, 1, 1), banned_ids=search.banned_ids,
    )
    report = {"posts": len(examples), "tolerance": PARITY_TOLERANCE, "batch_sizes": {}}
    worst = 0.0
    for batch_size in batch_sizes:
        diffs = dict.fromkeys(("step", "encoder", "end_to_end_vs_fp32", "end_to_end_vs_fp64", "torch_fp32_vs_fp64"), 0.0)
        same, ties, different = 0, 0, []
        for start in range(0, len(examples), batch_size):
            batch = examples[start : start + batch_size]
            feeds = generator.encoder_feeds(batch)
            with torch.no_grad():
                memory_t, mask_t, hidden0_t = model.encode(*_torch_feeds(feeds))
                memory_r, _, hidden0_r = reference.encode(*_torch_feeds(feeds))
            memory_o, mask_o, hidden0_o = generator.encode(feeds)
            if not np.array_equal(mask_t.numpy(), mask_o):
                raise ExportError(f"memory_mask differs between PyTorch and onnxruntime (batch size {batch_size})")
            diffs["encoder"] = max(
                diffs["encoder"],
                float(np.abs(memory_t.numpy() - memory_o).max()),
                float(np.abs(hidden0_t.numpy() - hidden0_o).max()),
            )

            def step(tokens, element_rows, state):
                hidden_t, hidden_o, hidden_r = state
                rows = torch.from_numpy(element_rows)
                prev = torch.from_numpy(tokens)
                with torch.no_grad():
                    log_probs_t, new_hidden_t = model.decode_step(
                        prev, torch.from_numpy(hidden_t), memory_t.index_select(0, rows), mask_t.index_select(0, rows))
                    log_probs_r, new_hidden_r = reference.decode_step(
                        prev, torch.from_numpy(hidden_r), memory_r.index_select(0, rows), mask_t.index_select(0, rows))
                log_probs_t, log_probs_r = log_probs_t.numpy(), log_probs_r.numpy()
                log_probs_same, _ = generator.decode_step(tokens, element_rows, hidden_t, memory_t.numpy(), mask_o)
                log_probs_o, new_hidden_o = generator.decode_step(tokens, element_rows, hidden_o, memory_o, mask_o)
                for key, a, b in (("step", log_probs_same, log_probs_t), ("end_to_end_vs_fp32", log_probs_o, log_probs_t),
                                  ("end_to_end_vs_fp64", log_probs_o, log_probs_r),
                                  ("torch_fp32_vs_fp64", log_probs_t, log_probs_r)):
                    diff = np.abs(a - b)
                    diff[:, banned] = 0.0
                    diffs[key] = max(diffs[key], float(diff.max()))
                return log_probs_t, (new_hidden_t.numpy(), new_hidden_o, new_hidden_r.numpy())

            init = (hidden0_t.numpy(), hidden0_o, hidden0_r.numpy())
            torch_hyps = twin.run(step, init_state=init, batch_size=len(batch))
            ort_hyps = generator.search_ids(batch, n_best=top_k, beam_size=search.beam_size, length_penalty=0.0)
            for i, (a, b) in enumerate(zip(torch_hyps, ort_hyps)):
                verdict = _same_top_k(a, b, top_k, PARITY_TOLERANCE)
                if verdict == "same":
                    same += 1
                elif verdict == "tie":
                    ties += 1
                else:
                    different.append(start + i)
        max_diff = diffs["step"]
        report["batch_sizes"][str(batch_size)] = {
            "max_abs_log_prob_diff": max_diff,
            "max_abs_encoder_diff": diffs["encoder"],
            "end_to_end_max_abs_log_prob_diff_vs_torch_fp32": diffs["end_to_end_vs_fp32"],
            "end_to_end_max_abs_log_prob_diff_vs_torch_fp64": diffs["end_to_end_vs_fp64"],
            "torch_fp32_vs_fp64_max_abs_log_prob_diff": diffs["torch_fp32_vs_fp64"],
            "identical_top_k": same,
            "tied_top_k": ties,
            "different_top_k": len(different),
        }
        log.info("parity at batch size %d: max |Δ log-prob| %.2e per step, |Δ encoder| %.2e; end to end %.2e vs torch "
                 "float32, %.2e vs float64 (torch float32 itself %.2e); top-%d identical %d/%d (ties %d)",
                 batch_size, max_diff, diffs["encoder"], diffs["end_to_end_vs_fp32"], diffs["end_to_end_vs_fp64"],
                 diffs["torch_fp32_vs_fp64"], top_k, same, len(examples), ties)
        worst = max(worst, max_diff)
        for what, value in (("log-prob", max_diff), ("encoder output", diffs["encoder"])):
            if value > PARITY_TOLERANCE or not math.isfinite(value):
                raise ExportError(f"parity failed at batch size {batch_size}: max |Δ {what}| {value:.3g} > {PARITY_TOLERANCE}")
        if different:
            raise ExportError(f"parity failed at batch size {batch_size}: top-{top_k} hashtags differ for posts {different[:10]}")
    report["max_abs_log_prob_diff"] = worst
    report["top_k"] = top_k
    report["beam_size"] = search.beam_size
    return report


# -- quantization and dev metrics ---------------------------------------------------------------


def quantize_int8(encoder_path: Path, decoder_path: Path, out_dir: Path) -> tuple[Path, Path]:
    """Dynamic int8 weights for MatMul and Gather (embeddings); GRU ops and the rest stay fp32."""
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
            quantize_dynamic(str(prepared), str(target), op_types_to_quantize=["MatMul", "Gather"], weight_type=QuantType.QInt8)
            prepared.unlink()
    finally:
        quiet.setLevel(level)
    return outputs


def _f1_at_1(gold: list[list[str]], pred: list[list[str]], lang: str) -> dict:
    """The paper's metrics (inference.evaluation.metrics.evaluate, percent); "f1@1" is the int8 criterion."""
    from inference.evaluation.metrics import evaluate

    scores = evaluate(gold, pred, lang)
    return {"f1@1": float(scores["F1@1"]), "metrics": scores}


def dev_scores(generator: Generator, examples, gold: list[list[str]], lang: str, batch_size: int = 32) -> dict:
    start = time.perf_counter()
    pred = []
    for i in range(0, len(examples), batch_size):
        pred.extend([w for w, _ in tags] for tags in generator.generate(examples[i : i + batch_size], n_best=10))
    scores = _f1_at_1(gold, pred, lang)
    scores["posts"] = len(examples)
    scores["seconds"] = round(time.perf_counter() - start, 2)
    return scores


# -- the folder ----------------------------------------------------------------------------------


def _json_safe(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return None


def build_model_folder(
    model: HashtagGenerator,
    src_vocab: list[str],
    tgt_vocab: list[str],
    out: Path,
    dev_records: list[dict],
    lang: str,
    name: str | None = None,
    training: dict | None = None,
    preprocess_version: int = PREPROCESS_VERSION,
    int8: bool = False,
    parity_posts: int = PARITY_MIN_POSTS,
    batch_sizes=PARITY_BATCH_SIZES,
    eval_posts: int = 1000,
    max_folder_mb: float = MAX_FOLDER_MB,
    threads: int = 1,
    full_out: str | Path | None = None,
) -> dict:
    """Export, validate and write the model folder `out`; returns its config.json content."""
    model = model.eval()
    examples = [record_tokens(r, lang) for r in dev_records]
    if len(examples) < parity_posts:
        raise ExportError(f"parity needs {parity_posts} dev posts, got {len(examples)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as tmp:
        tmp = Path(tmp)
        folder = tmp / "folder"
        folder.mkdir()
        encoder_path, decoder_path = export_graphs(model, folder)
        gru_nodes = check_graphs(encoder_path, decoder_path)
        write_vocab(folder / SRC_VOCAB_FILE, src_vocab)
        write_vocab(folder / TGT_VOCAB_FILE, tgt_vocab)
        config = {
            "format_version": FORMAT_VERSION,
            "name": name or f"tagsmith-{lang}",
            "version": "unversioned",
            "language": lang,
            "architecture": asdict(model.config),
            "src_vocab_size": len(src_vocab),
            "tgt_vocab_size": len(tgt_vocab),
            "special_ids": {"src": dict(SRC_SPECIALS), "tgt": dict(TGT_SPECIALS)},
            "preprocess_version": int(preprocess_version),
            "opset": OPSET,
            "exporter": {"torch": torch.__version__, "onnx": onnx.__version__, "dynamo": False, "gru_nodes": gru_nodes},
            "graphs": {"fp32": {"encoder": ENCODER_FILE, "decoder": DECODER_FILE}},
            "training": training or {},
            "files": {},
        }
        _write_config(folder, config)
        generator = Generator(folder, providers=["CPUExecutionProvider"], threads=threads)

        parity = parity_check(model, generator, examples[: max(parity_posts, 1)], batch_sizes)
        config["parity"] = parity

        gold = [list(r.get("hashtags") or []) for r in dev_records[:eval_posts]]
        dev = {"fp32": dev_scores(generator, examples[:eval_posts], gold, lang)}
        quantization = {"default": "fp32", "requested": int8}
        if int8:
            int8_paths = quantize_int8(encoder_path, decoder_path, folder)
            check_graphs(*int8_paths)
            config["graphs"]["int8"] = {"encoder": ENCODER_INT8_FILE, "decoder": DECODER_INT8_FILE}
            _write_config(folder, config)
            int8_generator = Generator(folder, providers=["CPUExecutionProvider"], threads=threads, precision="int8")
            dev["int8"] = dev_scores(int8_generator, examples[:eval_posts], gold, lang)
            drop = dev["fp32"]["f1@1"] - dev["int8"]["f1@1"]
            keep = drop < INT8_MAX_F1_DROP
            quantization.update(
                default="int8" if keep else "fp32",
                f1_at_1_drop_points=round(drop, 3),
                max_drop_points=INT8_MAX_F1_DROP,
                decision=f"int8 {'kept' if keep else 'rejected'}: dev F1@1 {dev['fp32']['f1@1']:.2f} -> {dev['int8']['f1@1']:.2f}",
                op_types=["MatMul", "Gather"],
            )
            log.info(quantization["decision"])
        config["quantization"] = quantization
        config["dev_metrics"] = dev
        if full_out is not None:  # every precision, for benchmarks (fp32 vs int8), whatever the size
            full = tmp / "full"
            shutil.copytree(folder, full)
            full_config = json.loads(json.dumps(config))
            full_config["version"] = _content_version(full, full_config)
            _write_config(full, full_config)
            load_model_folder(full)
        _drop_unused_graphs(folder, config, max_folder_mb)
        config["version"] = _content_version(folder, config)
        _write_config(folder, config)
        load_model_folder(folder)  # the runtime's own validation, on exactly what we ship
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        if max_folder_mb and size_mb > max_folder_mb:
            raise ExportError(f"model folder is {size_mb:.1f} MB, over the {max_folder_mb:g} MB limit "
                              "(try --int8, a smaller vocabulary, or --max-mb 0 for no limit)")

        for built, target in ((folder, out), (tmp / "full", full_out)):
            if target is None:
                continue
            target = Path(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                old = tmp / f"old-{target.name}"
                target.rename(old)
                _keep_foreign_files(old, built)
            shutil.move(str(built), str(target))
    return config


EXPORTER_FILES = {CONFIG_FILE, SRC_VOCAB_FILE, TGT_VOCAB_FILE, ENCODER_FILE, DECODER_FILE, ENCODER_INT8_FILE, DECODER_INT8_FILE}


def _keep_foreign_files(old: Path, new: Path) -> None:
    """Files other tools put in the folder (retrieval index, fusion weights...) survive a re-export."""
    for item in old.iterdir():
        if item.name not in EXPORTER_FILES and not (new / item.name).exists():
            shutil.move(str(item), str(new / item.name))


def _drop_unused_graphs(folder: Path, config: dict, max_folder_mb: float) -> None:
    """Ship both precisions when they fit in max_folder_mb, else only the default one."""
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    if size_mb <= max_folder_mb or len(config["graphs"]) == 1:
        return
    for precision in [p for p in config["graphs"] if p != config["quantization"]["default"]]:
        for file in config["graphs"].pop(precision).values():
            (folder / file).unlink()
    # the one precision left takes the plain names: encoder.onnx / decoder.onnx are always there
    for precision, graphs in config["graphs"].items():
        for role, plain in (("encoder", ENCODER_FILE), ("decoder", DECODER_FILE)):
            (folder / graphs[role]).rename(folder / plain)
            graphs[role] = plain
    config["quantization"]["shipped"] = list(config["graphs"])
    log.info("folder %.1f MB > %.0f MB: shipping only %s graphs", size_mb, max_folder_mb, list(config["graphs"]))


def _content_version(folder: Path, config: dict) -> str:
    digest = hashlib.sha256()
    for graphs in config["graphs"].values():
        for file in graphs.values():
            digest.update(sha256_file(folder / file).encode())
    return digest.hexdigest()[:10]


def _write_config(folder: Path, config: dict) -> None:
    config["files"] = {
        f.name: sha256_file(f) for f in sorted(folder.iterdir()) if f.is_file() and f.name != CONFIG_FILE
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- command line --------------------------------------------------------------------------------


def load_checkpoint(path: Path) -> tuple[HashtagGenerator, dict]:
    """ckpt.pt -> (model with the best dev-loss weights, checkpoint dict), as export/train.py writes it."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model = HashtagGenerator(ModelConfig(**checkpoint["config"]))
    model.load_state_dict(checkpoint.get("best_model") or checkpoint["model"])
    return model.eval(), checkpoint


def training_summary(checkpoint: dict, checkpoint_path: Path) -> dict:
    """What config.json records about training: the run's metrics.json (dev metrics, data sizes,
    command) when it sits beside the checkpoint, and the loss history."""
    summary = {"checkpoint": str(checkpoint_path)}
    for key in ("epoch", "step", "best_dev_loss", "train_seconds", "history"):
        if key in checkpoint and _json_safe(checkpoint[key]) is not None:
            summary[key] = checkpoint[key]
    metrics_path = checkpoint_path.parent / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        summary["run"] = metrics.pop("run", None)
        summary["dev_metrics_torch"] = metrics
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.onnx_export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--dev", required=True, type=Path, help="dev JSONL (canonical records)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--lang", choices=["en", "zh"], default=None, help="default: the checkpoint's, else the dev records'")
    parser.add_argument("--name", default=None, help="model name (default tagsmith-LANG)")
    parser.add_argument("--int8", action="store_true", help="also quantize; default only if dev F1@1 holds")
    parser.add_argument("--parity-posts", type=int, default=PARITY_MIN_POSTS)
    parser.add_argument("--eval-posts", type=int, default=1000, help="dev posts scored for the int8 decision")
    parser.add_argument("--max-mb", type=float, default=MAX_FOLDER_MB, help="refuse a bigger folder (0: no limit)")
    parser.add_argument("--full-out", type=Path, default=None,
                        help="also write the folder with every precision here (for benchmarks; may exceed --max-mb)")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads (1 is fastest on a busy machine)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    from export.data import load_records

    model, checkpoint = load_checkpoint(args.checkpoint)
    dev_records = [r for r in load_records(args.dev) if r.get("hashtags")]  # as training scores dev
    lang = args.lang or checkpoint.get("lang") or dev_records[0].get("lang") or "en"
    trained_with = str(checkpoint.get("preprocess_version", ""))
    if trained_with != str(PREPROCESS_VERSION):
        print(f"export refused: the checkpoint was trained with preprocess version {trained_with!r}, "
              f"serving tokenizes with {PREPROCESS_VERSION}", file=sys.stderr)
        return 1
    try:
        config = build_model_folder(
            model, checkpoint["src_vocab"], checkpoint["tgt_vocab"], args.out, dev_records, lang,
            name=args.name,
            training={**training_summary(checkpoint, args.checkpoint),
                      "export_command": "python -m export.onnx_export " + " ".join(sys.argv[1:] if argv is None else argv)},
            int8=args.int8, parity_posts=args.parity_posts, eval_posts=args.eval_posts, max_folder_mb=args.max_mb,
            threads=args.threads, full_out=args.full_out,
        )
    except ExportError as exc:
        print(f"export failed, nothing written: {exc}", file=sys.stderr)
        return 1
    size_mb = sum(f.stat().st_size for f in args.out.iterdir()) / 1e6
    print(json.dumps({
        "out": str(args.out), "model": f"{config['name']}@{config['version']}", "size_mb": round(size_mb, 2),
        "parity_max_abs_log_prob_diff": {
            bs: {"step": v["max_abs_log_prob_diff"], "encoder": v["max_abs_encoder_diff"],
                 "end_to_end_vs_torch_fp32": v["end_to_end_max_abs_log_prob_diff_vs_torch_fp32"],
                 "end_to_end_vs_torch_fp64": v["end_to_end_max_abs_log_prob_diff_vs_torch_fp64"],
                 "torch_fp32_vs_fp64": v["torch_fp32_vs_fp64_max_abs_log_prob_diff"], "top10_identical": v["identical_top_k"]}
            for bs, v in config["parity"]["batch_sizes"].items()},
        "quantization": config["quantization"], "dev_f1@1": {k: v["f1@1"] for k, v in config["dev_metrics"].items()},
    }, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
