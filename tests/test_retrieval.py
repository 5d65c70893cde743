"""Retrieval index: nearest training posts vote their hashtags; the index survives save/load."""

import numpy as np
import scipy.sparse as sp

from inference.runtime.retrieval import RetrievalConfig, RetrievalIndex, TagLexicon, query_columns

RECORDS = [
    {"post": "nadal wins the australian open final", "thread": ["what a match"], "hashtags": ["aus open", "tennis"]},
    {"post": "federer serves an ace at wimbledon", "thread": [], "hashtags": ["wimbledon", "tennis"]},
    {"post": "new iphone camera is amazing", "thread": ["apple did it again"], "hashtags": ["iphone"]},
    {"post": "cooking pasta with fresh basil", "thread": ["recipe please"], "hashtags": ["food"]},
    {"post": "a post without hashtags", "thread": [], "hashtags": []},
]


def tokenize(text):
    return text.lower().split()


def build(**config):
    return RetrievalIndex.build(RECORDS, tokenize, RetrievalConfig(**config))


def test_nearest_post_votes_its_hashtags_first():
    index = build()
    [votes] = index.query([tokenize("who won the australian open")], k_neighbors=2)
    assert votes[0][0] in {"aus open", "tennis"}
    assert {t for t, _ in votes[:2]} == {"aus open", "tennis"}
    assert abs(sum(s for _, s in votes) - 1.0) < 1e-6


def test_records_without_hashtags_are_not_indexed():
    assert build().stats["docs"] == 4


def test_thread_tokens_count_in_queries_and_documents():
    index = build(thread_weight=1.0)
    [votes] = index.query([(tokenize("look at this"), tokenize("apple did it again"))], k_neighbors=1)
    assert votes[0][0] == "iphone"


def test_query_with_unknown_words_returns_no_votes():
    assert build().query([["zzz", "qqq"]], k_neighbors=3) == [[]]


def test_save_load_round_trip_gives_the_same_votes(tmp_path):
    index = build(top_terms=4)
    index.save(tmp_path)
    loaded = RetrievalIndex.load(tmp_path)
    queries = [tokenize("pasta recipe with basil"), tokenize("ace at wimbledon"), (["iphone"], ["camera"])]
    for before, after in zip(index.query(queries, 3), loaded.query(queries, 3)):
        assert [t for t, _ in before] == [t for t, _ in after]
        for (_, a), (_, b) in zip(before, after):
            assert abs(a - b) < 1e-3
    assert loaded.config.top_terms == 4
    assert all(index.docs.getnnz(axis=1) <= 4)


def test_chinese_character_bigrams_match_differently_segmented_words():
    records = [{"post": "马航客机 失联", "thread": [], "hashtags": ["马航 飞机 失联"]},
               {"post": "今晚 吃 火锅", "thread": [], "hashtags": ["美食"]}]
    index = RetrievalIndex.build(records, str.split, RetrievalConfig(char_ngrams=2))
    [votes] = index.query([["马航", "客机"]], k_neighbors=1)
    assert votes[0][0] == "马航 飞机 失联"


def test_lexicon_extracts_known_tags_ignoring_spaces_and_case_and_ranks_the_prior():
    lexicon = TagLexicon.from_tag_lists([["aus open"], ["aus open", "tennis"], ["马航 飞机 失联"]])
    assert lexicon.extract(["watching", "AusOpen", "now"], ["tennis", "tennis"])[:2] == [("aus open", 1.0), ("tennis", 0.6)]
    assert lexicon.extract(["马航飞机", "失联"])[0][0] == "马航 飞机 失联"
    assert lexicon.prior(2) == [("aus open", 1.0), ("tennis", 0.5)]


def test_lexicon_overlap_scores_the_share_of_tag_words_present(tmp_path):
    lexicon = TagLexicon.from_tag_lists([["马航 飞机 失联"], ["飞机"], ["美食"]])
    scores = dict(lexicon.overlap(["马航", "新闻"], [], lambda w: 1.0))
    assert abs(scores["马航 飞机 失联"] - 1 / 3) < 1e-9 and "美食" not in scores
    lexicon.save(tmp_path)
    assert TagLexicon.load(tmp_path).counts == lexicon.counts


def test_the_centroid_sources_top_tags_are_a_stable_sort_of_the_positive_ones():
    import numpy as np

    from inference.runtime.retrieval_centroids import top_positive

    rng = np.random.default_rng(1)
    for _ in range(200):
        row = np.round(rng.normal(size=int(rng.integers(0, 300))), 1)  # many ties
        limit = int(rng.integers(0, 40))
        positive = np.flatnonzero(row > 0)
        assert top_positive(row, limit).tolist() == positive[np.argsort(-row[positive], kind="stable")[:limit]].tolist()


def test_query_columns_are_the_query_terms_and_their_weights():
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = sp.random(3, 400, density=0.05, format="csr", dtype=np.float32, random_state=rng)
        terms, weights = query_columns(q)
        assert np.array_equal(terms, np.unique(q.indices))
        assert np.array_equal(weights, q[:, terms].toarray())


def test_the_prior_is_the_full_count_order_below_and_above_its_kept_tags(monkeypatch):
    import inference.runtime.retrieval as retrieval

    monkeypatch.setattr(retrieval, "PRIOR_KEPT", 3)
    lexicon = TagLexicon({"tennis": 5, "aus open": 9, "final": 5, "pasta": 1, "ace": 5})
    order = [("aus open", 1.0), ("ace", 5 / 9), ("final", 5 / 9), ("tennis", 5 / 9), ("pasta", 1 / 9)]
    assert lexicon.prior(2) == order[:2] and lexicon.prior(3) == order[:3]
    assert lexicon.prior(4) == order[:4] and lexicon.prior(10) == order
