"""ONNX export of a tiny randomly initialised generator: parity with PyTorch, the GRU trap, the folder."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from export import onnx_export  # noqa: E402
from export.folder_manifest import write_manifest  # noqa: E402
from export.model import HashtagGenerator, ModelConfig  # noqa: E402
from inference.runtime.generator import Generator  # noqa: E402
from inference.runtime.model_folder import InvalidModelFolder, load_model_folder  # noqa: E402

WORDS = [f"w{i}" for i in range(60)]
SRC_VOCAB = ["<pad>", "<unk>"] + WORDS
TGT_VOCAB = ["<pad>", "<bos>", "<eos>", "<unk>"] + WORDS[:30]
PARITY_POSTS = 24


def tiny_model(seed: int = 0, variant: str = "full", **overrides) -> HashtagGenerator:
    torch.manual_seed(seed)
    config = ModelConfig(len(SRC_VOCAB), len(TGT_VOCAB), **{
        "emb_dim": 16, "hidden": 24, "enc_layers": 2, "variant": variant, "max_post_len": 12, "max_conv_len": 20,
        "max_tag_len": 4, **overrides})
    return HashtagGenerator(config).eval()


def dev_records(n: int, seed: int = 0) -> list[dict]:
    """Posts of 0-15 words (some unknown, some over max_post_len), threads of 0-3 messages."""
    rng = random.Random(seed)

    def text(lo, hi):
        return " ".join(rng.choice(WORDS + ["oov"]) for _ in range(rng.randint(lo, hi)))

    return [{"post": text(0, 15), "thread": [text(1, 8) for _ in range(rng.randint(0, 3))],
             "hashtags": [rng.choice(WORDS[:30])], "lang": "en"} for _ in range(n)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    model = tiny_model()
    out = tmp_path_factory.mktemp("export") / "en"
    config = onnx_export.build_model_folder(model, SRC_VOCAB, TGT_VOCAB, out, dev_records(PARITY_POSTS), "en",
                                            training={"note": "test"}, int8=True, parity_posts=PARITY_POSTS,
                                            eval_posts=PARITY_POSTS)
    return model, out, config


def test_exported_folder_matches_pytorch_at_every_batch_size(exported):
    _, _, config = exported
    parity = config["parity"]
    assert set(parity["batch_sizes"]) == {"1", "7", "32"}
    for figures in parity["batch_sizes"].values():
        assert figures["max_abs_log_prob_diff"] <= 1e-4
        assert figures["different_top_k"] == 0
        assert figures["identical_top_k"] + figures["tied_top_k"] == PARITY_POSTS


def test_generator_reproduces_the_pytorch_beam_search_used_in_training(exported):
    from export.data import Vocab, tokenize_records
    from export.model import SRC_UNK, UNK
    from export.train import predict

    model, out, _ = exported
    records = dev_records(10, seed=1)
    torch_tags = predict(model, tokenize_records(records), Vocab(SRC_VOCAB, SRC_UNK), Vocab(TGT_VOCAB, UNK),
                         beam_size=10, n_best=10)
    generator = Generator(out, precision="fp32", threads=1)
    batch = [onnx_export.record_tokens(r, "en") for r in records]
    ort_tags = [[words for words, _ in tags] for tags in generator.generate(batch, n_best=10, beam_size=10)]
    assert ort_tags == torch_tags


def test_generated_scores_match_pytorch_log_probs(exported):
    model, out, _ = exported
    generator = Generator(out, precision="fp32", threads=1)
    post, conv = ["w1", "w2", "w3"], ["w4", "oov"]
    (tags,) = generator.generate([(post, conv)], n_best=3, beam_size=20, max_len=8)
    words, score = tags[0]
    ids = [TGT_VOCAB.index(w) for w in words.split()] + [2]  # + <eos>
    feeds = generator.encoder_feeds([(post, conv)])
    with torch.no_grad():
        memory, mask, hidden = model.encode(*(torch.from_numpy(feeds[k]) for k in ("post", "post_mask", "conv", "conv_mask")))
        total, prev = 0.0, 1
        for token in ids:
            log_probs, hidden = model.decode_step(torch.tensor([prev]), hidden, memory, mask)
            total, prev = total + float(log_probs[0, token]), token
    assert score == pytest.approx(total, abs=1e-4)


def test_every_gru_node_has_linear_before_reset(exported):
    _, out, config = exported
    grus = [n for n in onnx.load(str(out / "encoder.onnx")).graph.node if n.op_type == "GRU"]
    assert grus, "the encoder should keep nn.GRU as ONNX GRU nodes"
    for node in grus:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["linear_before_reset"] == 1
    assert config["exporter"]["dynamo"] is False and config["opset"] == 17


def test_decoder_step_writes_its_gru_cell_as_matmuls_that_int8_covers(exported):
    _, out, config = exported
    decoder = onnx.load(str(out / "decoder.onnx"))
    assert not [n for n in decoder.graph.node if n.op_type == "GRU"]
    assert [i.name for i in decoder.graph.input][:2] == ["prev_word", "element_rows"]
    if "decoder.int8.onnx" in {p.name for p in out.iterdir()}:
        quantized = {n.op_type for n in onnx.load(str(out / "decoder.int8.onnx")).graph.node}
        assert quantized & {"DynamicQuantizeMatMul", "MatMulInteger"}


def test_decoder_ranks_each_row_itself_and_returns_k_best_as_asked(exported):
    _, out, _ = exported
    decoder = onnx.load(str(out / "decoder.onnx"))
    assert [i.name for i in decoder.graph.input][-1] == "k"
    assert [o.name for o in decoder.graph.output] == ["top_log_probs", "top_ids", "new_hidden"]
    generator = Generator(out, precision="fp32", threads=1)
    memory, mask, hidden = generator.encode(generator.encoder_feeds([(["w1", "w2"], ["w3"])]))
    rows, tokens = np.array([0]), np.array([1, 1])
    full, _ = generator.decode_step(tokens, rows, np.repeat(hidden, 2, axis=1), memory, mask)
    top, _ = generator.decode_candidates(tokens, rows, np.repeat(hidden, 2, axis=1), memory, mask, k=5)
    assert top.ids.shape == (2, 5)
    assert np.array_equal(top.log_probs, -np.sort(-full, axis=1)[:, :5])
    assert np.allclose(np.exp(full).sum(1), 1.0, atol=1e-5)


class WholeLogSoftmaxDecoder(torch.nn.Module):
    """The decoder graph folders had before the in-graph top-k: log_probs [N,V] out, nn.GRU inside."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, prev_word, element_rows, hidden, memory, memory_mask):
        rows = element_rows
        return self.model.decode_step(prev_word, hidden, memory.index_select(0, rows), memory_mask.index_select(0, rows))


