"""The tuned encoder head: loads with numpy alone, refuses bad files, changes nothing as the identity,
and (trained on a toy corpus) moves a tag toward its posts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.runtime.encoder_head import (HEAD_JSON, HEAD_WEIGHTS, EncoderHead, InvalidEncoderHead, TunedEncoder,
                                            encode_tags)
from inference.runtime.grounding import Grounder, GroundingConfig
from inference.runtime.tag_index import TagIndex

ROOT = Path(__file__).resolve().parents[1]
DIM = 16


def write_files(folder: Path, post: np.ndarray, tag: np.ndarray, **meta) -> Path:
    """encoder_head.npz/json as export/tune_encoder.py writes them (without torch)."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / HEAD_WEIGHTS, post=post.astype(np.float16), tag=tag.astype(np.float16))
    info = {"format_version": 1, "kind": "residual-linear", "dim": post.shape[0], "weights": HEAD_WEIGHTS,
            "sha256": hashlib.sha256((folder / HEAD_WEIGHTS).read_bytes()).hexdigest(), **meta}
    (folder / HEAD_JSON).write_text(json.dumps(info), encoding="utf-8")
    return folder


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class FakeEncoder:
    """Words -> fixed random unit vectors, summed: enough for cosines to mean something."""

    dim = DIM

    def __init__(self):
        self.words: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            v = np.zeros(DIM, np.float32)
            for w in text.lower().split() or [" "]:
                if w not in self.words:
                    self.words[w] = np.random.default_rng(len(self.words)).standard_normal(DIM).astype(np.float32)
                v += self.words[w]
            rows.append(v)
        return unit(np.array(rows))


def test_a_folder_without_a_head_has_none(tmp_path):
    assert EncoderHead.load(tmp_path) is None


