"""Visual coherence of the bank's tags (image.json grounding.coherence, `python -m export.train_image
coherence`): a photo unlike the bank takes only the tags whose bank photos share them because of what
they show, never one voted for by event photos alone; the relevance floor leaves a photo alone with fewer
tags rather than weak ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_image_knn import photo, write_format2_tagger

from export.train_image.coherence import choose_min_coherence, coherence, far_votes, micro_f1
from inference.runtime.image_folder import load_image_folder
from inference.runtime.image_scoring import ImageFusion, grounded_tags
from inference.runtime.image_tagger import TAG_FLOOR, ImageTagger
from inference.runtime.model_folder import InvalidModelFolder

SHIPPED = Path(__file__).resolve().parents[1] / "inference" / "models" / "image"


def test_an_incoherent_tag_passes_only_on_a_photo_like_the_bank():
    # bank: photo 0 (tags: sky, nyc), photo 1 (sky), photo 2 an event photo (nyc, sandy); sky coherent
    labels = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 1]], np.float32)
    coherent = np.array([True, False, False])
    events = np.array([False, False, True])
    far = np.array([[0.6, 0.55, 0.5]], np.float32)  # an everyday photo: nothing near
    near = np.array([[0.9, 0.5, 0.4]], np.float32)  # a photo of photo 0's set
    only_event = np.array([[0.5, 0.45, 0.95]], np.float32)  # close to the event photo alone
    assert grounded_tags(far, labels, 3, coherent, events, 0.8).tolist() == [[True, False, False]]
    assert grounded_tags(near, labels, 3, coherent, events, 0.8).tolist() == [[True, True, False]]
    assert grounded_tags(only_event, labels, 3, coherent, events, 0.8).tolist() == [[True, False, False]]


def test_a_head_only_guess_passes_on_a_photo_like_the_bank():
    labels = np.array([[1, 0], [1, 0]], np.float32)  # no bank photo votes for tag 1: the head's guess
    got = grounded_tags(np.array([[0.9, 0.2]], np.float32), labels, 2, np.array([True, False]), np.zeros(2, bool), 0.8)
    assert got.tolist() == [[True, True]]


def test_coherence_is_the_share_of_far_votes_that_land_right():
    # two sets of look-alike photos; "cat" on both cats, "nyc" on one photo of each set
    bank = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    labels = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1]], np.float32)  # cat, nyc, dog
    fusion = ImageFusion(knn_k=1, knn_temperature=1.0)
    votes = far_votes([bank], [1.0], labels, np.zeros((4, 0), np.float32), scene=2.0, fusion=fusion)
    coh = coherence(votes, labels, prior=0.0)
    assert coh[0] == 1.0 and coh[2] == 1.0 and coh[1] == 0.0


def test_far_votes_skip_the_same_scene_and_the_same_event():
    bank = np.array([[1, 0], [0.99, 0.141], [0.7, 0.714]], np.float32)
    labels = np.eye(3, dtype=np.float32)
    fusion = ImageFusion(knn_k=1, knn_temperature=1.0)
    events = np.array([[1], [0], [1]], np.float32)  # photos 0 and 2: one event
    votes = far_votes([bank], [1.0], labels, events, scene=0.95, fusion=fusion)
    assert votes[0].sum() == 0  # photo 1 is the same scene, photo 2 the same event: no far neighbour
    assert votes[1, 2] == 1.0  # photo 0 is the same scene: photo 2 votes


def test_the_threshold_is_the_best_held_out_f1():
    rng = np.random.default_rng(0)
    labels = (rng.random((40, 3)) < 0.3).astype(np.float32)
    votes = labels.copy()
    votes[:, 2] = 1.0  # tag 2: voted on every photo, right on few
    c, table = choose_min_coherence(votes, labels, np.array([0.0, 0.5, 0.9]))
    assert c == 0.5 and table[0.5] >= table[0.0]
    assert micro_f1(votes, labels, np.array([True, True, False])) > micro_f1(votes, labels, np.ones(3, bool))


def coherence_folder(folder: Path, coherent: list[float], near: float, **fusion) -> Path:
    write_format2_tagger(folder)
    config = json.loads((folder / "image.json").read_text())
    config["fusion"].update(fusion)
    config["grounding"] = {"event_tags": [], "person_tags": [],
                           "coherence": {"tags": coherent, "min_coherence": 0.5, "near_similarity": near}}
    (folder / "image.json").write_text(json.dumps(config))
    return folder


def test_the_tagger_drops_an_incoherent_tag_for_a_photo_unlike_the_bank(tmp_path):
    red = photo((230, 30, 30))
    plain = ImageTagger(coherence_folder(tmp_path / "a", [1, 1, 1, 1], near=5.0))
    gated = ImageTagger(coherence_folder(tmp_path / "b", [1, 1, 1, 0], near=5.0))  # sunset incoherent, nothing near
    like_bank = ImageTagger(coherence_folder(tmp_path / "c", [1, 1, 1, 0], near=0.0))
    assert "sunset" in dict(plain.tag_batch([red], k=4)[0])
    assert "sunset" not in dict(gated.tag_batch([red], k=4)[0])
    assert "sunset" in dict(like_bank.tag_batch([red], k=4)[0])


def test_the_floor_leaves_fewer_tags_rather_than_weak_ones(tmp_path):
    tagger = ImageTagger(coherence_folder(tmp_path / "image", [1, 1, 1, 1], near=0.0, imagenet=0.5))
    red = tagger.preprocess(photo((230, 30, 30)))
    filled, = tagger.tag_arrays([red], k=8)
    floored, = tagger.tag_arrays([red], k=8, floors=[True])
    assert len(filled) == 8 and 0 < len(floored) < len(filled)
    assert [w for w, _ in floored] == [w for w, _ in filled][: len(floored)]  # same order, the weak ones cut


def test_a_coherence_list_of_the_wrong_length_is_refused(tmp_path):
    folder = coherence_folder(tmp_path / "image", [1, 1], near=0.5)
    with pytest.raises(InvalidModelFolder, match="one number per tag"):
        load_image_folder(folder)


def test_the_shipped_folder_knows_its_tags_coherence():
    spec = load_image_folder(SHIPPED)
    assert spec.coherence is not None and len(spec.coherence.tags) == len(spec.tags)
    coherent = dict(zip(spec.tags, spec.coherence.coherent))
    assert coherent["cat"] and coherent["sky"] and coherent["beach"]
    assert not coherent["nyc"] and not coherent["tc ot"]
    assert 0 < TAG_FLOOR < 1
