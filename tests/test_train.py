"""Training: a tiny model overfits 20 posts, checkpoints round-trip and resume, the loss curve is drawn, a warm
start copies a SEQ2SEQ run's matching weights and refuses a checkpoint that does not fit, can start the merge
layers at identity and can train only the fresh parameters for its first epochs."""

import json

import pytest
import torch

from export.data import tokenize_records
from export.model import HashtagGenerator, ModelConfig
from export.train import load_checkpoint, main, predict, record_dev_loss, warm_start

TOPICS = ["tennis", "football", "cooking", "travel", "music", "movies", "science", "fashion", "gaming", "politics",
          "weather", "coffee", "books", "cats", "dogs", "cars", "art", "space", "health", "finance"]


def write_fixture(tmp_path):
    """20 posts, each with its own topic word in the post and thread and its own two-word hashtag."""
    path = tmp_path / "train.jsonl"
    with open(path, "w") as f:
        for i, topic in enumerate(TOPICS):
            record = {"id": f"t{i}", "post": f"so much {topic} today and more {topic}", "thread": [f"love {topic} too"],
                      "hashtags": [f"{topic} life"], "image": None, "lang": "en", "source": "test"}
            f.write(json.dumps(record) + "\n")
    return path


def train(tmp_path, *extra):
    data = write_fixture(tmp_path)
    out = tmp_path / "run"
    args = ["--train", str(data), "--dev", str(data), "--out", str(out), "--emb-dim", "16", "--hidden", "32",
            "--enc-layers", "1", "--min-freq", "1", "--batch-size", "5", "--lr", "0.01", "--quiet", "--no-eval", *extra]
    assert main(args) == 0
    return data, out


def test_tiny_model_overfits_twenty_posts(tmp_path):
    data, out = train(tmp_path, "--epochs", "40", "--patience", "40")
    model, src, tgt, _ = load_checkpoint(out / "ckpt.pt")
    records = [json.loads(line) for line in open(data)]
    pred = predict(model, tokenize_records(records), src, tgt, beam_size=5, n_best=5)
    top1 = [p[0] if p else None for p in pred]
    # one gold hashtag per post, so F1@1 = 1.0 exactly when every top-1 prediction is the gold tag
    assert top1 == [r["hashtags"][0] for r in records]


def test_checkpoint_round_trips_and_resume_continues(tmp_path):
    _, out = train(tmp_path, "--epochs", "2")
    ckpt = torch.load(out / "ckpt.pt", weights_only=False)
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
    assert {"config", "src_vocab", "tgt_vocab", "preprocess_version", "optimizer", "best_dev_loss"} <= set(ckpt)
    assert (out / "loss.png").stat().st_size > 1000

    model, src, tgt, _ = load_checkpoint(out / "ckpt.pt", best=False)
    reloaded = {k: v for k, v in model.state_dict().items()}
    assert all(torch.equal(reloaded[k], v) for k, v in ckpt["model"].items())
    assert model.config.hidden == 32 and len(tgt) == len(ckpt["tgt_vocab"])

    train(tmp_path, "--epochs", "3", "--resume")
    resumed = torch.load(out / "ckpt.pt", weights_only=False)
    assert resumed["epoch"] == 3 and [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["step"] == ckpt["step"] + 4  # 20 examples / batch 5 = 4 steps per epoch


def test_the_tagsmith_train_command_forwards_its_options(tmp_path):
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "tagsmith-train"]
    tagsmith_train = script.load()
    data = write_fixture(tmp_path)
    out = tmp_path / "cli-run"
    assert tagsmith_train(["--train", str(data), "--dev", str(data), "--out", str(out), "--emb-dim", "8",
                     "--hidden", "8", "--enc-layers", "1", "--epochs", "1", "--quiet", "--no-eval"]) == 0
    assert torch.load(out / "ckpt.pt", weights_only=False)["config"]["hidden"] == 8


