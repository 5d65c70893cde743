"""The judged topic gate: a second topic a labeller would add joins the one the fixed bounds take; the gate
file is refused where it was fitted for other features or another topics file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.topic_gate import fit, keep, labelled
from inference.runtime.sentence_encoder import SentenceEncoder
from inference.runtime.topic_gate import FEATURES, JOIN, RAISED, TOPICS_A_POST, InvalidTopicGate, TopicGate, file_digest, gate_file
from inference.runtime.topics import MIN_COSINE, TopicTags, topics_file

WORDS = ["gaming", "cooking", "travel", "family"]


def _gate(probabilities: list[float]) -> TopicGate:
    """A gate whose probability of each topic is fixed, whatever the post."""
    logits = np.log(np.asarray(probabilities) / (1 - np.asarray(probabilities)))
    f = len(FEATURES)
    return TopicGate(tuple(WORDS), np.zeros(f), np.ones(f), np.zeros(f), 0.0, logits)


def _tags(probabilities: list[float]) -> TopicTags:
    tags = TopicTags(WORDS, np.eye(4, dtype=np.float32))
    tags.gate = _gate(probabilities)
    return tags


CLEARLY_GAMING = np.array([[MIN_COSINE["en"] + 0.2, 0.1, 0.05, 0.0]], dtype=np.float32)


def test_the_shipped_gates_load_for_their_topics_files():
    for lang in ("en", "zh"):
        tags = TopicTags.load(SentenceEncoder.load(), lang)
        assert tags.gate is not None and list(tags.gate.topics) == tags.words


def test_a_likely_second_topic_joins_the_one_the_bounds_take_and_stands_past_the_floor():
    join = JOIN["en"]
    assert _tags([0.9, join + 0.01, 0.2, 0.1]).picked(CLEARLY_GAMING) == [[("gaming", True), ("cooking", True)]]
    assert _tags([0.9, join - 0.01, 0.2, 0.1]).picked(CLEARLY_GAMING) == [[("gaming", True)]]
    zh = _tags([0.9, JOIN["zh"] - 0.01, 0.2, 0.1])
    zh.join = JOIN["zh"]  # each language its own bound, as `TopicTags.load` sets it
    assert zh.picked(CLEARLY_GAMING) == [[("gaming", True)]]


def test_the_gate_never_drops_the_topic_the_bounds_take_and_adds_the_others_it_is_sure_of():
    picked = _tags([0.05, 0.95, 0.95, 0.95]).picked(CLEARLY_GAMING)[0]
    assert picked[0] == ("gaming", True) and len(picked) == TOPICS_A_POST


def test_the_bounds_topic_the_gate_is_sure_of_is_very_clear_though_its_margin_is_small():
    from inference.runtime.topics import CLEAR_MARGIN

    near = np.array([[MIN_COSINE["en"] + 0.2, MIN_COSINE["en"] + 0.2 - CLEAR_MARGIN / 2, 0.0, 0.0]], dtype=np.float32)
    assert _tags([RAISED + 0.01, 0.2, 0.2, 0.2]).picked(near) == [[("gaming", True)]]
    assert _tags([RAISED - 0.01, 0.2, 0.2, 0.2]).picked(near) == [[("gaming", False)]]


def test_a_post_the_bounds_give_no_topic_gets_one_the_gate_is_sure_of():
    torn = np.array([[0.5, 0.49, 0.0, 0.0]], dtype=np.float32)
    assert _tags([0.2, 0.2, 0.2, 0.2]).picked(torn) == [[]]
    assert _tags([0.2, JOIN["en"] + 0.01, 0.2, 0.2]).picked(torn) == [[("cooking", True)]]


def test_without_a_gate_a_post_gets_the_one_chosen_topic():
    tags = TopicTags(WORDS, np.eye(4, dtype=np.float32))
    assert tags.picked(np.vstack([CLEARLY_GAMING, np.zeros((1, 4), dtype=np.float32)])) == [[("gaming", True)], []]


def _write(tmp_path, **changes):
    topics = tmp_path / "topics_en.txt"
    topics.write_text("gaming: video games\ncooking: a recipe\n", encoding="utf-8")
    gate = TopicGate(("gaming", "cooking"), np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0, np.zeros(2))
    data = {**gate.to_json(file_digest(topics), {}), **changes}
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, topics


def test_a_gate_file_loads_and_is_refused_for_another_topics_file_features_or_version(tmp_path):
    path, topics = _write(tmp_path)
    assert TopicGate.load(path, topics, ["gaming", "cooking"]) is not None
    assert TopicGate.load(tmp_path / "none.json", topics, ["gaming", "cooking"]) is None
    with pytest.raises(InvalidTopicGate, match="another topics file"):
        TopicGate.load(path, topics, ["gaming", "travel"])
    topics.write_text("gaming: video games\ncooking: recipes\n", encoding="utf-8")  # edited since the fit
    with pytest.raises(InvalidTopicGate, match="another topics file"):
        TopicGate.load(path, topics, ["gaming", "cooking"])
    for change, message in (({"features": ["cos"]}, "features"), ({"format_version": 9}, "format_version")):
        path, topics = _write(tmp_path, **change)
        with pytest.raises(InvalidTopicGate, match=message):
            TopicGate.load(path, topics, ["gaming", "cooking"])


def test_the_fit_learns_a_topic_labellers_reject_and_skips_topics_they_never_saw():
    rows, labels = [], []
    for n in range(40):  # the same features; #Cooking is usable, #Gaming never
        features = [0.4, 0.4, 0.05, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        rows.append({"id": f"p{n}", "topics": [{"tag": "#Gaming", "words": "gaming", "features": features},
                                               {"tag": "#Cooking", "words": "cooking", "features": features},
                                               {"tag": "#Travel", "words": "travel", "features": features}]})
        labels.append({"id": f"p{n}", "shown": ["#Gaming", "#Cooking"], "usable": ["#Cooking"]})
    x, topic, y, group, place = labelled(rows, labels, WORDS)
    assert len(y) == 80 and set(topic) == {0, 1}  # #Travel was not on the sheet
    gate = fit(x, topic, y, WORDS, c=1.0)
    p = gate.probabilities(x[:2], topic[:2])
    assert p[1] > 0.8 > 0.2 > p[0]


def test_the_gate_file_names_the_topics_file_it_serves():
    for lang in ("en", "zh"):
        data = json.loads(gate_file(lang).read_text(encoding="utf-8"))
        assert data["topics_sha256"] == file_digest(topics_file(lang)) and data["features"] == list(FEATURES)


def test_a_gate_is_kept_for_new_cue_words_and_topics_added_last_and_refused_for_a_topic_moved(tmp_path, monkeypatch):
    path, topics = _write(tmp_path)
    monkeypatch.setattr("export.topic_gate.topics_file", lambda lang: topics)
    monkeypatch.setattr("export.topic_gate.gate_file", lambda lang: path)
    before = file_digest(topics)
    topics.write_text("gaming: video games\ncooking: a recipe\ncooking = sourdough starter\n", encoding="utf-8")
    with pytest.raises(InvalidTopicGate, match="another topics file"):
        TopicGate.load(path, topics, ["gaming", "cooking"])
    keep("en")
    assert TopicGate.load(path, topics, ["gaming", "cooking"]) is not None
    assert json.loads(path.read_text(encoding="utf-8"))["trained"]["kept_for"] == [before]
    topics.write_text("gaming: video games\ncooking: a recipe\ntravel: a trip\n", encoding="utf-8")
    keep("en")  # a topic added after the last: its own bias 0, the rest as fitted
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["topics"] == ["gaming", "cooking", "travel"] and data["topic_bias"][-1] == 0.0
    assert data["trained"]["added"] == ["travel"]
    assert TopicGate.load(path, topics, ["gaming", "cooking", "travel"]) is not None
    topics.write_text("cooking: a recipe\ngaming: video games\ntravel: a trip\n", encoding="utf-8")
    with pytest.raises(InvalidTopicGate, match="other topics"):
        keep("en")
