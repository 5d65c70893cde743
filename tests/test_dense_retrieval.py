"""Dense retrieval: the training posts nearest to a request vote their tags (inference/runtime/dense_retrieval.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from export.dense_index import build_index, write
from inference.runtime import grounding
from inference.runtime.dense_retrieval import DENSE_INDEX, FORMAT_VERSION, DenseIndex, InvalidDenseIndex
from inference.runtime.grounding import GROUNDING_JSON, TAG_INDEX, Grounder, GroundingConfig, attach_grounders
from inference.runtime.ranking import Ranked
from inference.runtime.tag_index import TagIndex

DIM = 512


def unit(*pairs: tuple[int, float]) -> np.ndarray:
    """A unit vector of the encoder's dimension with the given (axis, value) components."""
    v = np.zeros(DIM, np.float32)
    for axis, value in pairs:
        v[axis] = value
    return v / np.linalg.norm(v)


# four training posts: two about tennis (axis 0), one about snow (axis 1), one far off (axis 2)
POSTS = [
    ({"hashtags": ["tennis", "aus open"]}, unit((0, 1.0))),
    ({"hashtags": ["tennis", "nadal"]}, unit((0, 1.0), (3, 0.3))),
    ({"hashtags": ["snow", "chicago"]}, unit((1, 1.0))),
    ({"hashtags": ["las vegas"]}, unit((2, 1.0), (0, 0.2))),
]
TENNIS_QUERY = unit((0, 1.0), (3, 0.1))


@pytest.fixture(params=["int8", "float16"])
def index(request, tmp_path) -> DenseIndex:
    built = build_index([r for r, _ in POSTS], np.stack([v for _, v in POSTS]), dims=0, dtype=request.param)
    write(built, tmp_path)
    return DenseIndex.load(tmp_path / DENSE_INDEX)


def test_the_nearest_posts_vote_their_tags(index):
    votes = dict(index.neighbours(TENNIS_QUERY[None], n=2)[0])
    assert set(votes) == {"tennis", "aus open", "nadal"}
    assert votes["tennis"] == pytest.approx(1.0, abs=1e-3)  # both neighbours carry it: the whole weight
    assert votes["aus open"] > votes["nadal"] > 0  # the nearer post weighs more
    snow = index.neighbours(unit((1, 1.0))[None], n=1)[0]
    assert [t for t, _ in snow] == ["chicago", "snow"]


def test_a_far_neighbours_tag_below_the_minimum_cosine_does_not_vote(index):
    everything = dict(index.neighbours(TENNIS_QUERY[None], n=4)[0])
    assert "las vegas" in everything  # the 4th post is among the n nearest, with a low cosine
    near = dict(index.neighbours(TENNIS_QUERY[None], n=4, min_cos=0.5)[0])
    assert "las vegas" not in near and "snow" not in near
    assert set(near) == {"tennis", "aus open", "nadal"}
    assert index.neighbours(unit((5, 1.0))[None], n=4, min_cos=0.5) == [[]]  # nothing near: no votes


def test_pca_reduction_keeps_the_neighbours(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [{"hashtags": [f"tag{i}"]} for i in range(200)]
    reduced = build_index(records, vectors, dims=128, dtype="int8")
    assert reduced.dims == 128
    query = vectors[17] + 0.05 * rng.normal(size=DIM).astype(np.float32)
    assert reduced.neighbours(query[None], n=1)[0][0][0] == "tag17"


def test_a_corrupted_file_raises_the_named_error(index, tmp_path):
    path = tmp_path / DENSE_INDEX
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidDenseIndex):
        DenseIndex.load(path)
    path.write_bytes(b"not an npz at all")
    with pytest.raises(InvalidDenseIndex):
        DenseIndex.load(path)


def test_another_format_version_or_bad_shapes_raise_the_named_error(index, tmp_path):
    path = tmp_path / DENSE_INDEX
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(path, **{**arrays, "format_version": np.array(FORMAT_VERSION + 1)})
    with pytest.raises(InvalidDenseIndex, match="format_version"):
        DenseIndex.load(path)
    np.savez(path, **{**arrays, "tag_ids": arrays["tag_ids"] + 100})
    with pytest.raises(InvalidDenseIndex, match="tag table"):
        DenseIndex.load(path)
    np.savez(path, **{k: v for k, v in arrays.items() if k != "scales"})
    with pytest.raises(InvalidDenseIndex, match="scales"):
        DenseIndex.load(path)


