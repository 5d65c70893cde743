"""The unseen-event stand-in (export/unseen_events.py): a CrisisLex post's list loses the tags its event owns
in training, unless the post writes them itself."""

from __future__ import annotations

import json

from export.unseen_events import event_of, event_tags, unseen


def _record(rid: str, tags: list[str], post: str = "") -> dict:
    return {"id": rid, "post": post, "thread": [], "hashtags": tags}


def test_an_events_own_tags_leave_its_posts_lists_but_the_posts_words_and_shared_tags_stay(tmp_path):
    train = tmp_path / "train.jsonl"
    rows = [_record("crisislex-2013_Colorado_floods-1", ["coflood", "flood"]),
            _record("crisislex-2013_Colorado_floods-2", ["coflood", "boulder flood"]),
            _record("crisislex-2013_Manila_floods-3", ["flood", "rescue ph"]),
            _record("tweeteval-emoji-4", ["boulder"])]
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    owned = event_tags(train, 0.8)
    assert owned["2013_Colorado_floods"] == {"coflood", "boulderflood"} and "flood" not in owned["2013_Colorado_floods"]
    dev = [_record("crisislex-2013_Colorado_floods-9", ["coflood"], "Boulder flood: roads closed"),
           _record("instagram-abc-1", ["x"])]
    gold, before, after = unseen(dev, [["coflood", "boulder flood", "flood", "boulder"], ["x"]], owned)
    assert gold == [["coflood"]] and before == [["coflood", "boulder flood", "flood", "boulder"]]
    assert after == [["boulder flood", "flood", "boulder"]]  # the post writes "Boulder flood"
    assert event_of({"id": "crisislex-2012_Italy_earthquakes-5"}) == "2012_Italy_earthquakes"
    assert event_of({"id": "tweeteval-emoji-4"}) is None
