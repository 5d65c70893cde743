"""The learned reranker: features, the rerank.json round trip, ranking order, the suggester hook."""

import json

from pathlib import Path

import numpy as np
import pytest

from export.fusion import build_sources, gather
from export.rerank import fit_logistic, labelled
from inference.runtime.rerank import RERANK_JSON, FeatureContext, Reranker, feature_names, featurize
from inference.runtime.retrieval import RetrievalIndex, TagLexicon
from inference.runtime.suggester import SuggestRequest, Suggester

SOURCES = ["retrieval", "centroid", "extract", "overlap", "prior"]
RECORDS = [
    {"post": "watching the aus open final tonight", "thread": ["great tennis"], "hashtags": ["aus open", "tennis"]},
    {"post": "what a tennis match at the aus open", "thread": [], "hashtags": ["aus open"]},
    {"post": "new phone camera is amazing", "thread": ["which phone"], "hashtags": ["tech"]},
    {"post": "the phone battery died again", "thread": [], "hashtags": ["tech", "fail"]},
    {"post": "cooking pasta with fresh basil", "thread": ["yum"], "hashtags": ["food"]},
    {"post": "best pizza in town tonight", "thread": [], "hashtags": ["food"]},
]


def _tokens(records):
    return [(r["post"].split(), " ".join(r["thread"]).split()) for r in records]


def _column(name):
    return feature_names(SOURCES).index(name)


def test_features_describe_sources_text_and_counts():
    index, lexicon = build_sources(RECORDS, _tokens(RECORDS), [])
    context = FeatureContext.from_sources(index, lexicon)
    post, thread = "tonight the aus open final".split(), "tennis again".split()
    candidates = gather(index, lexicon, [(post, thread)], n=15)[0]
    keys, entries, features = featurize(candidates, post, thread, SOURCES, context, pool=20)
    assert features.shape == (len(keys), len(feature_names(SOURCES)))
    row = features[keys.index("ausopen")]
    assert row[_column("post_tokens")] == 1.0 and row[_column("post_chars")] == 1.0
    assert row[_column("extract:has")] == 1.0
    assert row[_column("log_train_count")] == pytest.approx(np.log1p(2))
    assert row[_column("n_words")] == 2.0
    tennis = features[keys.index("tennis")]
    assert tennis[_column("thread_tokens")] == 1.0 and tennis[_column("post_tokens")] == 0.0
    assert row[_column("n_sources")] >= 2


def test_chinese_tags_match_the_post_by_characters():
    context = FeatureContext({"马航失联": 3}, {"马航失联": 5})
    candidates = {"overlap": [("马航 失联", 0.5)]}
    keys, _, features = featurize(candidates, ["马航", "客机", "失联"], [], ["overlap"], context, pool=20)
    names = feature_names(["overlap"])
    row = features[0]
    assert keys == ["马航失联"]
    assert row[names.index("post_tokens")] == 0.0  # not a contiguous token run
    assert row[names.index("post_word_cover")] == 1.0
    assert row[names.index("post_char_cover")] == 1.0
    assert row[names.index("log_lexicon_count")] == pytest.approx(np.log1p(5))


def test_rerank_json_round_trips(tmp_path):
    weights = np.arange(len(feature_names(SOURCES)), dtype=float) / 10
    Reranker(SOURCES, weights, -1.5, pool=12, meta={"C": 0.1}).save(tmp_path)
    loaded = Reranker.load(tmp_path)
    assert loaded.sources == SOURCES and loaded.pool == 12 and loaded.bias == -1.5 and loaded.meta["C"] == 0.1
    assert np.allclose(loaded.weights, weights)
    data = json.loads((tmp_path / RERANK_JSON).read_text())
    data["features"] = data["features"][::-1]
    with pytest.raises(ValueError):
        Reranker.from_json(data)


