from inference.text.preprocess import (
    PREPROCESS_VERSION,
    fill_placeholders,
    split_gold_hashtags,
    tokenize,
)
from inference.text.segment import segment
from inference.text.tags import detect_lang, normalize_tag


def words(tag):
    return " ".join(segment(tag))


def test_version_is_an_integer():
    assert isinstance(PREPROCESS_VERSION, int)


def test_trailing_and_leading_hashtags_are_gold_and_leave_the_post():
    body, tags = split_gold_hashtags("#Breaking Fire near the station tonight #Fire #News")
    assert body == "Fire near the station tonight"
    assert tags == ["Breaking", "Fire", "News"]


def test_inline_hashtags_stay_as_segmented_words():
    body, tags = split_gold_hashtags("Watching #PopeFrancis speak today #vatican")
    assert body == f"Watching {words('PopeFrancis')} speak today"
    assert tags == ["vatican"]


def test_links_and_mentions_at_the_edge_do_not_hide_trailing_tags():
    body, tags = split_gold_hashtags("Big news today #breaking http://t.co/abc @user")
    assert tags == ["breaking"]
    assert body == "Big news today http://t.co/abc @user"


def test_instagram_place_suffix_is_stripped_before_trailing_tags():
    body, tags = split_gold_hashtags("Love these people #friends #sundayfunday @ San…")
    assert body == "Love these people"
    assert tags == ["friends", "sundayfunday"]


def test_single_character_and_semst_tags_are_not_gold():
    body, tags = split_gold_hashtags("Life is precious #x #prolife #SemST")
    assert tags == ["prolife"]
    assert body == "Life is precious"


def test_semst_is_dropped_inside_the_body_too():
    body, _ = split_gold_hashtags("I think #SemST we agree on this")
    assert "sem" not in body.lower() and "#" not in body


def test_weibo_style_topics_at_the_edge_are_gold():
    body, tags = split_gold_hashtags("#周笔畅# 今天 很 开心")
    assert tags == ["周笔畅"] and body == "今天 很 开心"


def test_duplicate_gold_tags_are_kept_once():
    _, tags = split_gold_hashtags("so good #Food #food")
    assert tags == ["Food"]


def test_normalize_tag_lowercases_segmented_words_and_keeps_chinese():
    assert normalize_tag("#AusOpen") == words("AusOpen").lower()
    assert normalize_tag("#TENNIS") == normalize_tag("tennis")
    assert normalize_tag("爸爸去哪儿") == "爸爸去哪儿"


def test_tokenize_maps_links_mentions_and_numbers():
    tokens = tokenize("RT @bob: 1,000 runners at http://t.co/x in 3.5 hours!")
    assert tokens == ["rt", "MENTION", "DIGIT", "runners", "at", "URL", "in", "DIGIT", "hours"]


def test_tokenize_keeps_alphanumeric_words_emoji_and_segments_hashtags():
    tokens = tokenize("Covid19 update 🏃 #PopeFrancis")
    assert tokens[:3] == ["covid19", "update", "🏃"]
    assert tokens[3:] == words("PopeFrancis").split()


def test_tokenize_keeps_weibo_special_tokens_on_presegmented_chinese():
    assert tokenize("还是 我们 熟悉 的 你 cocoDIGIT URL MENTION", "zh") == [
        "还是", "我们", "熟悉", "的", "你", "cocoDIGIT", "URL", "MENTION"]


def test_tokenize_segments_raw_chinese_with_jieba():
    tokens = tokenize("我今天去了北京天安门 http://x.cn 2000人")
    assert "北京" in tokens and "URL" in tokens and "DIGIT" in tokens
    assert all(" " not in t for t in tokens)


def test_a_link_or_a_mention_does_not_make_a_chinese_post_english():
    assert detect_lang("笑死我了 https://b23.tv/BV1xx411c7mD") == "zh"
    assert detect_lang("今天好热 @bob_smith") == "zh"
    assert detect_lang("mate you need to see this https://youtu.be/abc") == "en"


def test_detect_lang_uses_the_cjk_share():
    assert detect_lang("还是 一样 URL") == "zh"
    assert detect_lang("Watching the final set tonight") == "en"
    assert detect_lang("Great trip to 北京 with friends and family today") == "en"


def test_placeholders_in_learnt_tags_take_the_posts_numbers_or_the_tag_is_dropped():
    assert fill_placeholders("鹿晗 DIGIT 生日快乐", "祝鹿晗26岁生日快乐！") == "鹿晗 26 生日快乐"
    assert fill_placeholders("DIGIT 年 DIGIT 月", "2016年5月的回忆") == "2016 年 5 月"
    assert fill_placeholders("top DIGIT", "my top 1,000 songs") == "top 1000"
    assert fill_placeholders("鹿晗 DIGIT 生日快乐", "祝鹿晗生日快乐") is None  # no number to put there
    assert fill_placeholders("MENTION 加油", "加油 @someone") is None
    assert fill_placeholders("生日快乐", "生日快乐") == "生日快乐"


def test_text_in_the_data_sets_convention_keeps_the_placeholders():
    assert fill_placeholders("鹿晗 DIGIT 生日快乐", "祝 鹿晗 DIGIT 岁 生日快乐") == "鹿晗 DIGIT 生日快乐"


def test_a_text_of_han_characters_alone_is_chinese_whatever_the_identifier_guesses():
    from inference.text.tags import detect_lang

    assert detect_lang("厦门鼓浪屿一日游，海风好舒服") == "zh"
    assert detect_lang("今日は良い天気ですね") == "ja"  # kana: Japanese
    assert detect_lang("오늘 날씨 좋다") == "ko"  # Hangul: Korean
    assert detect_lang("报了个成人水彩班，老师说我画的苹果像土豆。但我觉得那是个挺好看的土豆🥔") == "zh"  # not "ko"


def test_jiebas_words_of_a_han_run_are_kept_for_its_next_reader_and_are_its_own():
    import jieba

    text = "北京今天又是重度雾霾，出门记得戴口罩。国足今晚1比0战胜泰国"
    kept = tokenize(text, "zh")
    memo = vars(jieba.dt)["_Tokenizer__cut_DAG"]  # installed with the dictionary (zh_tables.memoise_runs)
    try:
        del jieba.dt._Tokenizer__cut_DAG  # jieba's own method again
        assert tokenize(text, "zh") == kept
    finally:
        jieba.dt._Tokenizer__cut_DAG = memo
    assert tokenize(text, "zh") == kept
