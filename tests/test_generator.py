"""The torch-free runtime: model folder validation, provider probing, and the Generator."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
from pathlib import Path

import pytest

from inference.runtime.model_folder import FORMAT_VERSION, InvalidModelFolder, load_model_folder, sha256_file, write_vocab
from inference.text.preprocess import PREPROCESS_VERSION

ROOT = Path(__file__).resolve().parents[1]
SRC_VOCAB = ["<pad>", "<unk>"] + [f"w{i}" for i in range(40)]
TGT_VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>"] + [f"w{i}" for i in range(20)]


# -- model folder validation (no onnx needed: the loader checks files and config only) ---------------


def write_folder(path: Path) -> dict:
    """A folder that passes validation, with placeholder graph files."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "encoder.onnx").write_bytes(b"encoder")
    (path / "decoder.onnx").write_bytes(b"decoder")
    write_vocab(path / "src_vocab.txt", SRC_VOCAB)
    write_vocab(path / "tgt_vocab.txt", TGT_VOCAB)
    config = {
        "format_version": FORMAT_VERSION, "name": "tagsmith-en", "version": "abc", "language": "en",
        "architecture": {"src_vocab_size": len(SRC_VOCAB), "tgt_vocab_size": len(TGT_VOCAB), "hidden": 8,
                         "max_post_len": 64, "max_conv_len": 100, "max_tag_len": 10},
        "src_vocab_size": len(SRC_VOCAB), "tgt_vocab_size": len(TGT_VOCAB),
        "special_ids": {"src": {"pad": 0, "unk": 1}, "tgt": {"pad": 0, "bos": 1, "eos": 2, "unk": 3}},
        "preprocess_version": PREPROCESS_VERSION, "opset": 17,
        "graphs": {"fp32": {"encoder": "encoder.onnx", "decoder": "decoder.onnx"}},
        "quantization": {"default": "fp32"},
        "files": {},
    }
    save_config(path, config)
    return config


def save_config(path: Path, config: dict) -> None:
    config["files"] = {f.name: sha256_file(f) for f in sorted(path.iterdir()) if f.name != "config.json"}
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_valid_folder_loads(tmp_path):
    write_folder(tmp_path)
    folder = load_model_folder(tmp_path)
    assert folder.model_id == "tagsmith-en@abc"
    assert folder.src_vocab == SRC_VOCAB and folder.src_index["w3"] == 5
    assert folder.graph_paths("fp32") == (tmp_path / "encoder.onnx", tmp_path / "decoder.onnx")


def _remove_file(path, config):
    (path / "decoder.onnx").unlink()


def _bad_json(path, config):
    (path / "config.json").write_text("{not json", encoding="utf-8")


def _drop_key(path, config):
    del config["tgt_vocab_size"]
    save_config(path, config)


def _wrong_type(path, config):
    config["opset"] = "17"
    save_config(path, config)


def _future_format(path, config):
    config["format_version"] = 99
    save_config(path, config)


def _stale_preprocessing(path, config):
    config["preprocess_version"] = PREPROCESS_VERSION + 1
    save_config(path, config)


def _edited_graph(path, config):
    (path / "encoder.onnx").write_bytes(b"tampered")


def _vocab_size(path, config):
    write_vocab(path / "tgt_vocab.txt", TGT_VOCAB[:-1])
    save_config(path, config)


def _special_ids(path, config):
    config["special_ids"]["tgt"]["eos"] = 5
    save_config(path, config)


def _missing_int8(path, config):
    config["quantization"]["default"] = "int8"
    save_config(path, config)


@pytest.mark.parametrize(
    "break_it, message",
    [
        (_remove_file, "lacks decoder.onnx"),
        (_bad_json, "not valid JSON"),
        (_drop_key, "lacks required keys: tgt_vocab_size"),
        (_wrong_type, "'opset' must be a int"),
        (_future_format, "format_version 99 is not supported"),
        (_stale_preprocessing, "preprocess_version"),
        (_edited_graph, "checksum mismatch for encoder.onnx"),
        (_vocab_size, "tgt vocabulary sizes disagree"),
        (_special_ids, "special_ids['tgt']"),
        (_missing_int8, "default precision 'int8' has no graphs"),
    ],
)
def test_broken_folder_raises_invalid_model_folder_saying_what_is_wrong(tmp_path, break_it, message):
    config = write_folder(tmp_path)
    break_it(tmp_path, config)
    with pytest.raises(InvalidModelFolder) as excinfo:
        load_model_folder(tmp_path)
    assert message in str(excinfo.value)


def test_missing_folder_raises_invalid_model_folder(tmp_path):
    with pytest.raises(InvalidModelFolder, match="does not exist"):
        load_model_folder(tmp_path / "nowhere")


# -- providers -------------------------------------------------------------------------------------


def test_provider_probe_prints_nothing_and_always_offers_the_cpu():
    code = "from inference.runtime.providers import probe_providers; print(','.join(probe_providers()))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip().split(",")[-1] == "CPUExecutionProvider"


def test_unknown_provider_is_refused():
    from inference.runtime.providers import choose_providers

    with pytest.raises(ValueError, match="unknown onnxruntime provider"):
        choose_providers(["NoSuchExecutionProvider"])