def test_reranking_follows_the_weights_and_drops_excluded_tags():
    sources = ["retrieval", "extract"]
    names = feature_names(sources)
    weights = np.zeros(len(names))
    weights[names.index("post_chars")] = 5.0  # tags written in the post win
    reranker = Reranker(sources, weights, -2.0)
    candidates = {"retrieval": [("popular", 0.9), ("aus open", 0.1), ("spam", 0.05)], "extract": [("aus open", 1.0)]}
    ranked = reranker.rank(candidates, "at the ausopen today".split(), [], FeatureContext(), k=5)
    assert [r.words for r in ranked][0] == "aus open"
    assert all(0.0 <= r.score <= 1.0 for r in ranked) and ranked[0].score > ranked[1].score
    assert ranked[0].source == "extract"
    ranked = reranker.rank(candidates, "at the ausopen today".split(), [], FeatureContext(), k=5,
                           exclude={"AusOpen"}, blocklist={"spam"})
    assert [r.words for r in ranked] == ["popular"]


def test_a_logistic_fit_on_labelled_candidates_ranks_gold_first():
    index, lexicon = build_sources(RECORDS, _tokens(RECORDS), [])
    context = FeatureContext.from_sources(index, lexicon)
    pairs = _tokens(RECORDS)
    queries = labelled(gather(index, lexicon, pairs, n=15), pairs, [r["hashtags"] for r in RECORDS], context, SOURCES, 20)
    assert all(len(words) == len(labels) for words, _, labels in queries)
    weights, bias = fit_logistic(queries, 1.0)
    reranker = Reranker(SOURCES, weights, bias)
    top = reranker.rank(gather(index, lexicon, [pairs[4]], n=15)[0], *pairs[4], context, k=1)
    assert top[0].words == "food"


def _folder(tmp_path):
    index = RetrievalIndex.build(RECORDS, str.split)
    index.save(tmp_path)
    TagLexicon.from_tag_lists(r["hashtags"] for r in RECORDS).save(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"language": "en"}))
    (tmp_path / "fusion.json").write_text(json.dumps({"weights": {"retrieval": 1.0}}))
    return tmp_path


def test_the_suggester_uses_rerank_json_when_present_and_falls_back_otherwise(tmp_path):
    folder = _folder(tmp_path)
    request = SuggestRequest("cooking fresh pasta with basil and pizza in the aus open", k=3, lang="en")
    plain = Suggester.from_folders([folder]).suggest(request)
    assert Suggester.from_folders([folder]).models["en"].reranker is None

    names = feature_names(SOURCES)
    weights = np.zeros(len(names))
    weights[names.index("post_tokens")] = 10.0
    Reranker(SOURCES, weights, -5.0).save(folder)
    suggester = Suggester.from_folders([folder])
    model = suggester.models["en"]
    assert model.reranker is not None and set(SOURCES) <= set(model.sources)
    reranked = suggester.suggest(request)
    assert reranked.suggestions[0].words == "aus open"
    assert reranked.suggestions[0].score > 0.99
    assert plain.suggestions[0].words == "food"  # the linear fusion (retrieval alone here)
    # an explicit fusion override means the linear fusion
    assert Suggester.from_folders([folder], fusion={"weights": {"retrieval": 1.0}}).models["en"].reranker is None


def test_feature_crosses_are_stored_and_applied(tmp_path):
    sources = ["retrieval", "extract"]
    crosses = [("retrieval:norm", "post_chars")]
    names = feature_names(sources, crosses)
    assert names[-1] == "retrieval:norm*post_chars"
    weights = np.zeros(len(names))
    weights[-1] = 8.0  # only the product counts: retrieved AND written in the post
    Reranker(sources, weights, -4.0, crosses=crosses).save(tmp_path)
    loaded = Reranker.load(tmp_path)
    assert loaded.crosses == crosses
    candidates = {"retrieval": [("popular", 1.0), ("aus open", 0.5)], "extract": [("tennis", 1.0)]}
    ranked = loaded.rank(candidates, "the ausopen and tennis".split(), [], FeatureContext(), k=3)
    assert ranked[0].words == "aus open"


