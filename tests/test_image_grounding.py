"""Grounded photo tags: a kNN neighbour votes only when it is close enough (fusion.min_similarity), a
weak neighbourhood leaves its places to the ImageNet tags, and event or person tags never come from the
photo alone (image.json grounding), only when the caption names them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from test_image_knn import photo, write_format2_tagger

from inference.runtime.image_scoring import ImageFusion, knn_support, knn_vote, score_tags
from inference.runtime.image_tagger import ImageTagger, names_in
from export.train_image.grounding import event_bound, event_names, event_tags, heldout_top1

EVENT = "boston marathon"


def event_bank_folder(folder: Path, **fusion) -> Path:
    """The format-2 fixture (training photos: red, green, blue) whose red photo is an event photo: its
    second tag is "boston marathon", listed in grounding.event_tags."""
    write_format2_tagger(folder)
    config = json.loads((folder / "image.json").read_text())
    config["tags"] = ["red", "green", "blue", EVENT]
    config["fusion"].update(fusion)
    config["grounding"] = {"event_tags": [EVENT], "person_tags": []}
    (folder / "image.json").write_text(json.dumps(config))
    return folder


def test_a_far_neighbour_does_not_vote_below_the_threshold():
    sims = np.array([[0.9, 0.3]], np.float32)
    labels = np.array([[1, 0], [0, 1]], np.float32)
    everyone = knn_vote(sims, labels, k=2, temperature=1.0)
    grounded = knn_vote(sims, labels, k=2, temperature=1.0, min_similarity=0.5)
    assert everyone[0, 1] > 0 and grounded[0, 1] == 0
    assert grounded[0, 0] == everyone[0, 0]  # the far neighbour's weight is dropped, not handed on
    assert knn_support(sims, 2, 1.0, 0.5)[0] == everyone[0, 0]


def test_a_photo_unlike_the_bank_scores_nothing_from_it():
    fusion = ImageFusion(head=0.5, knn=1.0, knn_k=2, min_similarity=0.5)
    labels = np.array([[1, 0], [0, 1]], np.float32)
    head = np.full((2, 2), 0.5, np.float32)
    sims = {"cnn": np.array([[0.2, 0.1], [0.9, 0.8]], np.float32)}
    scores = score_tags(head, sims, labels, fusion, np.ones(2, np.float32))
    assert (scores[0] == 0).all()  # no training photo is close: neither kNN nor the head speaks
    assert (scores[1] > 0).all()


def test_a_portrait_next_to_an_event_photo_gets_no_event_tag(tmp_path):
    tagger = ImageTagger(event_bank_folder(tmp_path / "image"))
    portrait = tagger.preprocess(photo((230, 30, 30)))  # nearest training photo: the event photo
    alone, = tagger.tag_arrays([portrait], k=4)
    assert alone[0][0] == "red" and EVENT not in dict(alone)
    named, = tagger.tag_arrays([portrait], k=4, texts=["cheering at the #BostonMarathon today"])
    assert EVENT in dict(named)


def test_open_vocabulary_tags_fill_in_when_no_neighbour_is_close(tmp_path):
    tagger = ImageTagger(event_bank_folder(tmp_path / "image", imagenet=0.5, min_similarity=5.0))
    tags, = tagger.tag_batch([photo((230, 30, 30))], k=3)
    assert len(tags) == 3 and not set(dict(tags)) & {"red", "green", "blue", EVENT}
    assert set(dict(tags)) <= set(tagger.imagenet_words)


def test_a_caption_names_a_tag_whatever_its_spacing_and_case():
    tags = frozenset({"boston marathon", "sandy"})
    assert names_in("Boston-Marathon finish line", tags) == {"boston marathon"}
    assert names_in("", tags) == set() and names_in("a sunny day", tags) == set()


def test_event_tags_come_from_the_safety_lexicon_and_the_banks_events():
    safety = {"events": [{"tags": {"en": ["frankenstorm"]}, "terms": {"en": ["hurricane sandy"]}}]}
    names = event_names(["mediaeval-sochi_fake_01", "mediaeval-sochi_real_02", "mediaeval-sochi_real_03",
                         "mediaeval-underwater_fake_01", "corel-1"], min_photos=3)
    assert names == {"sochi"}
    tags = ["sky", "frankenstorm", "hurricane sandy 2012", "sochi problems", "underwater"]
    assert event_tags(tags, safety, names) == ["frankenstorm", "hurricane sandy 2012", "sochi problems"]


def test_the_threshold_is_read_on_held_out_folds():
    bank = np.eye(4, dtype=np.float32)[[0, 0, 1, 1, 2, 2, 3, 3]]  # pairs of identical photos
    top1 = heldout_top1([bank], [1.0], folds=2)
    assert top1.shape == (8,) and set(np.round(top1, 3)) <= {0.0, 1.0}


def test_a_hashtag_learned_from_one_events_photos_alone_is_that_events_tag():
    tags = ["sky", "nyc", "wow"]  # the first tag a Corel word, then the hashtags
    photo_ids = ["corel-1", "mediaeval-sandyA_fake_01", "mediaeval-sandyB_real_02", "mediaeval-boston_fake_01"]
    labels = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]], np.float32)
    assert event_bound(tags, labels, photo_ids, {"sandy", "boston"}, first=1) == ["nyc"]  # wow: two events
