"""The judged tag ranker (inference/runtime/tag_ranker.py): an English list is sorted by how likely a
person would add each tag, learnt from judged candidates (export/tag_ranker.py); the runtime refuses a
ranker file built for other features; a name the post writes can stand past the floor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.tag_ranker import cross_validate, fit, half, labelled, main, score, weights, write_sheet
from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
from inference.runtime.shown_vectors import ShownVectors, shown_text
from inference.runtime.tag_index import TagIndex
from inference.runtime.tag_ranker import FEATURES, TAG_RANKER, InvalidTagRanker, TagRanker, features, with_head

TAGS = ["yoga", "pose", "lying"]


def _grounder(**config) -> Grounder:
    index = TagIndex(np.zeros((len(TAGS), 4), dtype=np.float32), TAGS, np.array([90, 5, 2]))
    return Grounder(None, index, GroundingConfig(floor=0.5, **config), "en")


def _entry(words: str, relevance: float, source: str = "vocab", **extra) -> dict:
    return {"words": words, "model": 0.0, "relevance": relevance, "source": source, "cos": 0.5, **extra}


def _ranker(**weights) -> TagRanker:
    w = np.array([weights.get(name, 0.0) for name in FEATURES])
    return TagRanker(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), w, 0.0)


TEXT = "savasana is my favourite pose because it's lying down"


def _pool() -> dict[str, dict]:
    return {"lying": _entry("lying", 0.9, "phrase", phrase=0.3), "pose": _entry("pose", 0.8, "phrase", phrase=0.2),
            "yoga": _entry("yoga", 0.7)}


def test_without_a_ranker_the_weighted_sum_orders_the_list():
    ranked = _grounder()._finish(Prepared(_pool(), TEXT), set(), False).ranked
    assert [r.words for r in ranked] == ["lying", "pose", "yoga"]


def test_a_ranker_orders_the_list_by_its_probability_and_scores_stay_in_0_1():
    grounder = _grounder()
    grounder.ranker = _ranker(one_word_phrase=-2.0, log_count=5.0)  # a post's fragment down, a common tag up
    ranked = grounder._finish(Prepared(_pool(), TEXT), set(), False).ranked
    assert [r.words for r in ranked] == ["yoga", "pose", "lying"]
    assert all(0.0 <= r.score <= 1.0 for r in ranked)


def test_features_name_what_they_hold():
    row = with_head([features(_entry("yoga pose", 0.7, "vocab", dense=0.1), TEXT, 0.3, 12)])[0]
    named = dict(zip(FEATURES, row))
    assert len(row) == len(FEATURES) and named["base"] == 0.3 and named["from_vocab"] == 1.0
    assert named["in_post"] == 0.5 and named["one_word"] == 0.0 and named["dense"] == 0.1
    assert features(_entry("lying", 0.9, "phrase"), TEXT, 0.3, 2)[FEATURES.index("one_word_phrase")] == 1.0


def test_a_name_the_post_writes_stands_past_the_floor_only_where_the_folder_says_so():
    pool = {"alcaraz": _entry("alcaraz", 0.05, "phrase", phrase=0.7, name=0.7), "sleep": _entry("sleep", 0.9)}
    text = "Alcaraz vs Sinner at 2am, no sleep"
    off = _grounder()._finish(Prepared(pool, text), set(), True)
    on = _grounder(names_past_floor=True)._finish(Prepared(pool, text), set(), True)
    assert [r.words for r in off.ranked] == ["sleep"] and off.floored
    assert {r.words for r in on.ranked} == {"alcaraz", "sleep"}


def test_the_shown_cosine_is_read_against_the_whole_head():
    rows = with_head([features(_entry(w, 0.5, shown_cos=c), TEXT, 0.3, 2) for w, c in (("yoga", 0.6), ("pose", 0.2), ("lying", 0.4))])
    named = [dict(zip(FEATURES, row)) for row in rows]
    assert [n["shown_cos"] for n in named] == [0.6, 0.2, 0.4] and [n["shown_top"] for n in named] == [1.0, 0.0, 0.0]
    assert named[0]["shown_z"] > 0.0 > named[1]["shown_z"] and abs(named[2]["shown_z"]) < 1e-6
    assert with_head([]) == []


class _Encoder:
    """Counts what it encodes; each text's vector is [1, len(text)] normalised."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        v = np.array([[1.0, len(t)] for t in texts], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_tag_is_encoded_as_shown_once_and_without_a_context_its_cosine_stands_in():
    assert shown_text("nba finals", "en") == "NBA Finals" and shown_text("重庆 火锅", "zh") == "重庆火锅"
    grounder, encoder = _grounder(), _Encoder()
    grounder.encoder = encoder
    entries = [_entry("yoga pose", 0.5), _entry("lying", 0.5)]
    grounder.mark_shown(entries, np.array([0.0, 1.0], dtype=np.float32))
    grounder.mark_shown([_entry("yoga pose", 0.5)], np.array([0.0, 1.0], dtype=np.float32))
    assert encoder.seen == ["Yoga Pose", "Lying"] and entries[0]["shown_cos"] > entries[1]["shown_cos"] > 0.9
    grounder.mark_shown(entries, None)
    assert [e["shown_cos"] for e in entries] == [0.5, 0.5]