def test_a_decoder_of_a_dropped_layout_is_refused(exported, tmp_path):
    """Format 1 decoders returned every row's whole log-softmax: nothing ships them, the runtime refuses them."""
    import shutil

    model, out, _ = exported
    older = tmp_path / "older"
    shutil.copytree(out, older)
    generator = Generator(out, precision="fp32", threads=1)
    memory, mask, hidden = generator.encode(generator.encoder_feeds([(["w1"], ["w2"]), (["w3"], [])]))
    inputs = (torch.tensor([1, 1, 1, 1]), torch.tensor([1, 0]), torch.from_numpy(np.repeat(hidden, 2, axis=1)),
              torch.from_numpy(memory), torch.from_numpy(mask))
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's notices about nn.GRU and itself
        torch.onnx.export(WholeLogSoftmaxDecoder(model).eval(), inputs, str(older / "decoder.onnx"), dynamo=False, opset_version=17,
                          input_names=["prev_word", "element_rows", "hidden", "memory", "memory_mask"],
                          output_names=["log_probs", "new_hidden"],
                          dynamic_axes={"prev_word": {0: "rows"}, "element_rows": {0: "elements"}, "hidden": {1: "rows"},
                                        "memory": {0: "batch", 1: "memory_len"}, "memory_mask": {0: "batch", 1: "memory_len"},
                                        "log_probs": {0: "rows"}, "new_hidden": {1: "rows"}})
    config = json.loads((older / "config.json").read_text(encoding="utf-8"))
    onnx_export._write_config(older, config)  # new checksums
    write_manifest(older)
    with pytest.raises(InvalidModelFolder, match="decoder inputs .* and outputs .*'log_probs'"):
        Generator(older, precision="fp32", threads=1)


