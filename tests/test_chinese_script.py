"""A post in traditional characters gets its Chinese tags in traditional characters; a simplified one keeps them.
A Chinese post's Latin words come back as the post writes them."""

from __future__ import annotations

from types import SimpleNamespace

from inference.text.chinese_script import in_post_script, traditional

TAIWAN = "去剪頭髮跟設計師說修一點點就好，結果變成妹妹頭…算了，就當換季換心情吧"
MAINLAND = "去剪头发跟设计师说修一点点就好，结果变成妹妹头"


def _ranked(*words: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(words=w) for w in words]


def test_a_post_in_traditional_characters_is_told_from_a_simplified_one():
    assert traditional(TAIWAN) and not traditional(MAINLAND)
    assert not traditional("今晚看球") and not traditional("watching the final") and not traditional("")


def test_a_traditional_posts_tags_are_converted_and_two_that_become_one_kept_once():
    written = in_post_script(TAIWAN, _ranked("发型", "髮型", "剪头发", "lastdance", "设计师"))
    assert [w for w, _ in written] == ["髮型", "剪頭髮", "lastdance", "設計師"]


def test_a_simplified_post_and_an_english_list_keep_their_tags_as_they_are():
    assert [w for w, _ in in_post_script(MAINLAND, _ranked("发型", "剪头发"))] == ["发型", "剪头发"]
    assert [w for w, _ in in_post_script(TAIWAN, _ranked("hair cut"), lang="en")] == ["hair cut"]


def test_the_benchmark_interface_keeps_the_models_own_script():
    # tagsmith predict (no relevance floor) is scored against Weibo's gold, simplified under traditional posts too
    assert [w for w, _ in in_post_script(TAIWAN, _ranked("发型"), service=False)] == ["发型"]


def test_a_chinese_posts_latin_words_come_back_cased_as_the_post_writes_them():
    post = "周末折腾了个NAS，用iPhone拍的PS5截图都备份进去了，nas真香"
    written = in_post_script(post, _ranked("nas", "iphone", "ps5", "备份", "switch"))
    assert [w for w, _ in written] == ["NAS", "iPhone", "PS5", "备份", "switch"]
    assert [w for w, _ in in_post_script(post, _ranked("nas"), lang="en")] == ["nas"]


def test_a_tag_the_post_writes_keeps_the_posts_own_characters():
    post = "露台種嘅車厘茄終於紅咗三粒，種咗兩個月"
    assert [w for w, _ in in_post_script(post, _ranked("露台", "车厘茄", "阳台"))] == ["露台", "車厘茄", "陽臺"]


def test_a_traditional_request_is_read_in_simplified_characters():
    from inference.runtime.suggester import SuggestRequest
    from inference.text.chinese_script import as_simplified

    read = as_simplified(SuggestRequest(TAIWAN, thread=("頭髮好看",), hashtags=("#髮型",)))
    assert read.text.startswith("去剪头发跟设计师") and read.thread == ("头发好看",) and read.hashtags == ("#发型",)
    mainland = SuggestRequest(MAINLAND)
    assert as_simplified(mainland) is mainland


def test_the_shipped_chinese_model_answers_a_taiwan_post_in_traditional_characters():
    from inference.runtime.suggester import DEFAULT_MODELS_DIR, SuggestRequest, Suggester
    from inference.text.chinese_script import _converter

    suggester = Suggester.from_folders([DEFAULT_MODELS_DIR / "zh"])
    tags = [s.words for s in suggester.suggest(SuggestRequest(TAIWAN, k=5, lang="zh")).suggestions]
    assert "剪頭髮" in tags or "髮型" in tags
    assert all(_converter("s2t-characters").convert(t) == t for t in tags)  # no character only the simplified script has