def test_the_head_loads_from_a_folder_without_torch(tmp_path):
    rng = np.random.default_rng(0)
    write_files(tmp_path, rng.normal(0, 0.1, (DIM, DIM)), rng.normal(0, 0.1, (DIM, DIM)))
    code = ("import sys; from inference.runtime.encoder_head import EncoderHead; "
            f"h = EncoderHead.load({str(tmp_path)!r}); h.posts(h.post); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(h.dim)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(DIM)


@pytest.mark.parametrize("damage", ["bytes", "shape", "nan", "version", "json", "missing", "path"])
def test_a_bad_head_raises_the_named_error(tmp_path, damage):
    zero = np.zeros((DIM, DIM))
    write_files(tmp_path, zero, zero)
    info = json.loads((tmp_path / HEAD_JSON).read_text())
    if damage == "bytes":
        data = bytearray((tmp_path / HEAD_WEIGHTS).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (tmp_path / HEAD_WEIGHTS).write_bytes(bytes(data))
    elif damage in ("shape", "nan"):  # a well-formed file whose matrices do not fit, checksum updated
        bad = np.full((DIM, DIM), np.nan) if damage == "nan" else np.zeros((DIM, DIM + 1))
        write_files(tmp_path, bad, zero if damage == "nan" else bad)
        info = json.loads((tmp_path / HEAD_JSON).read_text())
        info["dim"] = DIM
        (tmp_path / HEAD_JSON).write_text(json.dumps(info))
    elif damage == "version":
        (tmp_path / HEAD_JSON).write_text(json.dumps({**info, "format_version": 99}))
    elif damage == "json":
        (tmp_path / HEAD_JSON).write_text("{not json")
    elif damage == "missing":
        (tmp_path / HEAD_WEIGHTS).unlink()
    elif damage == "path":
        (tmp_path / HEAD_JSON).write_text(json.dumps({**info, "weights": "../" + HEAD_WEIGHTS}))
    with pytest.raises(InvalidEncoderHead):
        EncoderHead.load(tmp_path)


def test_a_head_of_another_dimension_is_refused(tmp_path):
    write_files(tmp_path, np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(InvalidEncoderHead):
        TunedEncoder(FakeEncoder(), EncoderHead.load(tmp_path))


def _relevance(encoder, index: TagIndex, post: str, tags: list[str]) -> dict[str, float]:
    """Each tag's relevance to the post; tags not in the index are encoded on the way."""
    grounder = Grounder(encoder, index, GroundingConfig(), "en")
    contexts = grounder.encode_contexts([post], [[]])
    stats, _ = grounder.nearest(contexts)
    pool = {t: {"words": t, "model": 0.0, "source": "model"} for t in tags}
    grounder.relevance([pool], contexts, stats)
    return {t: e["relevance"] for t, e in pool.items()}


VOCAB = ["tennis", "aus open", "throwback", "stocks", "inflation", "beach summer", "nba finals", "iphone"]
POST = "tennis final in melbourne tonight"


def test_an_identity_head_leaves_relevance_unchanged():
    encoder = FakeEncoder()
    index = TagIndex(encoder.encode(VOCAB), VOCAB, np.ones(len(VOCAB)))
    tuned = TunedEncoder(encoder, EncoderHead(np.zeros((DIM, DIM)), np.zeros((DIM, DIM))))
    tags = ["tennis", "stocks", "grand slam"]  # the last is outside the index: encoded on the way
    before = _relevance(encoder, index, POST, tags)
    after = _relevance(tuned, tuned.tag_index(index), POST, tags)
    assert after == pytest.approx(before, abs=1e-5)


def test_folding_the_post_map_into_the_tags_gives_the_tuned_relevance():
    """Grounding keeps request vectors as they are and meets them with folded tag keys: the standardised
    relevance equals the one of the two maps applied on their own sides."""
    rng = np.random.default_rng(1)
    encoder = FakeEncoder()
    head = EncoderHead(rng.normal(0, 0.2, (DIM, DIM)), rng.normal(0, 0.2, (DIM, DIM)))
    tuned = TunedEncoder(encoder, head)
    index = TagIndex(encoder.encode(VOCAB), VOCAB, np.ones(len(VOCAB)))
    got = _relevance(tuned, tuned.tag_index(index), POST, ["tennis", "grand slam"])
    p = head.posts(encoder.encode([POST]))[0]
    cos = head.tags(index.vectors) @ p
    for tag in ("tennis", "grand slam"):
        c = float(head.tags(encoder.encode([tag]))[0] @ p)
        assert got[tag] == pytest.approx((c - cos.mean()) / (cos.std() + 1e-6) / 4.0, abs=1e-3)
    assert np.allclose(encode_tags(tuned, ["tennis"]), tuned.tag_index(index).vectors[:1], atol=1e-3)


def test_a_tiny_trained_head_moves_a_tag_toward_its_posts(tmp_path):
    torch = pytest.importorskip("torch")
    from export.encoder_vectors import SplitVectors
    from export.tune_encoder import LangData, TuneConfig, measure, numpy_head, train, write_head

    rng = np.random.default_rng(0)
    n = 40
    topics = unit(rng.standard_normal((n, DIM)))  # forty topics; their tags' words sit elsewhere
    tag_vectors = unit(rng.standard_normal((n, DIM)))
    posts, gold = [], []
    for i in range(1200):
        posts.append(topics[i % n] + 0.3 * rng.standard_normal(DIM))
        gold.append([i % n])
    split = SplitVectors(unit(np.array(posts)), [f"tag {t}" for t in range(n)], tag_vectors, gold)
    index = TagIndex(tag_vectors, split.tags, np.ones(n))
    data = LangData("en", split, np.arange(200, 1200), np.arange(200), split, index)
    config = TuneConfig(batch_size=32, lr=1e-2, weight_decay=0.0, max_epochs=15, patience=15)
    config.head.dim = DIM
    model, history = train(config, [data], log=lambda line: None)
    head = numpy_head(model)
    untuned, tuned = measure(None, data, "val"), measure(head, data, "val")
    assert tuned["recall@10"] > untuned["recall@10"] and tuned["mrr"] > untuned["mrr"] + 0.3
    own = head.posts(split.posts[gold_rows(gold, 0)]) @ head.tags(tag_vectors[:1])[0]
    raw = split.posts[gold_rows(gold, 0)] @ tag_vectors[0]
    assert own.mean() > raw.mean() + 0.2  # tag 0 moved toward its own posts
    write_head(tmp_path, head, {"test": True})
    loaded = EncoderHead.load(tmp_path)
    assert np.allclose(loaded.post, head.post) and loaded.info["test"] is True
    assert (tmp_path / "manifest.json").is_file() and torch is not None


def gold_rows(gold: list[list[int]], tag: int) -> list[int]:
    return [i for i, g in enumerate(gold) if tag in g]


def test_the_service_applies_a_folders_head_and_changes_nothing_without_one(tmp_path):
    from inference.runtime.sentence_encoder import SentenceEncoder
    from inference.runtime.suggester import SuggestRequest, Suggester
    from service_fixtures import write_grounding, write_retrieval_model

    encoder = SentenceEncoder.load()
    folders = {name: write_grounding(write_retrieval_model(tmp_path / name / "en", "en"), encoder)
               for name in ("plain", "identity", "tuned")}
    dim = encoder.dim
    write_files(folders["identity"], np.zeros((dim, dim)), np.zeros((dim, dim)))
    rng = np.random.default_rng(2)
    write_files(folders["tuned"], rng.normal(0, 0.05, (dim, dim)), rng.normal(0, 0.05, (dim, dim)))
    served = {name: Suggester.from_folders([folder]) for name, folder in folders.items()}
    request = SuggestRequest("Watching the tennis final in Melbourne tonight, what a match", k=5, floor=False)
    lists = {name: [(s.words, round(s.score, 4)) for s in s_.suggest(request).suggestions] for name, s_ in served.items()}
    # an identity head gives the same list; its scores differ by float32 rounding at most
    assert [w for w, _ in lists["identity"]] == [w for w, _ in lists["plain"]]
    assert np.allclose([x for _, x in lists["identity"]], [x for _, x in lists["plain"]], atol=2e-4)
    grounders = {name: s_.models["en"].grounder for name, s_ in served.items()}
    assert not isinstance(grounders["plain"].encoder, TunedEncoder)
    tuned = grounders["tuned"]
    assert isinstance(tuned.encoder, TunedEncoder)
    raw = TagIndex.load(folders["tuned"] / "tag_index.npz").vectors
    assert np.allclose(tuned.index.vectors, tuned.encoder.head.fold_tags(raw), atol=1e-5)
