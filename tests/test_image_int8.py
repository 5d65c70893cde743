"""An image folder's int8 graph (`python -m export.image_quant`): opened only where its int8 products are
exact, validated like the float graph, and agreeing with it on test-made photos. The shipped folder has
none (docs/results.md: it cost Corel dev F1); the tests quantize a copy of it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from export.folder_manifest import write_manifest
from export.image_quant import add_int8_graph, quantize
from inference.runtime import providers
from inference.runtime.image_folder import load_image_folder
from inference.runtime.image_tagger import ImageTagger
from inference.runtime.model_folder import InvalidModelFolder
from inference.runtime.providers import CPU, CUDA

SHIPPED = Path(__file__).resolve().parents[1] / "inference" / "models" / "image"


@pytest.fixture
def cpuinfo(tmp_path):
    def write(flags: str) -> str:
        path = tmp_path / f"cpuinfo-{len(flags)}"
        path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
        return str(path)

    return write


def test_vnni_in_the_cpu_flags_means_exact_int8_sums(cpuinfo):
    assert providers.cpu_sums_int8_exactly(cpuinfo("fpu sse avx2 avx512f avx512_vnni"))
    assert providers.cpu_sums_int8_exactly(cpuinfo("fpu avx2 avx_vnni"))
    assert not providers.cpu_sums_int8_exactly(cpuinfo("fpu sse avx2 fma avx512f avx512bw"))
    assert not providers.cpu_sums_int8_exactly("/nonexistent/cpuinfo")


def test_tagsmith_int8_forces_the_choice_either_way(monkeypatch):
    monkeypatch.setenv("TAGSMITH_INT8", "0")
    assert not providers.int8_exact()
    monkeypatch.setenv("TAGSMITH_INT8", "1")
    assert providers.int8_exact()


def scene(seed: int) -> bytes:
    """A test-made photo: sky, ground and a few shapes."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (320, 240), tuple(int(c) for c in rng.integers(60, 220, 3)))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 150, 320, 240), fill=tuple(int(c) for c in rng.integers(0, 160, 3)))
    for _ in range(4):
        x, y = (int(v) for v in rng.integers(0, 260, 2))
        draw.ellipse((x, y % 200, x + 60, y % 200 + 40), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A copy of the shipped folder with an int8 graph quantized here (ranges from 6 test-made photos)."""
    pytest.importorskip("onnx")
    folder = tmp_path_factory.mktemp("int8") / "image"
    shutil.copytree(SHIPPED, folder)
    tagger = ImageTagger(folder, providers=[CPU])
    graph = folder.parent / "candidate.onnx"
    quantize(tagger.spec.graph_path, graph, [tagger.preprocess(scene(100 + i)) for i in range(6)], "minmax")
    add_int8_graph(folder, graph, {"calibration": {"photos": 6, "method": "minmax", "source": "tests"}})
    return folder


def int8_folder(tmp_path: Path, built: Path) -> Path:
    folder = tmp_path / "image"
    shutil.copytree(built, folder)
    return folder


def test_the_int8_graph_is_opened_on_an_exact_cpu_and_the_float_one_elsewhere(tmp_path, built, monkeypatch):
    spec = load_image_folder(int8_folder(tmp_path, built))
    monkeypatch.setenv("TAGSMITH_INT8", "1")
    assert spec.graph_for([CPU]).name == "tagger.int8.onnx"
    assert spec.graph_for([CUDA, CPU]).name == "tagger.onnx"  # a GPU runs the float graph
    monkeypatch.setenv("TAGSMITH_INT8", "0")
    assert spec.graph_for([CPU]).name == "tagger.onnx"


def test_a_changed_or_missing_int8_graph_fails_at_load(tmp_path, built):
    folder = int8_folder(tmp_path, built)
    with open(folder / "tagger.int8.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(InvalidModelFolder, match="tagger.int8.onnx"):
        load_image_folder(folder)
    (folder / "tagger.int8.onnx").unlink()
    write_manifest(folder)
    with pytest.raises(InvalidModelFolder, match="tagger.int8.onnx"):
        load_image_folder(folder)


def test_a_folder_without_an_int8_graph_opens_its_float_graph(tmp_path, built, monkeypatch):
    folder = int8_folder(tmp_path, built)
    config = json.loads((folder / "image.json").read_text())
    del config["int8"]
    config["sha256"].pop("tagger.int8.onnx")
    (folder / "image.json").write_text(json.dumps(config))
    (folder / "tagger.int8.onnx").unlink()
    write_manifest(folder)
    monkeypatch.setenv("TAGSMITH_INT8", "1")
    assert load_image_folder(folder).graph_for([CPU]).name == "tagger.onnx"


def test_the_int8_graph_agrees_with_the_float_graph_on_test_made_photos(tmp_path, built, monkeypatch):
    if not providers.cpu_sums_int8_exactly():
        pytest.skip("this CPU's int8 sums are not exact (no VNNI): the service runs the float graph here")
    monkeypatch.setenv("TAGSMITH_INT8", "1")
    folder = int8_folder(tmp_path, built)
    quantized = ImageTagger(folder, providers=[CPU])
    reference = ImageTagger(folder, providers=[CPU])
    reference.use_graph(reference.spec.graph_path, [CPU])
    assert (quantized.graph_name, reference.graph_name) == ("tagger.int8.onnx", "tagger.onnx")
    pixels = [reference.preprocess(scene(i)) for i in range(8)]
    a, b = reference.run(pixels)["features"], quantized.run(pixels)["features"]
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.9 and cosine.mean() > 0.95