def test_gru_with_wrong_linear_before_reset_is_refused(exported, tmp_path):
    _, out, _ = exported
    graph = onnx.load(str(out / "encoder.onnx"))
    for node in graph.graph.node:
        if node.op_type == "GRU":
            for attr in node.attribute:
                if attr.name == "linear_before_reset":
                    attr.i = 0
    onnx.save(graph, str(tmp_path / "encoder.onnx"))
    with pytest.raises(onnx_export.ExportError, match="linear_before_reset"):
        onnx_export.check_graphs(tmp_path / "encoder.onnx")


def test_config_describes_the_folder(exported):
    _, out, config = exported
    on_disk = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert on_disk == config
    assert config["src_vocab_size"] == len(SRC_VOCAB) and config["tgt_vocab_size"] == len(TGT_VOCAB)
    assert config["architecture"]["hidden"] == 24
    assert config["special_ids"]["tgt"] == {"pad": 0, "bos": 1, "eos": 2, "unk": 3}
    assert config["training"] == {"note": "test"}
    assert {"fp32", "int8"} <= set(config["dev_metrics"])
    assert config["quantization"]["default"] in ("fp32", "int8")
    assert "F1@1" in config["quantization"]["decision"]
    assert (out / "src_vocab.txt").read_text(encoding="utf-8").split("\n")[:-1] == SRC_VOCAB
    assert set(config["files"]) == {p.name for p in out.iterdir()} - {"config.json", "manifest.json"}
    assert load_model_folder(out).model_id == f"tagsmith-en@{config['version']}"


def test_int8_graphs_run_and_stay_close_to_fp32(exported):
    _, out, _ = exported
    batch = [(["w1", "w5", "w9"], ["w2"]), (["w7"], [])]
    fp32 = Generator(out, precision="fp32", threads=1)
    int8 = Generator(out, precision="int8", threads=1)
    feeds = fp32.encoder_feeds(batch)
    memory32, mask32, hidden32 = fp32.encode(feeds)
    memory8, mask8, hidden8 = int8.encode(feeds)
    assert np.array_equal(mask32, mask8)
    rows = np.array([0, 1])
    log_probs32, _ = fp32.decode_step(np.array([1, 1]), rows, hidden32, memory32, mask32)
    log_probs8, _ = int8.decode_step(np.array([1, 1]), rows, hidden8, memory8, mask8)
    assert np.abs(log_probs32[:, 4:] - log_probs8[:, 4:]).max() < 0.1


def test_failed_parity_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_export, "PARITY_TOLERANCE", -1.0)  # no difference can pass
    out = tmp_path / "never"
    with pytest.raises(onnx_export.ExportError, match="parity failed"):
        onnx_export.build_model_folder(tiny_model(seed=3), SRC_VOCAB, TGT_VOCAB, out, dev_records(8), "en",
                                       parity_posts=8, batch_sizes=(8,))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary build folder is gone too


@pytest.mark.parametrize("variant", ["seq2seq_post", "seq2seq_concat", "post_att"])
def test_other_variants_export_with_parity(variant, tmp_path):
    config = onnx_export.build_model_folder(tiny_model(seed=4, variant=variant), SRC_VOCAB, TGT_VOCAB,
                                            tmp_path / variant, dev_records(8, seed=2), "en",
                                            parity_posts=8, batch_sizes=(1, 8), eval_posts=8)
    assert config["parity"]["max_abs_log_prob_diff"] <= 1e-4


