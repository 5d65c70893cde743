"""The judging panel's tools: a judge's report line, and which items a change moved."""

from __future__ import annotations

import json

from inference.evaluation import panel


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _lists(path, tags_by_id):
    return _write(path, [{"id": i, "post": "p", "thread": [], "tags": t, "commit": "abc1234"} for i, t in tags_by_id.items()])


def test_changed_names_the_moved_items_and_each_judges_means_on_both_sides(tmp_path):
    before = _lists(tmp_path / "before.jsonl", {"a": ["x", "y"], "b": ["z"], "c": ["w", "v"]})
    after = _lists(tmp_path / "after.jsonl", {"a": ["y", "x"], "b": ["q"], "c": ["w", "v", "u"]})  # order alone is no change
    judge = _write(tmp_path / "v.jsonl", [{"id": "a", "score": 2}, {"id": "b", "score": 0}, {"id": "c", "score": 1}])
    lines = panel.changed(before, after, [judge]).splitlines()
    assert lines[0] == "top-5 set changed: 2 of 3 ['b', 'c']"
    assert lines[1] == "tmp_path/v.jsonl: changed 0.500 (n 2), unchanged 2.000 (n 1)".replace("tmp_path", tmp_path.name)


def test_report_prints_the_rubrics_line(tmp_path):
    lists = _lists(tmp_path / "en.lists.jsonl", {"en-001": ["a"], "en-002": []})
    judge = _write(tmp_path / "v.jsonl", [{"id": "en-001", "score": 2, "harmful": 1}, {"id": "en-002", "score": 1, "harmful": 0}])
    line = panel.report(lists, judge, set())
    assert line.endswith("| abc1234 | en.lists.jsonl | 2 | 1.50 | 1 ['en-001']")


def test_a_paired_sheet_hides_which_run_made_each_list_and_the_report_compares_them_per_post(tmp_path):
    from inference.evaluation import paired

    before = _lists(tmp_path / "before.jsonl", {"a": ["x"], "b": ["z"], "c": ["w"]})
    after = _lists(tmp_path / "after.jsonl", {"a": ["X"], "b": ["q", "r"], "c": ["v"]})  # case alone is no change
    assert paired.paired_sheet(before, after, tmp_path / "run", seed=3) == 2
    sheet = (tmp_path / "run" / "sheet.md").read_text()
    key = json.loads((tmp_path / "run" / "key.json").read_text())["items"]
    assert sorted(key) == ["b-x", "b-y", "c-x", "c-y"] and "## a-" not in sheet
    assert "before" not in sheet and "after" not in sheet and sorted(key.values()) == ["after", "after", "before", "before"]
    scores = {i: (2 if run == "after" else 1) for i, run in key.items()}
    scores[next(i for i, run in key.items() if run == "after" and i.startswith("c"))] = 0
    judge = _write(tmp_path / "v.jsonl", [{"id": i, "score": s, "harmful": 0} for i, s in scores.items()])
    assert paired.paired_report(tmp_path / "run" / "key.json", [judge]).endswith(
        "posts 2: before 1.000 (harmful 0), after 1.000 (harmful 0); after higher 1, lower 1, same 0")


def test_a_paired_report_can_keep_one_set_of_posts_or_leave_some_out(tmp_path):
    from inference.evaluation import paired

    before = _lists(tmp_path / "before.jsonl", {"zt-1": ["x"], "zt-2": ["z"], "zh-1": ["w"]})
    after = _lists(tmp_path / "after.jsonl", {"zt-1": ["y"], "zt-2": ["q"], "zh-1": ["v"]})
    paired.paired_sheet(before, after, tmp_path / "run", seed=3)
    key = json.loads((tmp_path / "run" / "key.json").read_text())["items"]
    judge = _write(tmp_path / "v.jsonl", [{"id": i, "score": 2 if run == "after" else 1} for i, run in key.items()])
    assert "posts 2:" in paired.paired_report(tmp_path / "run" / "key.json", [judge], posts="zt-")
    assert "posts 1:" in paired.paired_report(tmp_path / "run" / "key.json", [judge], posts="zt-", leave_out=frozenset({"zt-2"}))


def test_pick_takes_each_moved_post_once_from_two_folders_and_can_sample_them(tmp_path):
    from inference.evaluation import paired

    for run, tags in (("old", {"a": ["x"], "b": ["z"], "c": ["w"]}), ("new", {"a": ["X"], "b": ["q"], "c": ["v"]})):
        (tmp_path / run).mkdir()
        _lists(tmp_path / run / "set1.lists.jsonl", tags)
        _lists(tmp_path / run / "set2.lists.jsonl", {k: tags[k] for k in ("b",)})  # a post in two sets counts once
    _lists(tmp_path / "old" / "gone.lists.jsonl", {"d": ["y"]})  # a set the second run lacks is left out
    assert paired.pick(tmp_path / "old", tmp_path / "new", str(tmp_path / "all")) == (2, 2)
    after = panel.read_jsonl(tmp_path / "all.after.lists.jsonl")
    assert [r["id"] for r in after] == ["b", "c"] and after[0]["tags"] == ["q"]
    assert [r["tags"] for r in panel.read_jsonl(tmp_path / "all.before.lists.jsonl")] == [["z"], ["w"]]
    assert paired.pick(tmp_path / "old", tmp_path / "new", str(tmp_path / "one"), sample=1, seed=5) == (2, 1)


def test_every_judged_set_of_a_language_is_found_and_the_panels_come_first():
    sets = panel.judged_sets("en")
    names = [str(p.relative_to(panel.ROOT)) for p in sets]
    assert names[0] == "docs/panel/en.jsonl" and "export/judged/en_fresh/en_dev.jsonl" in names
    assert "export/judged/en_fresh39/posts.jsonl" in names and all(p.exists() for p in sets)
    assert "export/judged/zh/zh_test.jsonl" in [str(p.relative_to(panel.ROOT)) for p in panel.judged_sets("zh")]