def test_boosted_trees_agree_with_scikit_learn_and_round_trip(tmp_path):
    from export.rerank import fit_trees
    from inference.runtime.rerank import Trees

    index, lexicon = build_sources(RECORDS, _tokens(RECORDS), [])
    context = FeatureContext.from_sources(index, lexicon)
    pairs = _tokens(RECORDS)
    queries = labelled(gather(index, lexicon, pairs, n=15), pairs, [r["hashtags"] for r in RECORDS], context, SOURCES, 20)
    trees = fit_trees(queries)  # raises when the numpy copy disagrees with scikit-learn
    Reranker(SOURCES, np.zeros(0), 0.0, trees=trees).save(tmp_path)
    loaded = Reranker.load(tmp_path)
    assert isinstance(loaded.trees, Trees) and json.loads((tmp_path / RERANK_JSON).read_text())["model"] == "trees"
    x = np.concatenate([q[1] for q in queries]).astype(np.float64)
    assert np.allclose(loaded.trees.logits(x), trees.logits(x))
    top = loaded.rank(gather(index, lexicon, [pairs[4]], n=15)[0], *pairs[4], context, k=1)
    assert top[0].words == "food" and 0.0 <= top[0].score <= 1.0


def test_hand_built_trees_route_by_threshold():
    from inference.runtime.rerank import Trees

    # one stump on feature 0: x <= 0.5 -> -1, else +2
    trees = Trees(np.array([[0, 0, 0]]), np.array([[0.5, 0, 0]]), np.array([[1, 0, 0]]), np.array([[2, 0, 0]]),
                  np.array([[False, True, True]]), np.array([[0.0, -1.0, 2.0]]), baseline=0.5)
    assert trees.logits(np.array([[0.2], [0.9]])).tolist() == [-0.5, 2.5]


def test_onnxruntime_walks_the_shipped_trees_as_numpy_does_even_on_a_threshold():
    from inference.runtime.rerank import Reranker
    from inference.runtime.tree_graph import TreeSession

    trees = Reranker.load(Path(__file__).parent.parent / "inference" / "models" / "en").trees
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, size=(500, int(trees.feature.max()) + 1))
    inner = ~trees.leaf
    x[np.arange(200), trees.feature[inner][:200]] = trees.threshold[inner][:200]  # exactly on a split
    assert np.allclose(TreeSession(trees).logits(x), trees.logits(x), atol=1e-5)


def test_a_rerank_source_limit_deepens_the_limited_sources_but_not_the_beams(tmp_path):
    folder = _folder(tmp_path)
    names = feature_names(SOURCES)
    Reranker(SOURCES, np.zeros(len(names)), 0.0, source_limit=25).save(folder)
    assert json.loads((folder / RERANK_JSON).read_text())["source_limit"] == 25
    model = Suggester.from_folders([folder]).models["en"]
    assert model.reranker.source_limit == 25
    asked = {}
    prior = model.lexicon.prior
    model.lexicon.prior = lambda n: asked.setdefault("prior", n) and prior(n)

    class Beams:
        beam_size = 10

        def generate(self, pairs, n_best):
            asked["generator"] = n_best
            return [[] for _ in pairs]

    model.generator = Beams()
    model.fusion = {"weights": {"retrieval": 1.0, "generator": 0.5}}
    model.candidates([(["pasta"], [])], 15)
    assert asked == {"prior": 25, "generator": 15}
    Beams.beam_size = 5  # never more finished beams than twice the width
    model.candidates([(["pasta"], [])], 15)
    assert asked == {"prior": 25, "generator": 10}


def test_a_negative_source_limit_is_refused():
    with pytest.raises(ValueError, match="source_limit"):
        Reranker(SOURCES, np.zeros(len(feature_names(SOURCES))), 0.0, source_limit=-1)