# -- the generator on a tiny exported model ----------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from export.model import HashtagGenerator, ModelConfig
    from export.onnx_export import build_model_folder

    torch.manual_seed(1)
    torch.set_num_threads(1)
    model = HashtagGenerator(ModelConfig(len(SRC_VOCAB), len(TGT_VOCAB), emb_dim=16, hidden=16, enc_layers=1,
                                         max_post_len=6, max_conv_len=9, max_tag_len=6))
    with torch.no_grad():  # make <eos> likely so that short hashtags finish inside max_tag_len
        model.output.bias[2] += 2.0
    rng = random.Random(0)
    words = SRC_VOCAB[2:]
    records = [{"post": " ".join(rng.choices(words, k=rng.randint(1, 8))), "thread": [" ".join(rng.choices(words, k=3))],
                "hashtags": ["w1"], "lang": "en"} for _ in range(8)]
    out = tmp_path_factory.mktemp("gen") / "en"
    build_model_folder(model, SRC_VOCAB, TGT_VOCAB, out, records, "en", parity_posts=8, batch_sizes=(8,), eval_posts=8)
    return out


@pytest.fixture(scope="module")
def generator(model_dir):
    from inference.runtime.generator import Generator

    return Generator(model_dir, threads=1)


def test_generate_returns_distinct_tags_best_first(generator):
    (tags,) = generator.generate([(["w1", "w2", "w3"], ["w4"])], n_best=5, beam_size=8)
    assert 0 < len(tags) <= 5
    words = [w for w, _ in tags]
    assert len(set(words)) == len(words)
    assert all(w and "<" not in w for w in words)  # no <unk>, <pad>, <bos>, empty tags
    scores = [s for _, s in tags]
    assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)


def test_batched_generation_equals_one_post_at_a_time(generator):
    batch = [(["w1", "w2"], []), (["w5"] * 10, ["w6", "w7"] * 8), (["w9", "oov"], ["w3"])]
    together = generator.generate(batch, n_best=5, beam_size=6)
    alone = [generator.generate([item], n_best=5, beam_size=6)[0] for item in batch]
    for a, b in zip(together, alone):
        assert [w for w, _ in a] == [w for w, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)


def test_a_batch_over_the_search_limit_is_searched_in_chunks_with_the_same_results(generator):
    from inference.runtime.generator import MAX_SEARCH_BATCH

    batch = [([f"w{i % 9 + 1}", "w2"], [f"w{i % 5 + 3}"]) for i in range(MAX_SEARCH_BATCH * 2 + 3)]
    together = generator.generate(batch, n_best=5, beam_size=6)
    alone = [generator.generate([item], n_best=5, beam_size=6)[0] for item in batch]
    assert len(together) == len(batch)
    for a, b in zip(together, alone):
        assert [w for w, _ in a] == [w for w, _ in b]


def test_empty_post_and_thread_are_served(generator):
    results = generator.generate([([], []), (["oov", "unseen"], [])], n_best=3)
    assert len(results) == 2 and all(isinstance(tags, list) for tags in results)
    assert generator.generate([], n_best=3) == []


def test_inputs_are_truncated_and_unknown_words_map_to_unk(generator):
    feeds = generator.encoder_feeds([(["w1"] * 50 + ["never-seen"], ["w2"] * 50), (["never-seen"], [])])
    assert feeds["post"].shape == (2, 6) and feeds["conv"].shape == (2, 9)
    assert feeds["post"][1, 0] == 1 and feeds["post_mask"][1].tolist() == [True] + [False] * 5
    assert not feeds["conv_mask"][1].any()


def test_length_penalty_is_configurable(generator):
    plain = generator.generate([(["w1", "w2"], [])], n_best=5, length_penalty=0.0)[0]
    normalised = generator.generate([(["w1", "w2"], [])], n_best=5, length_penalty=1.0)[0]
    by_words = dict(plain)
    for words, score in normalised:
        if words in by_words:  # score = log-prob / (words + eos)
            assert score == pytest.approx(by_words[words] / (len(words.split()) + 1), abs=1e-5)


def test_generator_logs_its_providers_and_honours_thread_counts(model_dir, caplog):
    from inference.runtime.generator import Generator

    with caplog.at_level(logging.INFO, logger="inference.runtime.generator"):
        gen = Generator(model_dir, providers=["CPUExecutionProvider"], threads=1, inter_op_threads=1)
    assert "CPUExecutionProvider" in caplog.text and gen.folder.model_id in caplog.text
    options = gen.decoder.get_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1


def test_the_folder_fusion_sets_the_generator_beam_and_a_bad_one_is_refused(model_dir, tmp_path):
    import json
    import shutil

    from export.folder_manifest import write_manifest
    from inference.runtime.language_model import LanguageModel

    folder = tmp_path / "en"
    shutil.copytree(model_dir, folder)
    fusion = {"weights": {"generator": 1.0}, "generator_beam_size": 3}
    (folder / "fusion.json").write_text(json.dumps(fusion))
    write_manifest(folder)  # a file added after export: the folder's manifest names it
    assert LanguageModel.load(folder, threads=1).open_generator().beam_size == 3
    (folder / "fusion.json").write_text(json.dumps({**fusion, "generator_beam_size": "wide"}))
    write_manifest(folder)
    with pytest.raises(ValueError, match="generator_beam_size"):
        LanguageModel.load(folder, threads=1)
