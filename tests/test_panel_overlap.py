"""A panel's near copies of earlier sets' posts, and the judges' means without them."""

from __future__ import annotations

import json

from inference.evaluation.panel_overlap import main, means, near_copies


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_post_written_again_is_a_near_copy_and_its_own_lists_elsewhere_are_not(tmp_path):
    panel = _write(tmp_path / "new" / "posts.jsonl", [
        {"id": "n-1", "post": "First coffee of the day and I can finally see colours again!"},
        {"id": "n-2", "post": "repotted the juniper, roots were one solid block"}])
    own_lists = _write(tmp_path / "new" / "head.lists.jsonl", [{"id": "n-2", "post": "repotted the juniper, roots were one solid block"}])
    judged_again = _write(tmp_path / "compared" / "all.after.lists.jsonl", [{"id": "n-2", "post": "repotted the juniper, roots were one solid block"}])
    earlier = _write(tmp_path / "old" / "posts.jsonl", [
        {"id": "o-1", "post": "first coffee of the day and i can finally see colours again"},
        {"id": "o-2", "post": "the train was cancelled again"}])
    assert near_copies(panel, [own_lists, judged_again, earlier]) == {"n-1": 1.0}


def test_the_means_leave_the_near_copies_out_and_the_command_prints_both(tmp_path, capsys):
    verdicts = _write(tmp_path / "v.jsonl", [{"id": "n-1", "score": 2}, {"id": "n-2", "score": 1}, {"id": "n-3", "score": 0}])
    assert means(verdicts, {"n-1"}) == "v.jsonl: new 2: 0.50, near copies 1: 2.00"
    panel = _write(tmp_path / "new" / "posts.jsonl", [{"id": "n-1", "post": "well that happened"}])
    earlier = _write(tmp_path / "old" / "posts.jsonl", [{"id": "o-1", "post": "well. that happened."}])
    assert main(["--panel", str(panel), "--earlier", str(earlier), "--verdicts", str(verdicts)]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 posts are near copies" in out and "new 2: 0.50" in out