class FakeEncoder:
    """Deterministic unit vectors per text (the tags outside the tag index are encoded at request time)."""

    dim = DIM

    def encode(self, texts):
        return np.stack([unit((hash(t) % 400 + 100, 1.0)) for t in texts]) if texts else np.zeros((0, DIM), np.float32)


def grounder(dense: DenseIndex | None, **config) -> Grounder:
    tags = ["tennis", "aus open", "nadal", "snow", "chicago", "las vegas", "summer"]
    vectors = np.stack([unit((0, 1.0), (10 + i, 0.5)) for i in range(len(tags))])
    g = Grounder(FakeEncoder(), TagIndex(vectors, tags, np.ones(len(tags))), GroundingConfig(phrase_limit=0, vocab_k=2, **config), "en")
    g.dense = dense
    return g


def test_dense_votes_join_the_candidates_and_weigh_in_the_score(index):
    ranked = [[Ranked("summer", 1.0, "retrieval")]]
    without = grounder(None).prepare(ranked, ["a"], [[]], TENNIS_QUERY[None])[0].pool
    assert all("dense" not in e and e["source"] != "dense" for e in without.values())
    g = grounder(index, dense_weight=1.0, dense_k=2, dense_min_cos=0.5)
    pool = g.prepare(ranked, ["a"], [[]], TENNIS_QUERY[None])[0].pool
    assert pool["nadal"]["source"] == "dense" and pool["nadal"]["dense"] > 0
    assert "lasvegas" not in pool  # below the minimum cosine
    assert pool["summer"]["source"] == "retrieval" and "dense" not in pool["summer"]
    off = grounder(index, dense_weight=0.0)
    assert g.score(pool["tennis"]) > off.score(pool["tennis"])  # a vote of ~1 lifts the score
    assert off.score({"model": 0.5, "relevance": 0.5}) == grounder(None).score({"model": 0.5, "relevance": 0.5})


def folder(tmp_path, name: str, config: GroundingConfig):
    path = tmp_path / name
    path.mkdir()
    (path / GROUNDING_JSON).write_text(json.dumps(config.to_json()))
    np.savez(path / TAG_INDEX, vectors=np.stack([unit((0, 1.0))]), tags=np.array(["tennis"]), counts=np.array([1]))
    return SimpleNamespace(folder=path, lang="en", grounder=None)


def test_folders_without_the_file_behave_as_before(index, tmp_path, monkeypatch):
    from inference.runtime import sentence_encoder

    monkeypatch.setattr(sentence_encoder.SentenceEncoder, "load", classmethod(lambda cls, **kw: FakeEncoder()))
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))  # the fake's vectors stay out of the real cache
    plain = folder(tmp_path, "plain", GroundingConfig())
    dense = folder(tmp_path, "dense", GroundingConfig(dense_weight=0.5))
    (dense.folder / DENSE_INDEX).write_bytes((tmp_path / DENSE_INDEX).read_bytes())
    attach_grounders({"en": plain, "xx": dense})
    assert plain.grounder.dense is None and dense.grounder.dense is not None
    assert plain.grounder.dense_votes(TENNIS_QUERY[None]) == [[]]
    assert GroundingConfig().dense_weight == 0.0  # a grounding.json without the field: no dense weight
    broken = folder(tmp_path, "broken", GroundingConfig())
    (broken.folder / DENSE_INDEX).write_bytes(b"garbage")
    with pytest.raises(InvalidDenseIndex):
        attach_grounders({"en": broken})


def test_the_shipped_config_fields_round_trip():
    config = GroundingConfig(dense_weight=0.3, dense_k=30, dense_min_cos=0.4, dense_limit=5)
    assert {k: v for k, v in config.to_json().items() if k.startswith("dense")} == {
        "dense_weight": 0.3, "dense_k": 30, "dense_min_cos": 0.4, "dense_limit": 5}
    assert grounding.DENSE_INDEX == DENSE_INDEX
