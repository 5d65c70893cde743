"""The grounding stage: tags about the post, a relevance floor, the safety filter, other languages."""

from __future__ import annotations

import pytest

from inference.runtime.grounding import NAME_KINDS
from inference.runtime.sentence_encoder import SentenceEncoder
from inference.runtime.suggester import SuggestRequest, Suggester
from inference.text.phrases import extract_phrases
from service_fixtures import EN_RECORDS, write_grounding, write_retrieval_model

# A near-duplicate of the tennis posts carries a tag that has nothing to do with tennis, and a beach
# post carries a disaster's tag: retrieval votes both onto similar posts.
RECORDS = EN_RECORDS + [
    ("Watching the tennis final in Melbourne tonight with friends", ["las vegas"]),
    ("Beach day with the kids, sandy toes everywhere", ["hurricane sandy"]),
]
TENNIS = "Watching the tennis final in Melbourne tonight, what a match"


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder.load()


@pytest.fixture(scope="module")
def folders(tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("grounding")
    plain = write_retrieval_model(root / "plain" / "en", "en", RECORDS)
    grounded = write_grounding(write_retrieval_model(root / "grounded" / "en", "en", RECORDS), encoder)
    return plain, grounded


@pytest.fixture(scope="module")
def plain(folders):
    return Suggester.from_folders([folders[0]])


@pytest.fixture(scope="module")
def grounded(folders):
    return Suggester.from_folders([folders[1]])


def words(result):
    return [s.words for s in result.suggestions]


def test_a_far_neighbours_tag_is_suggested_without_grounding(plain):
    assert "las vegas" in words(plain.suggest(SuggestRequest(TENNIS, k=10)))


def test_a_far_neighbours_tag_is_dropped_by_the_grounding_stage(grounded):
    result = grounded.suggest(SuggestRequest(TENNIS, k=10))
    assert "las vegas" not in words(result)
    assert "tennis" in words(result)


def test_tags_are_taken_from_the_post_itself(grounded):
    result = grounded.suggest(SuggestRequest("Finally beat Malenia after 47 tries. Elden Ring is brutal", k=5))
    assert "elden ring" in words(result)
    assert any(s.source == "phrase" for s in result.suggestions)


def test_the_floor_returns_fewer_tags_for_an_emoji_only_post(grounded):
    served = grounded.suggest(SuggestRequest("😂😂🔥", k=5))
    filled = grounded.suggest(SuggestRequest("😂😂🔥", k=5, floor=False))
    assert len(served.suggestions) < 5 and served.below_floor
    assert len(filled.suggestions) > len(served.suggestions)


def test_under_the_floor_emoji_or_a_bare_link_get_no_tag_but_a_thread_in_words_does(grounded):
    for wordless in ("😂😂🔥", "https://example.com/watch?v=123", "@bob 👍 12:30"):
        served = grounded.suggest(SuggestRequest(wordless, k=5))
        assert served.suggestions == [] and served.below_floor, wordless
    assert grounded.suggest(SuggestRequest("🔥🔥", ("what a tennis final in Melbourne",), k=5)).suggestions


def test_a_disaster_tag_never_lands_on_a_post_that_is_not_about_it(grounded):
    result = grounded.suggest(SuggestRequest("Beach day with the kids, sandy toes everywhere", k=10, floor=False))
    assert "hurricane sandy" not in words(result)


def test_another_language_gets_vocabulary_suggestions_never_the_english_models(grounded):
    result = grounded.suggest(SuggestRequest("오늘 밤 멜버른에서 테니스 결승전을 봤어요", k=5, floor=False))
    assert result.lang == "ko" and result.model.endswith(":vocabulary")
    assert result.suggestions and {s.source for s in result.suggestions} == {"vocab"}


def test_another_language_also_gets_the_names_its_post_capitalises(grounded):
    result = grounded.suggest(SuggestRequest("Hoy fuimos a ver la final de tenis en Melbourne con amigos", k=5, floor=False))
    assert result.lang == "es" and result.model.endswith(":vocabulary")
    assert "melbourne" in words(result) and "hoy" not in words(result)
    assert next(s for s in result.suggestions if s.words == "melbourne").source == "phrase"


def test_a_forced_language_that_contradicts_the_text_is_reported(grounded):
    result = grounded.suggest(SuggestRequest("今天天气很好，我们去公园散步", lang="en", k=5))
    assert result.lang == "en" and result.detected_lang == "zh"


def test_without_a_grounding_stage_another_language_is_not_served(plain):
    assert not plain.serves("ko") and plain.serves("en")


# --- which tags the post did not give may stand under it (Grounder._unsupported, text/names.supported) ---

def _bare(lang: str, lexical: bool = False):
    """A Grounder with no encoder and no vocabulary: enough to ask _unsupported."""
    from types import SimpleNamespace

    from inference.runtime.grounding import Grounder, GroundingConfig

    return Grounder(None, SimpleNamespace(tags=[]), GroundingConfig(lexical_support=lexical), lang)


def _unsupported(words: str, text: str, lang: str = "en", source: str = "model", lexical: bool = False) -> bool:
    return _bare(lang, lexical)._unsupported({"words": words, "source": source}, text)


def test_a_tag_with_a_number_the_post_never_writes_is_unsupported():
    assert _unsupported("eclipse 2015", "the solar eclipse from the allotment was unreal")
    assert not _unsupported("eclipse", "the solar eclipse from the allotment was unreal")


def test_a_placeholder_is_filled_only_where_the_posts_number_belongs_to_the_tags_word():
    assert _unsupported("pier DIGIT", "scored 31 points at age 38, ridiculous")
    assert not _unsupported("iphone DIGIT", "the iPhone 16 battery is so much better")


def test_an_english_tag_only_partly_about_the_post_is_unsupported():
    assert _unsupported("peanut butter", "brown butter cookies for the bake sale")
    assert not _unsupported("brown butter", "brown butter cookies for the bake sale")
    assert not _unsupported("bake sale", "brown butter cookies for the bake sale")
    assert not _unsupported("baking", "brown butter cookies for the bake sale")  # none of its words: the encoder decides
    assert not _unsupported("beach life", "sunset walk on the beach with the dog")  # "life" says how, not what


def test_a_very_clear_topic_the_model_guessed_too_stands_as_a_topic_does():
    post = "work christmas party was at a crazy golf place, hole in one on the windmill"
    assert _unsupported("peanut golf", post)  # a guess with half its words in the post
    entry = {"words": "mini golf", "source": "centroid", "topic": True}  # runtime/topics.py read the post as #MiniGolf
    assert not _bare("en")._unsupported(entry, post)


def test_a_chinese_tag_with_half_its_words_or_fewer_in_the_post_is_unsupported():
    post = "周五晚上去吃了重庆火锅，明天还要上班"
    assert _unsupported("老子 明天 不 上班", post, "zh", lexical=True)
    assert _unsupported("感觉 今天 萌萌 哒", "今天去公园喂鸽子，感觉很放松", "zh", lexical=True)
    assert not _unsupported("重庆 火锅", post, "zh", lexical=True)
    assert not _unsupported("七夕 快乐", "七夕和男朋友去看电影", "zh", lexical=True)


def test_a_phrase_the_post_gave_is_never_unsupported():
    assert not _unsupported("pier 39", "scored 31 points at age 38", source="phrase")


def test_a_number_in_the_post_belongs_to_a_tag_only_beside_the_tags_word():
    assert _unsupported("pier 39", "scored 31 points at age 39, ridiculous")
    assert not _unsupported("49 ers", "what a comeback by the 49ers tonight")


def test_an_english_tag_of_several_words_none_in_the_post_is_unsupported():
    assert _unsupported("lunar eclipse", "the moon and saturn are close tonight")
    assert not _unsupported("astronomy", "the moon and saturn are close tonight")


def test_a_tag_whose_everyday_words_match_but_whose_subject_does_not_is_unsupported():
    post = "first day at the new office, got lost twice looking for the kitchen"
    assert _unsupported("first day of class", post)
    assert not _unsupported("first day", post)
    assert not _unsupported("happy halloween", "carved pumpkins with the kids for halloween")


def test_a_tag_of_two_letters_the_post_never_writes_is_unsupported():
    assert _unsupported("ny", "Angels Landing permit came through!!! how scary are the chains")
    assert _unsupported("la", "flight delayed 5 hours, gate changed 3 times")
    assert not _unsupported("ac", "38 degrees and no AC. I live in the freezer aisle now")
    assert not _unsupported("pr", "deadlift PR 140kg")


def test_a_name_the_post_writes_scores_higher_with_a_title_weight_and_nothing_else_does(folders, encoder, tmp_path):
    import shutil

    titled = shutil.copytree(folders[1], tmp_path / "titled" / "en")
    write_grounding(titled, encoder, title_weight=1.0)
    plain, named = (Suggester.from_folders([f]).models["en"].grounder for f in (folders[1], titled))
    name = {"model": 0.0, "relevance": 0.1, "phrase": 0.86, "name": 0.86, "dense": 0.0}
    word = {"model": 0.0, "relevance": 0.1, "phrase": 0.86, "dense": 0.0}  # a key phrase, not a name
    assert named.score(name) > plain.score(name) == plain.score(word) == named.score(word)
    assert "angels landing" in [p.words for p in extract_phrases("Angels Landing permit came through", [], "en")
                                if p.kind in NAME_KINDS]


def test_a_batch_with_more_new_tags_than_the_vector_cache_holds_is_still_scored(folders):
    from inference.runtime.vector_cache import VectorCache

    suggester = Suggester.from_folders([folders[1]])
    suggester.models["en"].grounder.encoded = VectorCache(2)  # another thread's batch (or this large one) pushes tags out
    posts = [f"Finally beat Malenia after {n} tries. Elden Ring is brutal, Margit was easier" for n in range(30)]
    results = suggester.suggest_batch([SuggestRequest(p, k=5) for p in posts])
    assert all("elden ring" in words(r) for r in results)


def test_the_vector_cache_keeps_a_half_precision_copy_not_a_view_of_its_batch():
    import numpy as np

    from inference.runtime.vector_cache import VectorCache

    batch = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    cache = VectorCache(2)
    cache.put("a", batch[0])
    kept = cache.get("a")
    assert kept.dtype == np.float16 and kept.base is None and np.allclose(kept, batch[0], atol=1e-2)