def test_init_from_copies_matching_weights_into_the_full_model(tmp_path):
    # a SEQ2SEQ post-only run with its own vocabularies (--min-freq 1 keeps words seen once)
    _, seq2seq_out = train(tmp_path, "--epochs", "1", "--variant", "seq2seq_post")
    init = torch.load(seq2seq_out / "ckpt.pt", weights_only=False)
    weights = init["best_model"]

    # the full model, warm-started with a smaller --src-vocab: the run must keep the checkpoint's vocabularies
    data = tmp_path / "train.jsonl"
    out = tmp_path / "warm"
    assert main(["--train", str(data), "--dev", str(data), "--out", str(out), "--emb-dim", "16", "--hidden", "32",
                 "--enc-layers", "1", "--src-vocab", "10", "--batch-size", "5", "--epochs", "1", "--quiet", "--no-eval",
                 "--variant", "full", "--init-from", str(seq2seq_out / "ckpt.pt")]) == 0
    warm = torch.load(out / "ckpt.pt", weights_only=False)
    assert len(init["src_vocab"]) > 10
    assert warm["src_vocab"] == init["src_vocab"] and warm["tgt_vocab"] == init["tgt_vocab"]
    assert warm["init_from"] == str(seq2seq_out / "ckpt.pt") and warm["config"]["variant"] == "full"

    # before any training step: every shared parameter equals the checkpoint's, the rest start fresh
    model = HashtagGenerator(ModelConfig(**warm["config"]))
    done = warm_start(model, init)
    state = model.state_dict()
    assert "src_embedding.weight" in done["copied"] and "output.weight" in done["copied"]
    assert all(torch.equal(state[k], weights[k]) for k in done["copied"])
    assert done["bridge post half"] == ["bridge.weight"]
    assert torch.equal(state["bridge.weight"][:, :32], weights["bridge.weight"])
    assert not state["bridge.weight"][:, 32:].any()  # conv half zero: the decoder starts from SEQ2SEQ's state
    assert {k.split(".")[0] for k in done["fresh"]} == {"conv_encoder", "bi_attention", "merge_post", "merge_conv"}


def test_init_from_refuses_a_checkpoint_of_other_dims(tmp_path):
    _, seq2seq_out = train(tmp_path, "--epochs", "1", "--variant", "seq2seq_post")
    data = tmp_path / "train.jsonl"
    with pytest.raises(ValueError, match="hidden 32 != 16"):
        main(["--train", str(data), "--dev", str(data), "--out", str(tmp_path / "bad"), "--emb-dim", "16",
              "--hidden", "16", "--enc-layers", "1", "--epochs", "1", "--quiet", "--no-eval",
              "--init-from", str(seq2seq_out / "ckpt.pt")])

    init = torch.load(seq2seq_out / "ckpt.pt", weights_only=False)
    init["best_model"]["attention.weight"] = torch.zeros(32, 31)  # same dims, one parameter of the wrong shape
    model = HashtagGenerator(ModelConfig(**{**init["config"], "variant": "full"}))
    with pytest.raises(ValueError, match="attention.weight"):
        warm_start(model, init)


def warm_full_run(tmp_path, seq2seq_out, *extra):
    data = tmp_path / "train.jsonl"
    out = tmp_path / "warm"
    assert main(["--train", str(data), "--dev", str(data), "--out", str(out), "--emb-dim", "16", "--hidden", "32",
                 "--enc-layers", "1", "--min-freq", "1", "--batch-size", "5", "--lr", "0.01", "--quiet", "--no-eval",
                 "--variant", "full", "--init-from", str(seq2seq_out / "ckpt.pt"), *extra]) == 0
    return out


