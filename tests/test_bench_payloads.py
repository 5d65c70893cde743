"""The benchmarks' request bodies: the fixed payload, and fresh posts of its shape cut from a data file."""

from __future__ import annotations

import json

import pytest

from inference.evaluation.bench_ab import payloads
from inference.evaluation.bench_payloads import POST, ZH_POST, fresh_payloads, payloads_for


def _corpus(tmp_path, lang, texts):
    path = tmp_path / f"{lang}.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, (post, thread) in enumerate(texts):
            f.write(json.dumps({"id": str(i), "post": post, "thread": thread, "hashtags": ["x"], "lang": lang}) + "\n")
    return path


def test_fresh_posts_have_the_fixed_payloads_shape_and_never_repeat(tmp_path):
    texts = [(f"post number {i} " + " ".join(f"w{i}x{j}" for j in range(12)), [f"reply {i} {j} " * 12 for j in range(3)])
             for i in range(60)]
    lang, bodies = fresh_payloads(str(_corpus(tmp_path, "en", texts)), 8)
    assert lang == "en" and len(bodies) == 8
    assert all(len(b["text"].split()) == len(POST.split()) and len(b["thread"]) == 5 and b["k"] == 10 for b in bodies)
    assert all(len(r.split()) <= 15 for b in bodies for r in b["thread"])
    assert len({b["text"] for b in bodies}) == 8  # every text used once
    assert set(bodies[0]) == set(payloads_for("en")["post+thread"])


def test_fresh_chinese_posts_are_cut_by_characters_without_spaces(tmp_path):
    texts = [("今天 天气 很 好 我们 去 公园 散步 然后 吃饭 " * 3, ["太 好 了"])] * 40
    lang, bodies = fresh_payloads(str(_corpus(tmp_path, "zh", texts)), 3)
    assert lang == "zh" and all(" " not in b["text"] and len(b["text"]) == len(ZH_POST) // 2 * 2 for b in bodies)


def test_too_short_a_file_for_the_requests_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="fresh requests"):
        fresh_payloads(str(_corpus(tmp_path, "en", [("one two three", [])] * 5)), 10)


def test_the_ab_benchmark_sends_a_fresh_post_each_round(tmp_path):
    texts = [(" ".join(f"p{i}w{j}" for j in range(40)), []) for i in range(400)]
    bodies = payloads(False, [str(_corpus(tmp_path, "en", texts))], requests=30)
    assert isinstance(bodies["en fresh"], list) and len(bodies["en fresh"]) == 50  # 20 warm-up rounds + 30
    assert bodies["en"] == payloads_for("en")["post+thread"]