def test_the_vocabularys_shown_vectors_come_from_its_table_and_other_tags_are_kept_as_they_are_encoded():
    encoder = _Encoder()
    shown = ShownVectors(np.array([[1.0, 0.0]], dtype=np.float16), {"yoga": 0}, "en", 10)
    items = [("savasana", "savasana")]
    assert shown.texts_beside(items) == ["Savasana"]
    shown.keep(items, encoder.encode(shown.texts_beside(items)))
    entries = [_entry("yoga", 0.5), _entry("savasana", 0.5)]
    shown.cosines(entries, np.array([1.0, 0.0], dtype=np.float32), encoder)
    assert encoder.seen == ["Savasana"] and entries[0]["shown_cos"] == 1.0 and 0.0 < entries[1]["shown_cos"] < 0.2
    zh = ShownVectors(None, {}, "zh", 10)  # a Chinese tag shows as its words are embedded: their vectors serve
    assert zh.texts_beside([("火锅", "火锅")]) == []


def test_the_runtime_refuses_a_ranker_file_built_for_other_features(tmp_path):
    assert TagRanker.load(tmp_path) is None  # no file: no ranker
    good = _ranker(base=1.0).to_json({"posts": 1})
    (tmp_path / TAG_RANKER).write_text(json.dumps(good))
    assert TagRanker.load(tmp_path).weights[0] == 1.0
    for broken in ({**good, "features": good["features"][:-1]}, {**good, "weights": [1.0]},
                   {**good, "format_version": 2}, {**good, "scale": [0.0] * len(FEATURES)}, {"format_version": 1}):
        (tmp_path / TAG_RANKER).write_text(json.dumps(broken))
        with pytest.raises(InvalidTagRanker):
            TagRanker.load(tmp_path)
    (tmp_path / TAG_RANKER).write_text("{not json")
    with pytest.raises(InvalidTagRanker):
        TagRanker.load(tmp_path)


def _rows(n: int) -> list[dict]:
    """Candidate rows of n posts: a topic tag (usable) and a fragment of the post (not), the fragment
    ahead by the weighted sum."""
    rows = []
    for i in range(n):
        fragment, topic = with_head([features(_entry("lying", 0.9, "phrase", phrase=0.3), TEXT, 0.3, 2),
                                     features(_entry("yoga", 0.7), TEXT, 0.2, 90)])
        rows.append({"id": f"p{i}", "post": TEXT, "thread": [], "candidates": [
            {"tag": "#Lying", "key": "lying", "base": 0.3, "features": fragment},
            {"tag": "#Yoga", "key": "yoga", "base": 0.2, "features": topic}]})
    return rows


def test_a_ranker_fitted_on_labels_puts_the_usable_tag_first_in_held_out_posts():
    rows = _rows(20)
    labels = [{"id": r["id"], "usable": ["#Yoga"]} for r in rows]
    data = labelled(rows, labels)
    assert data.x.shape == (40, len(FEATURES)) and data.y.sum() == 20 and data.group.max() == 19 and data.judged.all()
    report = cross_validate(data, 1.0, 0.5)
    assert report["judged"]["weighted_sum"][1] == 0.0 and report["judged"]["ranker"][1] == 1.0  # usable at rank 1
    assert fit(data.x, data.y).probabilities([rows[0]["candidates"][1]["features"]])[0] > 0.5


def test_gold_rows_label_their_own_candidates_and_share_the_weight_as_asked():
    rows = _rows(4) + [{**row, "id": f"g{i}", "gold": ["lying"]} for i, row in enumerate(_rows(12))]
    data = labelled(rows, [{"id": "p0", "usable": ["#Yoga"]}])  # p1..p3 have no label line
    judged = data.judged
    assert judged.sum() == 2 and (~judged).sum() == 24 and data.y[~judged].sum() == 12
    w = weights(judged, 0.3)
    assert np.isclose(w[judged].sum() / w.sum(), 0.3) and np.isclose(w.sum(), len(w))
    assert half(rows, "a") == rows[0::2] and half(rows, "b") == rows[1::2]


