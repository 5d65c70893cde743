"""A photo fused with its text: the photo corroborates an event tag the text supports (it never gives one
alone), and the safety filter still needs the text to be about a disaster or crime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from service_fixtures import write_retrieval_model
from test_image_grounding import event_bank_folder
from test_image_knn import photo

from inference.runtime.ranking import Ranked, normalise, text_first
from inference.runtime.safety import SafetyFilter
from inference.runtime.suggester import Suggester, SuggestRequest

LEXICON = Path(__file__).resolve().parent.parent / "inference" / "models" / "safety.json"
RED = (230, 30, 30)  # nearest training photo: the bank's event photo
# posts whose neighbours carry the event tag, though the caption below never names it
RECORDS = [
    ("crowds cheering at the finish line", ["EVENT", "finish line"]),
    ("runners at the finish line this morning", ["EVENT", "running"]),
    ("finish line of the big race", ["finish line", "race"]),
] + [(f"the red team won the cup {word}", ["red", "football"]) for word in ("final", "again", "at home", "away", "today")]
CAPTION = "what a scene at the finish line"


def models_dir(root: Path, event: str) -> Path:
    records = [(post, [event if t == "EVENT" else t for t in tags]) for post, tags in RECORDS]
    write_retrieval_model(root / "en", "en", records=records)
    folder = event_bank_folder(root / "image")
    config = json.loads((folder / "image.json").read_text())
    config["tags"][-1] = event
    config["grounding"]["event_tags"] = [event]
    (folder / "image.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="module")
def marathon(tmp_path_factory) -> Suggester:
    return Suggester.from_models_dir(models_dir(tmp_path_factory.mktemp("marathon"), "boston marathon"), ocr=None)


def test_the_photo_never_gives_an_event_tag_alone(marathon):
    pixels = marathon.image_tagger.preprocess(photo(RED))
    alone = marathon.suggest(SuggestRequest("", image=pixels, k=5))
    assert "boston marathon" not in [s.words for s in alone.suggestions]
    assert not any("boston marathon" == w for w, _ in marathon._image_candidates([SuggestRequest("", image=pixels)], {})[0])


def test_the_photo_corroborates_an_event_tag_its_text_supports(marathon):
    pixels = marathon.image_tagger.preprocess(photo(RED))
    request = SuggestRequest(CAPTION, image=pixels, k=5)
    tags = dict(marathon._image_candidates([request], {0: ["boston marathon", "finish line"]})[0])
    assert "boston marathon" in tags
    text_only = marathon.suggest(SuggestRequest(CAPTION, k=5)).suggestions
    fused = marathon.suggest(request).suggestions
    score = {s.words: s.score for s in text_only}
    assert "boston marathon" in score  # the text's own candidate...
    # ...which the photo's event neighbour confirms: it leads the fused list, the image among its sources
    assert fused[0].words == "boston marathon" and fused[0].score > 0


def test_a_text_that_does_not_support_the_event_gets_no_event_tag_from_the_photo(marathon):
    pixels = marathon.image_tagger.preprocess(photo(RED))
    fused = marathon.suggest(SuggestRequest("the red team won the cup", image=pixels, k=5))
    assert "boston marathon" not in [s.words for s in fused.suggestions]


def test_a_disaster_tag_the_text_candidates_hold_still_needs_the_caption_to_be_about_it(tmp_path):
    root = models_dir(tmp_path, "boston bombing")
    assert not SafetyFilter.load(LEXICON).check("boston bombing", CAPTION, "en").allowed
    suggester = Suggester.from_models_dir(root, ocr=None)  # the shipped lexicon
    pixels = suggester.image_tagger.preprocess(photo(RED))
    assert "boston bombing" in dict(suggester._image_candidates([SuggestRequest(CAPTION, image=pixels)], {0: ["boston bombing"]})[0])
    fused = suggester.suggest(SuggestRequest(CAPTION, image=pixels, k=5))
    assert fused.suggestions and "boston bombing" not in [s.words for s in fused.suggestions]


def test_the_photos_scores_weigh_as_its_confidence():
    unsure = [("web site", 0.45), ("computer", 0.36)]
    assert normalise(unsure, "raw") == unsure and normalise(unsure, "max")[0][1] == 1.0
    assert normalise([("x", 1.7), ("y", -0.2)], "raw") == [("x", 1.0), ("y", 0.0)]


def test_the_photos_own_tags_follow_the_texts_candidates():
    fused = [Ranked("web site", 0.25, "image"), Ranked("sandy", 0.2, "retrieval"), Ranked("nyc", 0.15, "image"),
             Ranked("computer", 0.1, "image")]
    text = {"retrieval": [("sandy", 3.0), ("NYC", 1.0)]}
    assert [r.words for r in text_first(fused, text)] == ["sandy", "nyc", "web site", "computer"]
    assert text_first(fused, {}) == fused


def test_an_unsure_photo_tag_never_tops_a_caption(marathon):
    pixels = marathon.image_tagger.preprocess(photo((5, 5, 250)))  # blue: the photo's own tags only
    fused = marathon.suggest(SuggestRequest("the red team won the cup", image=pixels, k=3)).suggestions
    assert fused[0].source != "image"
    assert fused[-1].source == "image"  # round(3/3) = 1 place kept for the photo


def test_an_event_tag_the_text_names_passes_the_photos_grounding(tmp_path):
    """An event photo's neighbours are event photos, whose votes the visual-coherence grounding ignores
    (image.json grounding.coherence); the event tag itself, when the text names it, still comes."""
    folder = event_bank_folder(tmp_path / "image")
    config = json.loads((folder / "image.json").read_text())
    config["grounding"]["coherence"] = {"tags": [0.0] * len(config["tags"]), "min_coherence": 0.5, "near_similarity": 0.999}
    (folder / "image.json").write_text(json.dumps(config))
    from inference.runtime.image_tagger import ImageTagger

    tagger = ImageTagger(folder)
    pixels = tagger.preprocess(photo(RED))
    alone, = tagger.tag_arrays([pixels], k=4)
    named, = tagger.tag_arrays([pixels], k=4, texts=["what a scene #BostonMarathon"])
    assert not {"red", "boston marathon"} & set(dict(alone))  # nothing from the event photo alone
    assert "boston marathon" in dict(named) and "red" not in dict(named)