def test_folder_too_big_for_both_precisions_ships_only_int8_under_the_plain_names(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_export, "INT8_MAX_F1_DROP", float("inf"))  # keep int8 whatever 8 posts say
    out = tmp_path / "small"
    src_vocab = SRC_VOCAB + [f"x{i}" for i in range(6000)]  # embeddings dominate: int8 is ~4x smaller
    torch.manual_seed(5)
    model = HashtagGenerator(ModelConfig(len(src_vocab), len(TGT_VOCAB), emb_dim=16, hidden=24, enc_layers=1))
    config = onnx_export.build_model_folder(model.eval(), src_vocab, TGT_VOCAB, out, dev_records(8), "en",
                                            int8=True, parity_posts=8, batch_sizes=(8,), eval_posts=8,
                                            max_folder_mb=0.5, full_out=tmp_path / "full")
    assert config["graphs"] == {"int8": {"encoder": "encoder.onnx", "decoder": "decoder.onnx"}}
    assert not (out / "encoder.int8.onnx").exists()
    full = load_model_folder(tmp_path / "full")  # both precisions kept for benchmarks
    assert set(full.config["graphs"]) == {"fp32", "int8"} and (tmp_path / "full" / "encoder.int8.onnx").exists()
    generator = Generator(out, threads=1)
    assert generator.precision == "int8"
    assert len(generator.generate([(["w1", "w2"], ["w3"])], n_best=3, max_len=8)) == 1


def test_folder_over_the_size_limit_is_refused(tmp_path):
    with pytest.raises(onnx_export.ExportError, match="over the 0.01 MB limit"):
        onnx_export.build_model_folder(tiny_model(seed=6), SRC_VOCAB, TGT_VOCAB, tmp_path / "big", dev_records(8),
                                       "en", parity_posts=8, batch_sizes=(8,), eval_posts=8, max_folder_mb=0.01)
    assert not (tmp_path / "big").exists()


def test_export_leaves_the_model_in_eval_mode(tmp_path):
    model = tiny_model(seed=7)
    onnx_export.export_graphs(model, tmp_path)
    assert not any(module.training for module in model.modules())


def test_reexport_replaces_the_graphs_and_keeps_other_tools_files(tmp_path):
    out = tmp_path / "en"
    kwargs = dict(parity_posts=8, batch_sizes=(8,), eval_posts=8)
    first = onnx_export.build_model_folder(tiny_model(seed=8), SRC_VOCAB, TGT_VOCAB, out, dev_records(8), "en", **kwargs)
    (out / "retrieval.npz").write_bytes(b"index")
    second = onnx_export.build_model_folder(tiny_model(seed=9), SRC_VOCAB, TGT_VOCAB, out, dev_records(8), "en", **kwargs)
    assert first["version"] != second["version"]
    assert load_model_folder(out).config["version"] == second["version"]
    assert (out / "retrieval.npz").read_bytes() == b"index"
    assert [p.name for p in tmp_path.iterdir()] == ["en"]


def test_tied_output_layer_with_one_encoder_layer_exports_with_parity(tmp_path):
    model = tiny_model(seed=10, enc_layers=1, tie_output=True)  # the English model's shape
    config = onnx_export.build_model_folder(model, SRC_VOCAB, TGT_VOCAB, tmp_path / "tied", dev_records(8, seed=3),
                                            "en", parity_posts=8, batch_sizes=(1, 8), eval_posts=8)
    assert config["parity"]["max_abs_log_prob_diff"] <= 1e-4
    assert config["architecture"]["tie_output"] is True


def test_bench_serve_compares_fp32_and_int8_on_a_folder_exported_with_both(exported, tmp_path):
    import argparse

    from inference.evaluation.bench_serve import fp32_vs_int8

    _, out, config = exported
    assert {"fp32", "int8"} <= set(config["graphs"])
    args = argparse.Namespace(models=str(tmp_path), full_folder=[str(out)])  # no served folders there
    (line,) = fp32_vs_int8(args)
    assert f"tagsmith-en@{config['version']}" in line and "fp32/int8 = " in line
