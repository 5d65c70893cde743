"""PyTorch eager vs onnxruntime (fp32, int8) on the same checkpoint and the same inputs.

    python -m export.bench_runtime --checkpoint runs/exports/zh-ckpt.pt --model runs/exports/zh-full

One generate call = the encoder once, then the batched beam search (inference/runtime/beam.py, the same
numpy search for every backend) over one-step decoder calls; only the backend that runs the graphs
changes. Inputs: the post+thread payload of the model's language (30-word post, 5 replies;
inference/evaluation/bench_payloads.py, what `tagsmith bench serve` posts), repeated to each batch
size, or --dev posts. Figures are CPU milliseconds per generate call (this process's user+sys time;
with 1 thread that is the compute, and unlike wall time it does not grow when other jobs share the
cores), the median of --repeats calls; beside them the CPU ms inside the encoder/decoder calls alone
("graphs": what the backend changes) and wall ms. Prints one line. `--beam-size`: give the served
folder's `generator_beam_size` (its fusion.json) to measure the width served.

Before a trained model exists, a randomly initialised one of the intended size stands in:

    python -m export.bench_runtime --export-random runs/bench-models/en --lang en \
        --arch '{"emb_dim": 128, "hidden": 256, "enc_layers": 1, "tie_output": true}' --src-vocab 20000 --tgt-vocab 8000

writes the folder (fp32 + int8 graphs, validated by export/onnx_export.py) and its checkpoint
beside it (runs/bench-models/en.ckpt.pt). Its hypotheses rarely end early (eos is one word in
--tgt-vocab), so its beam search runs to the maximum length: slower than a trained model's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import tempfile
from dataclasses import asdict

import torch

from export.model import HashtagGenerator, ModelConfig
from export.onnx_export import build_model_folder, load_checkpoint, record_tokens
from inference.evaluation.bench_payloads import payloads_for
from inference.runtime.beam import TopK
from inference.runtime.generator import Generator
from inference.runtime.model_folder import load_model_folder


def bench_inputs(lang: str, dev: Path | None, n: int) -> list[tuple[list[str], list[str]]]:
    if dev is not None:
        with open(dev, encoding="utf-8") as f:
            records = [json.loads(line) for line, _ in zip(f, range(n))]
        return [record_tokens(r, lang) for r in records]
    payload = payloads_for(lang)["post+thread"]
    return [record_tokens({"post": payload["text"], "thread": payload["thread"], "lang": lang}, lang)] * n


class BackendClock:
    """CPU seconds spent inside the backend's encoder and decoder calls (the rest of a generate
    call, the numpy beam search, is the same code for every backend)."""

    def __init__(self):
        self.seconds = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - start
        return timed


def clocked_ort(generator: Generator) -> BackendClock:
    """Time the generator's onnxruntime calls (instance attributes shadow the methods)."""
    clock = BackendClock()
    generator.encode = clock.wrap(generator.encode)
    generator.decode_candidates = clock.wrap(generator.decode_candidates)
    return clock


class TorchGenerator:
    """The checkpoint in PyTorch eager mode behind the Generator's search (same feeds, same beam; each
    step ranks its rows' best 2 x beam in torch, as the exported decoder does in onnxruntime)."""

    def __init__(self, model, generator: Generator):
        self.model, self.generator = model.eval(), generator
        self.clock = BackendClock()
        self.model.encode = self.clock.wrap(self.model.encode)
        self.model.decode_step_top_k = self.clock.wrap(self.model.decode_step_top_k)

    @torch.no_grad()
    def search(self, batch, n_best: int, beam_size: int):
        feeds = {k: torch.from_numpy(v) for k, v in self.generator.encoder_feeds(batch).items()}
        memory, mask, hidden0 = self.model.encode(feeds["post"], feeds["post_mask"], feeds["conv"], feeds["conv_mask"])
        search = self.generator.beam_search(n_best, beam_size, None, None)
        k = min(2 * search.beam_size, self.model.config.tgt_vocab_size)  # what the exported decoder is asked for

        def step(tokens, element_rows, state):
            rows = torch.from_numpy(element_rows)
            log_probs, ids, hidden = self.model.decode_step_top_k(
                torch.from_numpy(tokens), torch.from_numpy(state[0]), memory.index_select(0, rows), mask.index_select(0, rows), k)
            return TopK(log_probs.numpy(), ids.numpy()), (hidden.numpy(),)

        return search.run(step, init_state=(hidden0.numpy(),), batch_size=len(batch))


def time_calls(fn, repeats: int, clock: BackendClock) -> tuple[float, float, float]:
    """-> (median CPU ms, median wall ms, median backend CPU ms) of `repeats` calls, after a warm-up call."""
    fn()
    cpu, wall, backend = [], [], []
    for _ in range(repeats):
        clock.seconds = 0.0
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
        backend.append(clock.seconds * 1000)
    return statistics.median(cpu), statistics.median(wall), statistics.median(backend)


