"""onnxruntime execution providers and session options.

`onnxruntime-gpu` lists CUDAExecutionProvider whether or not CUDA can run here, then logs a red
error the first time a session asks for it. So we *probe*: build a one-node session on CUDA with
onnxruntime's logging silenced, run it, and keep CUDA only if it really ran on CUDA.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from pathlib import Path

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

# y = x + x on float[1], opset 17 (onnx.helper.make_model(...).SerializeToString()): a serving
# install has no `onnx` package to build it with, and 69 bytes do not deserve a file.
_PROBE_MODEL = (
    b'\x08\x08\x12\x00:9\n\x0e\n\x01x\n\x01x\x12\x01y"\x03Add\x12\x05probeZ\x0f\n\x01x\x12\n\n'
    b"\x08\x08\x01\x12\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04\n\x02\x08\x01"
    b"B\x04\n\x00\x10\x11"
)

_ORT_DEFAULT_LOG_SEVERITY = 2  # warning; onnxruntime has no getter for the default logger's level
_ORT_QUIET = 4  # fatal only


def _cuda_runs() -> bool:
    """True when a session on CUDA can be created and run; prints nothing either way."""
    if CUDA not in ort.get_available_providers():
        return False
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    ort.set_default_logger_severity(_ORT_QUIET)  # provider-library load errors go to the default logger
    try:
        options = ort.SessionOptions()
        options.log_severity_level = _ORT_QUIET
        session = ort.InferenceSession(_PROBE_MODEL, options, providers=[CUDA, CPU])
        if CUDA not in session.get_providers():
            return False
        (y,) = session.run(None, {"x": np.ones(1, np.float32)})
        return bool(y[0] == 2.0)
    except Exception:  # any failure to start CUDA just means "no usable GPU"
        return False
    finally:
        ort.set_default_logger_severity(_ORT_DEFAULT_LOG_SEVERITY)


@functools.lru_cache(maxsize=1)
def probe_providers() -> tuple[str, ...]:
    """Providers to use on this machine, best first: CUDA where it really runs, then CPU."""
    return (CUDA, CPU) if _cuda_runs() else (CPU,)


def choose_providers(requested: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """`requested` as given (checked against what this onnxruntime build knows), or the probed set.

    The env var TAGSMITH_PROVIDERS (comma-separated, e.g. "CPUExecutionProvider") overrides the probe.
    """
    if requested is None and os.environ.get("TAGSMITH_PROVIDERS"):
        requested = [p.strip() for p in os.environ["TAGSMITH_PROVIDERS"].split(",") if p.strip()]
    if requested is None:
        return list(probe_providers())
    known = set(ort.get_available_providers())
    unknown = [p for p in requested if p not in known]
    if unknown:
        raise ValueError(f"unknown onnxruntime provider(s) {unknown}; this build has {sorted(known)}")
    if CUDA in requested and CUDA not in probe_providers():
        log.warning("CUDAExecutionProvider requested but CUDA does not run here; using the CPU")
        requested = [p for p in requested if p != CUDA] or [CPU]
    return list(requested)


# CPU flags with which onnxruntime's u8s8 kernels sum uint8 x int8 products exactly (VPDPBUSD into int32);
# without them, x86 kernels add pairs of products in int16 (VPMADDUBSW), which saturates at 8-bit weights
_EXACT_INT8_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_exact() -> bool:
    """True where an int8 graph with full 8-bit weights computes what export measured: an x86-64 CPU with
    VNNI (`cpu_sums_int8_exactly`). TAGSMITH_INT8=0 turns int8 graphs off, =1 on whatever the CPU."""
    forced = os.environ.get("TAGSMITH_INT8", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return platform.machine().lower() in ("x86_64", "amd64") and cpu_sums_int8_exactly()


@functools.lru_cache(maxsize=4)
def cpu_sums_int8_exactly(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """The CPU's flags (Linux's cpuinfo) name one of _EXACT_INT8_FLAGS; False where they cannot be read."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return bool(_EXACT_INT8_FLAGS & set(flags))


def session_options(intra_op_threads: int = 0, inter_op_threads: int = 0) -> ort.SessionOptions:
    """Session options; 0 threads means onnxruntime's default (one per physical core). Pool threads
    never spin waiting for work: on shared cores a spinning thread takes CPU from the service's own."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: onnxruntime warns about unused initializers etc.
    return options


def create_session(
    model: str | bytes | os.PathLike,
    providers: list[str] | tuple[str, ...] | None = None,
    intra_op_threads: int = 0,
    inter_op_threads: int = 0,
) -> ort.InferenceSession:
    """One onnxruntime session on the chosen providers."""
    chosen = choose_providers(providers)
    model = os.fspath(model) if isinstance(model, os.PathLike) else model
    return ort.InferenceSession(model, session_options(intra_op_threads, inter_op_threads), providers=chosen)