def test_a_judges_sheet_shuffles_each_posts_candidates_the_same_way_every_time():
    rows = _rows(4)
    sheet = write_sheet(rows, (1, 2))
    assert sheet == write_sheet(rows, (1, 2)) and "## p0" in sheet and "## p2" in sheet and "## p1" not in sheet
    assert "#Yoga" in sheet and "#Lying" in sheet


def test_a_chinese_candidates_features_read_the_chinese_post():
    entry = _entry("重庆 火锅", 0.8, "vocab")
    named = dict(zip(FEATURES, features(entry, "今天 的 重庆火锅 真 好吃", 0.4, 30, "zh")))
    assert named["in_post"] == 1.0 and named["one_word"] == 0.0
    assert dict(zip(FEATURES, features(entry, "今天 吃 面条", 0.4, 30, "zh")))["in_post"] == 0.0


def test_a_folders_ranker_is_scored_on_labelled_posts_it_never_saw(tmp_path):
    rows = _rows(6)
    labels = [{"id": r["id"], "shown": ["#Yoga", "#Lying"], "usable": ["#Yoga"]} for r in rows]
    (tmp_path / TAG_RANKER).write_text(json.dumps(_ranker(log_count=5.0).to_json({})))
    scored = score(rows, labels, tmp_path)
    assert scored["posts"] == 6 and scored["weighted_sum"][1] == 0.0 and scored["ranker"][1] == 1.0
    assert scored["best possible"] == (1.0, 1.0)


def test_a_fit_can_leave_a_feature_out_to_measure_it_but_never_writes_such_a_ranker(tmp_path, capsys):
    rows, labels = tmp_path / "c.jsonl", tmp_path / "l.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in _rows(10)))
    labels.write_text("".join(json.dumps({"id": f"p{i}", "usable": ["#Yoga"]}) + "\n" for i in range(10)))
    main(["fit", "--candidates", str(rows), "--labels", str(labels), "--leave-out", "log_count", "--leave-out", "base"])
    assert json.loads(capsys.readouterr().out)["judged"]["ranker"][1] == 1.0  # the other features still tell
    with pytest.raises(SystemExit):
        main(["fit", "--candidates", str(rows), "--labels", str(labels), "--leave-out", "base", "--write", str(tmp_path)])
    assert not (tmp_path / TAG_RANKER).exists()


def test_the_vocabularys_table_is_built_once_into_the_cache_folder_and_chinese_uses_the_index(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGSMITH_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "tag_index.npz"
    source.write_bytes(b"the index file the table derives from")
    raw = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    first, second = _Encoder(), _Encoder()
    for encoder in (first, second):
        shown = ShownVectors.for_vocabulary(encoder, ["nba finals", "yoga"], raw, [source], "int8", 10, "en")
    assert first.seen == ["NBA Finals", "Yoga"] and second.seen == []  # read back from the cache folder
    assert shown.table.dtype == np.float16 and shown.rows == {"nbafinals": 0, "yoga": 1}
    zh = ShownVectors.for_vocabulary(first, ["火锅", "奶茶"], raw, [source], "int8", 10, "zh")
    assert zh.table.tolist() == raw.tolist() and first.seen == ["NBA Finals", "Yoga"]


def test_a_very_clear_topic_stands_past_the_floor_and_a_plain_one_does_not():
    text = "packed the last box, the van is loaded, new flat tomorrow"
    pool = {"moving": _entry("moving", 0.1, "phrase", phrase=0.5, topic=True), "sleep": _entry("sleep", 0.9),
            "boxes": _entry("boxes", 0.1, "phrase", phrase=0.5)}
    kept = _grounder()._finish(Prepared(pool, text), set(), True)
    assert {r.words for r in kept.ranked} == {"moving", "sleep"} and kept.floored


def test_a_title_the_post_writes_in_book_marks_stands_past_the_floor():
    pool = {"繁花": _entry("繁花", 0.05, "phrase", phrase=0.85, name=0.85, work=True), "yoga": _entry("yoga", 0.9)}
    assert {r.words for r in _grounder()._finish(Prepared(pool, "补完了《繁花》"), set(), True).ranked} == {"繁花", "yoga"}
