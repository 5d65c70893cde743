"""A game, show or film a post names, in lower case too, is a tag of its own that stands past the floor, its pieces are
none, and its topic is very clear (inference/runtime/named_titles.py)."""

from __future__ import annotations

import pytest

from inference.runtime.named_titles import InvalidTitles, TITLES_FILE, add_titles, named, read_titles, topics_named


@pytest.fixture
def titles_file(tmp_path):
    path = tmp_path / "titles_en.txt"
    path.write_text("# works\ngaming: Baldur's Gate 3 (bg3) | Elden Ring | Stardew Valley\n"
                    "tv shows: The Bear | Succession | Breaking Bad\nmovies: Oppenheimer | Inside Out 2\n", encoding="utf-8")
    return path


def _names(text, path):
    return [n.title.words for n in named(text, path)]


@pytest.mark.parametrize("post, title", [
    ("200 hours in baldurs gate 3 and i just found out you can talk to animals", "Baldurs Gate 3"),
    ("bg3 ate my whole weekend", "Baldurs Gate 3"),
    ("finally watched oppenheimer on a plane", "Oppenheimer"),
    ("started the bear on a whim and now its 2am", "The Bear"),
    ("the bear season 3 made me want to quit my job", "The Bear"),
    ("The Bear is the most stressful show I love", "The Bear"),
    ("binged succession in a week", "Succession"),
])
def test_a_post_names_a_title_in_any_case(titles_file, post, title):
    assert _names(post, titles_file) == [title]


@pytest.mark.parametrize("post", [
    "saw a bear on the trail this morning",
    "the bear was huge, we kept our distance",
    "negotiating the succession plan at work",
    "we went inside out 2 the garden",
])
def test_ordinary_words_name_no_title(titles_file, post):
    assert _names(post, titles_file) == []


def test_a_named_title_is_a_tag_past_the_floor_and_its_pieces_go(titles_file):
    pool = {"baldurs": {"words": "Baldurs", "source": "phrase", "model": 0.0},
            "baldursgate": {"words": "Baldurs Gate", "source": "phrase", "model": 0.0},
            "gate": {"words": "Gate", "source": "phrase", "model": 0.0},
            "animals": {"words": "Animals", "source": "phrase", "model": 0.0}}
    add_titles(pool, "200 hours in baldurs gate 3 and i found out you can talk to animals", path=titles_file)
    assert set(pool) == {"baldursgate3", "animals"}
    assert pool["baldursgate3"]["topic"] and pool["baldursgate3"]["words"] == "Baldurs Gate 3"


def test_a_title_with_a_word_after_it_loses_that_piece_too(titles_file):
    pool = {"bearseason": {"words": "Bear Season", "source": "phrase", "model": 0.0},
            "bear": {"words": "Bear", "source": "extract", "model": 0.0},
            "season": {"words": "Season", "source": "extract", "model": 0.0}}
    add_titles(pool, "watching the bear season 3 tonight", path=titles_file)
    assert set(pool) == {"thebear", "season"}


def test_a_sensitive_title_is_not_added(titles_file):
    pool = {}
    add_titles(pool, "finally watched oppenheimer", sensitive=lambda words: True, path=titles_file)
    assert pool == {}


def test_a_named_titles_topic_is_read():
    assert topics_named("rewatching breaking bad, then elden ring all night") == ["tv shows", "gaming"]


def test_a_line_without_a_topic_is_refused_with_its_line_number(tmp_path):
    (tmp_path / "titles_en.txt").write_text("# works\nBaldur's Gate 3 | Elden Ring\n", encoding="utf-8")
    with pytest.raises(InvalidTitles, match=r"titles_en.txt:2: expected 'topic: Title"):
        read_titles(tmp_path / "titles_en.txt")


def test_the_shipped_list_reads_and_names_the_works_people_post_about():
    table = read_titles(TITLES_FILE)
    topics = {title.topic for title, _, _ in table.values()}
    assert len(table) > 500 and topics <= {"gaming", "tv shows", "movies", "anime", "books", "board games", "kdrama",
                                           "reality tv", "podcast", "music", "concert"}
    assert [n.title.words for n in named("200 hours in baldurs gate 3 and still in act 2")] == ["Baldurs Gate 3"]


def test_a_word_that_says_a_work_may_stand_one_word_away_and_a_noun_after_the_title_undoes_it(titles_file):
    assert _names("listening to the bear soundtrack", titles_file) == ["The Bear"]
    assert _names("watching the bear cubs at the zoo", titles_file) == []


def test_a_named_works_topic_never_shadows_the_same_topic_a_cue_makes_very_clear():
    from inference.runtime.sentence_encoder import SentenceEncoder
    from inference.runtime.topics import TopicTags

    encoder = SentenceEncoder.load()
    topics = TopicTags.load(encoder, "en")
    text = "Saw Chappell Roan live last night and my voice is completely gone"
    assert dict(topics.picked(encoder.encode([text]), [text])[0]).get("music") is True


def test_a_work_a_death_post_names_is_no_tag_and_one_an_everyday_post_names_is():
    from pathlib import Path

    import numpy as np

    from inference.runtime.grounding import GroundingConfig, Grounder, Prepared
    from inference.runtime.safety import SafetyFilter
    from inference.runtime.tag_index import TagIndex

    safety = SafetyFilter.load(Path(__file__).parents[1] / "inference" / "models" / "safety.json")

    class ReadsGrief:  # stands in for the encoder-based grief reader
        @staticmethod
        def reads(vector, lang):
            return True

    safety.lexicon.tone.reader = ReadsGrief()
    grounder = Grounder(None, TagIndex(np.zeros((1, 4), dtype=np.float32), ["nan"], np.array([5])),
                        GroundingConfig(floor=0.1), "en", safety)

    def pool(text):
        entries = {"nan": {"words": "Nan", "model": 0.0, "source": "phrase", "phrase": 0.5}}
        add_titles(entries, text)
        for e in entries.values():
            e.update(relevance=0.5, cos=0.3, phrase=0.5)
        return entries

    grief = "We lost Nan on Sunday. She never missed an episode of Coronation Street"
    assert [r.words for r in grounder._finish(Prepared(pool(grief), grief, np.zeros(4)), set(), True).ranked] == ["Nan"]
    plain = "Nan never misses an episode of Coronation Street"
    assert "Coronation Street" in [r.words for r in grounder._finish(Prepared(pool(plain), plain, np.zeros(4)), set(), True).ranked]


def test_a_title_of_ordinary_words_is_named_where_the_text_tells_of_an_episode_anywhere(titles_file):
    post = "the bear really said 'what if a whole episode was just people being stressed in a kitchen' and honestly yes chef"
    assert _names(post, titles_file) == ["The Bear"]
    assert _names("the bear was huge and the whole trail went quiet", titles_file) == []