def export_random(out: Path, lang: str, arch: dict, src_vocab: int, tgt_vocab: int, dev: Path | None) -> Path:
    """A randomly initialised generator of the given size -> model folder `out` (fp32 + int8) and
    its checkpoint `out`.ckpt.pt; returns the checkpoint path."""
    torch.manual_seed(0)
    config = ModelConfig(src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab, **arch)
    model = HashtagGenerator(config).eval()
    src = ["<pad>", "<unk>"] + [f"w{i}" for i in range(src_vocab - 2)]
    tgt = ["<pad>", "<bos>", "<eos>", "<unk>"] + [f"t{i}" for i in range(tgt_vocab - 4)]
    n = 8
    if dev is not None:
        with open(dev, encoding="utf-8") as f:
            records = [json.loads(line) for line, _ in zip(f, range(n))]
    else:
        records = [{"post": "w1 w2 w3", "thread": ["w4 w5"], "hashtags": ["t1"], "lang": lang}] * n
    checkpoint = out.parent / f"{out.name}.ckpt.pt"
    with tempfile.TemporaryDirectory() as tmp:  # the size-capped shipping folder is not needed
        build_model_folder(model, src, tgt, Path(tmp) / "ship", records, lang, name=f"random-{lang}",
                           training={"note": "randomly initialised, for benchmarks only", "checkpoint": str(checkpoint)},
                           int8=True, parity_posts=n, batch_sizes=(1, 7), eval_posts=n, full_out=out)
    torch.save({"config": asdict(config), "model": model.state_dict()}, checkpoint)
    print(f"wrote {out} (fp32 + int8) and {checkpoint}")
    return checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.bench_runtime", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="required unless --export-random")
    parser.add_argument("--model", type=Path, help="the exported folder of that checkpoint (fp32 and/or int8 graphs)")
    parser.add_argument("--dev", type=Path, default=None, help="JSONL records as inputs (default: the bench serve payload)")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--beam-size", type=int, default=None, help="default: the generator's")
    parser.add_argument("--n-best", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--export-random", type=Path, default=None, metavar="OUT", help="write a random model folder instead (see above)")
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="with --export-random")
    parser.add_argument("--arch", default="{}", help="with --export-random: ModelConfig fields as JSON")
    parser.add_argument("--src-vocab", type=int, default=20000, help="with --export-random")
    parser.add_argument("--tgt-vocab", type=int, default=8000, help="with --export-random")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.export_random is not None:
        export_random(args.export_random, args.lang, json.loads(args.arch), args.src_vocab, args.tgt_vocab, args.dev)
        return 0
    if args.checkpoint is None or args.model is None:
        parser.error("--checkpoint and --model are required")
    model, _ = load_checkpoint(args.checkpoint)
    folder = load_model_folder(args.model)
    precisions = [p for p in ("fp32", "int8") if p in folder.config.get("graphs", {})]
    generators = {p: Generator(folder, providers=["CPUExecutionProvider"], threads=args.threads, precision=p) for p in precisions}
    clocks = {p: clocked_ort(g) for p, g in generators.items()}
    reference = generators.get("fp32") or next(iter(generators.values()))
    eager = TorchGenerator(model, reference)
    beam = args.beam_size or reference.beam_size
    lang = folder.language

    cells = []
    for size in (int(b) for b in args.batch_sizes.split(",")):
        batch = bench_inputs(lang, args.dev, size)
        torch_hyps = eager.search(batch, args.n_best, beam)
        t_cpu, t_wall, t_model = time_calls(lambda: eager.search(batch, args.n_best, beam), args.repeats, eager.clock)
        cell = f"batch {size}: torch eager {t_cpu:.1f} ms (graphs {t_model:.1f}, wall {t_wall:.1f})"
        for precision, generator in generators.items():
            hyps = generator.search_ids(batch, args.n_best, beam)
            same = sum([h.tokens for h in a] == [h.tokens for h in b] for a, b in zip(torch_hyps, hyps))
            o_cpu, o_wall, o_model = time_calls(lambda: generator.search_ids(batch, args.n_best, beam), args.repeats, clocks[precision])
            cell += (f", ort {precision} {o_cpu:.1f} ms (graphs {o_model:.1f}, wall {o_wall:.1f}; eager/ort {t_cpu / o_cpu:.2f}x, "
                     f"graphs alone {t_model / o_model:.2f}x; top-{args.n_best} = torch's {same}/{size})")
        cells.append(cell)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{folder.model_id} ({lang}), CPU ms per generate call (median of {args.repeats}), beam {beam}, top-{args.n_best}, "
          f"{args.threads} thread(s), load avg {load:.1f}: " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
