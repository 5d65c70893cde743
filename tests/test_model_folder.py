"""The model-folder contract: manifest.json versions and checksums every file of a language or image folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from export.folder_manifest import write_manifest
from inference.runtime.image_folder import load_image_folder
from inference.runtime.image_preprocess import ImageLimits, ImageTooLarge, preprocess
from inference.runtime.model_folder import (FORMAT_VERSION, MANIFEST_FILE, InvalidModelFolder, folder_files,
                                            load_model_folder, sha256_file, verify_folder, write_vocab)
from inference.runtime.rerank import Reranker
from inference.runtime.retrieval import TagLexicon
from inference.text.preprocess import PREPROCESS_VERSION

MODELS = Path(__file__).resolve().parents[1] / "inference" / "models"
SRC_VOCAB = ["<pad>", "<unk>", "a", "b"]
TGT_VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>", "x"]


def language_folder(path: Path) -> Path:
    """A language folder with placeholder graphs (the contract reads files, not graphs) and a manifest."""
    path.mkdir(parents=True)
    (path / "encoder.onnx").write_bytes(b"encoder")
    (path / "decoder.onnx").write_bytes(b"decoder")
    write_vocab(path / "src_vocab.txt", SRC_VOCAB)
    write_vocab(path / "tgt_vocab.txt", TGT_VOCAB)
    (path / "fusion.json").write_text(json.dumps({"weights": {"generator": 1.0}}))
    (path / "tags.json").write_text(json.dumps({"x": 3}))
    config = {
        "format_version": FORMAT_VERSION, "name": "tagsmith-en", "version": "abc", "language": "en",
        "architecture": {"src_vocab_size": 4, "tgt_vocab_size": 5, "max_post_len": 7, "max_conv_len": 9, "max_tag_len": 3},
        "src_vocab_size": 4, "tgt_vocab_size": 5,
        "special_ids": {"src": {"pad": 0, "unk": 1}, "tgt": {"pad": 0, "bos": 1, "eos": 2, "unk": 3}},
        "preprocess_version": PREPROCESS_VERSION, "opset": 17,
        "files": {name: sha256_file(path / name) for name in ("encoder.onnx", "decoder.onnx", "src_vocab.txt", "tgt_vocab.txt")},
    }
    (path / "config.json").write_text(json.dumps(config))
    write_manifest(path)
    return path


def rewrite_json(file: Path, **changes) -> None:
    file.write_text(json.dumps({**json.loads(file.read_text()), **changes}))


def test_the_shipped_folders_validate_against_their_manifests():
    for lang in ("en", "zh"):
        folder = load_model_folder(MODELS / lang)
        assert verify_folder(MODELS / lang) == folder.config["format_version"] == FORMAT_VERSION
        assert set(json.loads((MODELS / lang / MANIFEST_FILE).read_text())["files"]) == set(folder_files(MODELS / lang))
        assert {"fusion.json", "rerank.json", "retrieval.json", "retrieval.npz", "tags.json", "config.json"} <= set(folder_files(MODELS / lang))
    assert load_model_folder(MODELS / "en").max_conv_len == 100  # the exporter's limit, read from config.json
    image = load_image_folder(MODELS / "image")
    assert image.format_version == 4 and image.limits == ImageLimits(10 * 1024 * 1024, 50_000_000, 256)
    assert set(json.loads((MODELS / "image" / MANIFEST_FILE).read_text())["files"]) == {"image.json", "tagger.onnx", "knn.npz"}


def test_write_manifest_records_the_format_and_every_files_sha256(tmp_path):
    folder = language_folder(tmp_path / "en")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["files"] == {name: sha256_file(folder / name) for name in folder_files(folder)}
    assert "config.json" in manifest["files"] and MANIFEST_FILE not in manifest["files"]
    assert load_model_folder(folder).max_tag_len == 3


@pytest.mark.parametrize("name", ["fusion.json", "tags.json", "config.json", "decoder.onnx"])
def test_a_corrupted_file_is_refused_naming_it(tmp_path, name):
    folder = language_folder(tmp_path / "en")
    with open(folder / name, "ab") as f:
        f.write(b" ")
    with pytest.raises(InvalidModelFolder, match=f"checksum mismatch for {name}"):
        load_model_folder(folder)


def test_every_loader_of_a_folder_checks_its_manifest(tmp_path):
    folder = language_folder(tmp_path / "en")
    assert TagLexicon.load(folder).counts == {"x": 3}
    (folder / "tags.json").write_text(json.dumps({"x": 4}))
    with pytest.raises(InvalidModelFolder, match="checksum mismatch for tags.json"):
        TagLexicon.load(folder)
    (folder / "rerank.json").write_text("{}")
    with pytest.raises(InvalidModelFolder, match="rerank.json not in manifest.json"):
        Reranker.load(folder)


def test_a_file_without_a_manifest_entry_is_refused(tmp_path):
    folder = language_folder(tmp_path / "en")
    (folder / "rerank.json").write_text("{}")
    with pytest.raises(InvalidModelFolder, match="rerank.json not in manifest.json"):
        load_model_folder(folder)
    write_manifest(folder)  # what a tool that adds a file does last
    load_model_folder(folder)


def test_a_listed_file_that_is_missing_is_refused(tmp_path):
    folder = language_folder(tmp_path / "en")
    (folder / "tags.json").unlink()
    with pytest.raises(InvalidModelFolder, match="manifest.json lists tags.json but the file is missing"):
        load_model_folder(folder)


def test_a_too_new_format_is_refused_saying_so(tmp_path):
    folder = language_folder(tmp_path / "en")
    rewrite_json(folder / MANIFEST_FILE, format_version=FORMAT_VERSION + 1)
    with pytest.raises(InvalidModelFolder, match="newer tagsmith"):
        load_model_folder(folder)
    rewrite_json(folder / "config.json", format_version=FORMAT_VERSION + 1)
    write_manifest(folder)
    with pytest.raises(InvalidModelFolder, match=f"format_version {FORMAT_VERSION + 1} is not supported"):
        load_model_folder(folder)


def test_format_1_folders_are_re_exported(tmp_path):
    folder = language_folder(tmp_path / "en")
    rewrite_json(folder / "config.json", format_version=1)
    write_manifest(folder)
    with pytest.raises(InvalidModelFolder, match="format_version 1 is not supported .*re-export"):
        load_model_folder(folder)


def test_the_exporters_limits_are_required(tmp_path):
    folder = language_folder(tmp_path / "en")
    config = json.loads((folder / "config.json").read_text())
    del config["architecture"]["max_conv_len"]
    (folder / "config.json").write_text(json.dumps(config))
    write_manifest(folder)
    with pytest.raises(InvalidModelFolder, match="'max_conv_len' must be a whole number"):
        load_model_folder(folder)


@pytest.fixture()
def image_folder(tmp_path) -> Path:
    return Path(shutil.copytree(MODELS / "image", tmp_path / "image"))


def test_the_image_folder_goes_through_the_same_contract(image_folder):
    with open(image_folder / "knn.npz", "ab") as f:
        f.write(b"\0")
    with pytest.raises(InvalidModelFolder, match="checksum mismatch for knn.npz"):
        load_image_folder(image_folder)
    write_manifest(image_folder)
    rewrite_json(image_folder / MANIFEST_FILE, format_version=3)
    with pytest.raises(InvalidModelFolder, match="manifest.json says format_version 3, image.json says 4"):
        load_image_folder(image_folder)
    with open(image_folder / "knn.npz", "ab") as f:
        f.write(b"\0")
    (image_folder / MANIFEST_FILE).unlink()  # without a manifest: image.json's own sha256s
    with pytest.raises(InvalidModelFolder, match="image.json says"):
        load_image_folder(image_folder)


def test_image_json_is_validated_with_named_errors_and_its_limits_are_read(image_folder):
    config = json.loads((image_folder / "image.json").read_text())
    for change, message in (({"format_version": 5}, "format_version 5 is not supported"),
                            ({"input": {**config["input"], "resize": "zoom"}}, "input.resize 'zoom'"),
                            ({"tag_scale": [1.0]}, "tag_scale must hold"),
                            ({"input": {**config["input"], "max_bytes": 10**9}}, "input.max_bytes")):
        (image_folder / "image.json").write_text(json.dumps({**config, **change}))
        write_manifest(image_folder)
        with pytest.raises(InvalidModelFolder, match=message):
            load_image_folder(image_folder)
    (image_folder / "image.json").write_text(json.dumps({**config, "input": {**config["input"], "max_bytes": 100}}))
    write_manifest(image_folder)
    folder = load_image_folder(image_folder)
    assert folder.limits.max_bytes == 100
    with pytest.raises(ImageTooLarge, match="at most 100 allowed"):
        preprocess(b"\xff" * 101, folder.norm, folder.resize, folder.size, folder.limits)
