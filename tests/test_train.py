"""Training: a tiny model overfits 20 posts, checkpoints round-trip and resume, the loss curve is drawn."""

import json

import torch

from export.data import tokenize_records
from export.train import load_checkpoint, main, predict

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


def test_tagsmith_train_forwards_its_options(tmp_path):
    from inference.cli import main as tagsmith

    data = write_fixture(tmp_path)
    out = tmp_path / "cli-run"
    assert tagsmith(["train", "--train", str(data), "--dev", str(data), "--out", str(out), "--emb-dim", "8",
                     "--hidden", "8", "--enc-layers", "1", "--epochs", "1", "--quiet", "--no-eval"]) == 0
    assert torch.load(out / "ckpt.pt", weights_only=False)["config"]["hidden"] == 8
