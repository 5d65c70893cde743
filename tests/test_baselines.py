"""Baselines and fusion tuning run end to end on a tiny corpus written by the test."""

import json

import pytest

from export import baselines, fusion

TOPICS = {
    "tennis": "nadal federer serve ace final set court",
    "food": "pasta basil recipe cooking dinner kitchen",
    "iphone": "apple camera screen battery phone update",
}


def write_corpus(folder, n_per_topic):
    lines = []
    for topic, words in TOPICS.items():
        vocab = words.split()
        for i in range(n_per_topic):
            post = " ".join(vocab[(i + j) % len(vocab)] for j in range(4))
            record = {"id": f"{topic}-{i}", "post": post, "thread": [vocab[i % len(vocab)]], "hashtags": [topic],
                      "image": None, "lang": "en", "source": "test"}
            lines.append(json.dumps(record))
    path = folder / f"{n_per_topic}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path, 12), write_corpus(tmp_path, 3)


def test_baselines_write_one_prediction_line_per_dev_record_and_score_them(corpus, tmp_path, capsys):
    train, dev = corpus
    out = tmp_path / "out"
    baselines.main(["--train", str(train), "--dev", str(dev), "--lang", "en", "--out", str(out),
                    "--only", "random,most-popular,tf-idf,retrieval"])
    for name in ("random", "most-popular", "tf-idf", "retrieval"):
        lines = (out / f"{name}.txt").read_text().splitlines()
        assert len(lines) == 9
    first = (out / "retrieval.txt").read_text().splitlines()[0]
    assert first.split(";")[0] == "tennis"
    assert "retrieval" in capsys.readouterr().out
    table = (out / "table.txt").read_text()
    retrieval_f1 = float(table.splitlines()[-1].split()[1])
    assert retrieval_f1 == 100.0


def test_classifier_learns_a_separable_toy_task(corpus):
    train, dev = corpus
    train_records, dev_records = baselines.load_jsonl(train), baselines.load_jsonl(dev)
    predictions = baselines.train_classifier(
        baselines.tokens_of(train_records, "en"), [r["hashtags"] for r in train_records],
        baselines.tokens_of(dev_records, "en"), k=2, with_conv=True,
        config=baselines.ClassifierConfig(epochs=12, embed=16, filters=8, lr=2e-2, dropout=0.0),
    )
    assert [p[0] for p in predictions] == [r["hashtags"][0] for r in dev_records]


def test_fusion_writes_weights_the_ranker_can_use(corpus, tmp_path):
    train, dev = corpus
    folder = tmp_path / "model"
    config = fusion.main(["--train", str(train), "--dev", str(dev), "--lang", "en", "--out", str(tmp_path / "f"),
                          "--model-folder", str(folder), "--holdout", "0.3"]) or json.loads((folder / "fusion.json").read_text())
    assert config["weights"]["retrieval"] == 1.0
    assert {"retrieval.npz", "retrieval.json", "tags.json", "fusion.json"} <= {p.name for p in folder.iterdir()}