def test_identity_merge_starts_the_memory_as_squashed_post_encoder_states(tmp_path):
    _, seq2seq_out = train(tmp_path, "--epochs", "1", "--variant", "seq2seq_post")
    init = torch.load(seq2seq_out / "ckpt.pt", weights_only=False)
    model = HashtagGenerator(ModelConfig(**{**init["config"], "variant": "full"}))
    done = warm_start(model, init, identity_merge=True)
    assert sorted(done["identity merge"]) == ["merge_conv.bias", "merge_conv.weight", "merge_post.bias",
                                              "merge_post.weight"]
    assert {k.split(".")[0] for k in done["fresh"]} == {"conv_encoder", "bi_attention"}
    assert torch.equal(model.merge_post.weight, torch.cat([torch.eye(32), torch.zeros(32, 32)], dim=1))
    assert not model.merge_conv.bias.any()

    model.eval()
    post, conv = torch.tensor([[4, 5, 6, 0]]), torch.tensor([[7, 8, 0]])
    post_mask, conv_mask = post != 0, conv != 0
    memory, memory_mask, _ = model.encode(post, post_mask, conv, conv_mask)
    h_post, _ = model.post_encoder(model.src_embedding(post), post_mask)
    h_conv, _ = model.conv_encoder(model.src_embedding(conv), conv_mask)
    assert torch.allclose(memory[:, :4], torch.tanh(h_post)) and torch.allclose(memory[:, 4:], torch.tanh(h_conv))

    seq2seq = HashtagGenerator(ModelConfig(**init["config"]))
    with pytest.raises(ValueError, match="no fresh merge layers"):
        warm_start(seq2seq, init, identity_merge=True)


def test_freeze_copied_epochs_trains_only_fresh_parameters_then_everything(tmp_path):
    _, seq2seq_out = train(tmp_path, "--epochs", "1", "--variant", "seq2seq_post")
    copied = torch.load(seq2seq_out / "ckpt.pt", weights_only=False)["best_model"]
    out = warm_full_run(tmp_path, seq2seq_out, "--identity-merge", "--freeze-copied-epochs", "1", "--epochs", "1")
    first = torch.load(out / "ckpt.pt", weights_only=False)
    weights = first["model"]
    assert first["freeze_copied_epochs"] == 1 and first["warm_start"]["identity merge"]
    assert all(torch.equal(weights[k], copied[k]) for k in first["warm_start"]["copied"])
    assert torch.equal(weights["bridge.weight"][:, :32], copied["bridge.weight"])  # post half held
    assert weights["bridge.weight"][:, 32:].any()  # conv half trained
    assert not torch.equal(weights["merge_post.weight"][:, 32:], torch.zeros(32, 32))
    assert not torch.equal(weights["conv_encoder.forward_grus.0.weight_hh_l0"],
                           HashtagGenerator(ModelConfig(**first["config"])).state_dict()["conv_encoder.forward_grus.0.weight_hh_l0"])

    warm_full_run(tmp_path, seq2seq_out, "--epochs", "2", "--resume")  # epoch 2: everything trains
    second = torch.load(out / "ckpt.pt", weights_only=False)["model"]
    assert not torch.equal(second["src_embedding.weight"], copied["src_embedding.weight"])
    assert not torch.equal(second["bridge.weight"][:, :32], copied["bridge.weight"])


def test_frozen_epochs_neither_halve_the_rate_nor_count_toward_patience():
    state = {"best_dev_loss": 3.0, "bad_epochs": 0, "lr": 1e-3}
    assert not record_dev_loss(state, 3.5, frozen=True)
    assert state == {"best_dev_loss": 3.0, "bad_epochs": 0, "lr": 1e-3}
    assert not record_dev_loss(state, 3.5, frozen=False)
    assert state == {"best_dev_loss": 3.0, "bad_epochs": 1, "lr": 5e-4}
    assert record_dev_loss(state, 2.9, frozen=True) and state["bad_epochs"] == 0 and state["best_dev_loss"] == 2.9


def test_freeze_copied_epochs_needs_a_warm_start(tmp_path):
    data = write_fixture(tmp_path)
    with pytest.raises(ValueError, match="need --init-from"):
        main(["--train", str(data), "--dev", str(data), "--out", str(tmp_path / "cold"), "--emb-dim", "8",
              "--hidden", "8", "--enc-layers", "1", "--epochs", "1", "--quiet", "--no-eval", "--freeze-copied-epochs", "1"])
