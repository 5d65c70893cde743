"""Chinese hashtag candidates taken from the post itself (inference/text/phrases_zh.py through phrases.py)."""

from __future__ import annotations

import pytest

from inference.text.phrases import extract_phrases


def words_of(post: str, lang: str = "zh", thread: tuple[str, ...] = ()) -> list[str]:
    return [p.words for p in extract_phrases(post, thread, lang)]


def test_a_festival_short_form_is_a_candidate_and_the_long_form_wins_when_both_are_written():
    assert "国庆" in words_of("国庆假期去爬山，山上全是人", "zh")
    assert "过年" in words_of("过年回家被问了八百遍有对象没", "zh")
    found = words_of("今年中秋节在外地过，月饼是同事送的", "zh")
    assert "中秋节" in found and "中秋" not in found


def test_a_birthday_and_a_season_the_post_names_are_candidates():
    assert "生日" in words_of("三十岁生日，给自己买了个小蛋糕", "zh")
    assert "秋天" in words_of("银杏叶黄了，秋天终于来了", "zh")


def test_a_first_lesson_is_no_festival():
    assert "第一节" not in words_of("钢琴课第一节，手指完全不听使唤", "zh")


def test_a_place_and_the_noun_after_it_are_one_tag():
    assert "兰州拉面" in words_of("公司楼下的兰州拉面涨价了", "zh")
    assert "广州地铁" in words_of("广州地铁早上又停了十分钟", "zh")


def test_a_game_name_split_by_the_segmenter_is_joined_again():
    assert "英雄联盟" in words_of("周末通宵打英雄联盟，眼睛都花了", "zh")


def test_a_name_and_its_ordinal_are_one_tag():
    assert "嫦娥六号" in words_of("嫦娥六号着陆了，看直播看得好激动", "zh")


def test_a_noun_and_its_kind_are_one_tag():
    assert "螺蛳粉" in words_of("半夜煮了一包螺蛳粉，整栋楼都知道了", "zh")


def test_rare_verbs_that_name_an_activity_are_candidates_and_common_ones_are_not():
    found = words_of("周末搬家，下雪天搬了一整天", "zh")
    assert "搬家" in found
    assert "觉得" not in words_of("我觉得这家店还行", "zh")


def test_made_up_words_that_are_pieces_of_a_clause_are_no_candidates():
    found = words_of("昨天三比零输了，胖得跑不动，新角色也没抽到", "zh")
    assert not {"三比", "胖得", "抽到"} & set(found)


def test_a_made_up_word_an_adverb_of_manner_begins_is_no_candidate():
    found = words_of("大家下水一定要有一对一的安全员，别自己瞎冲深度，真的", "zh")
    assert "安全员" in found and not any(w.startswith("瞎") for w in found)
    found = words_of("捡机之前一定先拔电池，别学我；先核身份证再动手", "zh")
    assert "电池" in found and not any(w.startswith(("先", "别")) for w in found)
    assert {"先生", "别墅"} <= set(words_of("先生说今天去别墅看看", "zh"))
    found = words_of("看番还是得开字幕，线条总是刻不直", "zh")
    assert "字幕" in found and not {"得开字幕", "刻不直"} & set(found)
    assert "得分" in words_of("这个得分太高了", "zh")  # in jieba's dictionary


def test_a_word_that_di_ends_as_an_adverbial_is_no_candidate_but_a_place_noun_is():
    assert "骄傲地" not in words_of("美容师说它是今天店里屁股最圆的，我骄傲地付了钱", "zh")
    found = words_of("周末去草地上野餐，目的地是奥森", "zh")
    assert {"草地", "目的地"} <= set(found)


def test_more_pieces_of_a_clause_are_no_candidates_but_a_word_ending_like_a_pronoun_is():
    found = words_of("周末爬香山人太多了，新买的鞋比旧的好，地铁快没了，女儿说要带我去月亮上，我被挤成了照片", "zh")
    assert not {"人太多", "新买", "比旧", "快没了", "带我去", "挤成"} & set(found)
    assert "吉他" in words_of("练吉他第一个月，手指疼但能弹小星星了", "zh")
    assert "完赛" in words_of("马拉松完赛！5小时12分", "zh")


def test_a_noun_and_its_number_are_one_tag_and_the_noun_alone_none():
    found = words_of("科目二第三次终于过了！倒车入库我恨你", "zh")
    assert "科目二" in found and "科目" not in found
    assert "排队三" not in words_of("排队三小时终于抽到隐藏款", "zh")  # a number before a noun counts it


def test_two_nouns_of_one_thing_are_one_tag_but_not_before_a_predicate():
    assert "扫地机器人" in words_of("扫地机器人把袜子吞了", "zh")
    assert "糯米圆子" in words_of("想吃外婆做的糯米圆子", "zh")
    assert "爷爷学会" not in words_of("爷爷学会了发表情包", "zh")


def test_a_piece_of_a_word_jieba_cut_across_is_no_candidate():
    assert "情包" not in words_of("爷爷学会了发表情包", "zh")  # 发表|情包: 表情 is the word
    assert "香山人太多" not in words_of("周末爬香山人太多了", "zh")


def test_a_rare_noun_of_one_character_is_a_candidate_and_a_common_one_or_a_verb_is_not():
    assert "猫" in words_of("我家猫今天第一次自己跳上了窗台", "zh")
    found = words_of("这件事让人很烦，晚上还淋了雨，手机卡在床底下", "zh")
    assert "雨" in found and not {"事", "人", "淋", "卡"} & set(found)
    assert "肉" not in words_of("种的多肉被晒死了三盆", "zh") and "猫" in words_of("上个月养了一只猫", "zh")


def test_the_noun_inside_a_verb_object_word_is_a_candidate():
    assert "寒假" in words_of("期末考试结束了，明天开始放寒假", "zh")
    assert "火锅" in words_of("下班和同事去吃火锅", "zh")


def test_a_three_character_idiom_is_a_candidate_and_a_four_character_one_is_not():
    assert "大扫除" in words_of("大扫除一整天，屋子亮堂堂的", "zh")
    assert "谢天谢地" not in words_of("高数能过就谢天谢地", "zh")


def test_no_compound_across_a_particle_or_before_the_number_its_noun_belongs_to():
    assert "美的晚霞" not in words_of("下班路上看到超美的晚霞", "zh")
    assert "考驾照科目" not in words_of("考驾照科目二又挂了", "zh")


def test_modern_words_jieba_cuts_apart_in_a_sentence_are_joined_back():
    found = words_of("早高峰挤地铁，打工人的日常", "zh")
    assert {"早高峰", "打工人"} <= set(found) and not {"高峰", "工人"} & set(found)
    assert "车厘子" in words_of("年货节抢到了半价的车厘子，开心", "zh")
    assert "王者荣耀" in words_of("打了一晚上王者荣耀，睡了", "zh")
    found = words_of("卫星轴调了一晚上，黑神话也没空打", "zh")
    assert {"卫星轴", "黑神话"} <= set(found) and "卫星" not in found


def test_the_shipped_modern_chinese_words_read_and_a_malformed_list_is_refused(tmp_path, monkeypatch):
    from inference.text import phrases_zh

    assert phrases_zh.known_words()["打工人"] == "n"
    bad = tmp_path / "words_zh.txt"
    bad.write_text("# words\n打工人\n", encoding="utf-8")
    monkeypatch.setattr(phrases_zh, "WORDS_ZH", bad)
    phrases_zh.known_words.cache_clear()
    try:
        with pytest.raises(ValueError, match=":2:"):
            phrases_zh.known_words()
    finally:
        phrases_zh.known_words.cache_clear()


def test_a_known_word_jieba_glued_to_its_neighbours_is_cut_out_again():
    assert words_of("他用微信发了一张照片给我", "zh") == ["微信", "照片"]
    found = words_of("为了凑满减凑了一堆零食", "zh")
    assert "凑满减" in found and "凑满" not in found  # (words_zh.txt: 凑满减, as people tag it)
    assert "抖音" in words_of("刷抖音发现一家店", "zh")


def test_a_made_up_word_with_a_measure_word_or_a_verb_said_twice_is_no_candidate():
    assert not {"吃顿", "吃顿烤肉"} & set(words_of("晚上去吃顿烤肉犒劳自己", "zh"))
    assert words_of("家里来客人，炒了一大桌菜", "zh") == ["客人"]  # no 桌菜
    assert "带带" not in words_of("大神带带我，今晚一起上分", "zh")


def test_a_made_up_word_of_asking_finishing_negating_or_a_relative_after_a_pronoun_is_no_candidate():
    assert not {"问牙", "问牙仙子"} & set(words_of("闺女激动地问牙仙子晚上会不会来", "zh"))
    assert not {"完回", "完回出租屋"} & set(words_of("看完回出租屋默默躺平", "zh"))
    assert "水没开" not in words_of("水没开就下锅了", "zh")
    assert not {"妈染", "妈染头发"} & set(words_of("给我妈染头发，说明书写停留三十分钟", "zh"))
    assert "问界" in words_of("今天提了问界M7", "zh") and "马拉松完赛" in words_of("马拉松完赛！腿已经不是自己的了", "zh")


def test_a_long_title_is_one_tag_and_a_number_with_its_measure_word_is_none():
    assert "哪吒之魔童闹海" in words_of("带孩子去看《哪吒之魔童闹海》，全场都在笑", "zh")
    assert not {"十块钱", "一辆车"} & set(words_of("打车等了半天，最后一辆车都没来，白花了十块钱", "zh"))


def test_a_title_is_one_work_and_its_pieces_the_text_writes_nowhere_else_are_none():
    found = extract_phrases("《王国之泪》玩了六十个小时，主线一步没推", [], "zh")
    assert ("王国之泪", "work") in [(p.words, p.kind) for p in found]
    assert not {"王国", "之泪"} & {p.words for p in found}
    assert "流浪地球" in words_of("《流浪地球2》二刷，IMAX效果真的震撼", "zh")  # the series


def test_a_made_up_word_a_verb_or_as_soon_as_ends_and_an_adverb_are_no_candidates():
    found = words_of("地铁上读完了《额尔古纳河右岸》最后一章，差点坐过站。迟子建写雨写火写驯鹿，都太好了。")
    assert not {"迟子建写", "建写", "火写驯鹿", "差点"} & set(found) and "驯鹿" in found
    assert "风一" not in words_of("周末市集有位大叔卖自己编的竹编小鸟，十五块一只，风一吹就转")
    assert "手柄差点" not in words_of("黑神话悟空卡在虎先锋一晚上了，死了三十多次，手柄差点扔出去")
    assert "科三" in words_of("科三终于过了，教练说我是今年最稳的学员")  # a number naming a test stays
    assert "多邻国" in words_of("多邻国打卡第300天，西班牙语还是只会说你好")


def test_a_made_up_word_an_adverb_ends_two_stop_words_glued_and_all_of_a_thing_are_no_candidates():
    found = words_of("点的麻辣烫送来汤全洒了，骑手小哥一直道歉")
    assert "汤全" not in found and "骑手" in found  # 汤|全 洒了: "all spilled", no name
    assert "今天下午" not in words_of("小区明天停水一整天，物业今天下午才通知")
    found = words_of("阳台的多肉全部徒长了，叶子都掉光了")
    assert "多肉全部" not in found and "全部" not in found and "多肉" in found


def test_a_place_inside_something_is_no_head_of_a_compound():
    found = words_of("美容师说它是今天店里屁股最圆的")
    assert "店里屁股" not in found and "美容师" in found


def test_a_modern_word_the_segmenter_glues_to_a_neighbour_is_cut_out_whole():
    assert "阿瓦隆" in words_of("阿瓦隆玩了一晚上，我拿了五把梅林全被刺")  # 阿瓦|隆玩
    assert "星穹铁道" in words_of("最近在玩星穹铁道，抽卡又歪了")  # 玩星|穹|铁道
    assert "英仙座流星雨" in words_of("今晚英仙座流星雨，蹲到两点")  # six characters
    assert "开放麦" in words_of("去看了个开放麦，全场没人笑")


def test_a_known_word_inside_a_dictionary_word_stays_as_jieba_cut_it():
    assert "看球" not in words_of("周末去看球赛")  # 看|球赛: 球赛 is jieba's word


def test_a_lone_character_after_a_noun_or_a_latin_letter_is_its_suffix_not_a_topic():
    assert "室" not in words_of("在B超室直接哭成傻子")
    assert "社" not in words_of("开了十个箱子，V社你是真没有心")
    assert "猫" in words_of("买了只猫")


def test_a_count_with_each_or_this_and_a_locative_piece_are_no_candidates():
    found = words_of("一共看到四颗，每颗都许了同一个愿望")
    assert "每颗" not in found and "一共" not in found
    assert not {"里算", "里算长寿"} & set(words_of("团团两岁半，仓鼠里算长寿的了"))


def test_a_noun_jieba_tags_before_an_aspect_particle_is_a_verb_there_and_joins_no_compound():
    assert "玄凤学会" not in words_of("家里的玄凤学会了微信提示音")
    assert "玄凤" in words_of("家里的玄凤学会了微信提示音")


def test_a_question_said_twice_a_clock_time_and_a_place_inside_something_are_no_candidates():
    assert "重不重" not in words_of("痛包里塞了六十个吧唧，重不重啊")
    assert "晚八点" not in words_of("楼下音响每晚八点准时放歌")
    assert "群里" not in words_of("群里安静了")
    assert "嫦娥六号" in words_of("嫦娥六号着陆了，看直播看得好激动")  # an ordinal stays


def test_a_count_of_versions_is_no_candidate():
    assert "改一版" not in words_of("领导让我再改一版") and "语版" not in words_of("繁花沪语版太有味道了")


def test_a_made_up_word_an_adverb_of_again_ends_is_a_piece():
    assert "包邮再" not in words_of("吹风机挂闲鱼了，包邮再便宜十块")


def test_a_verb_said_twice_is_a_gesture_not_an_activity():
    assert "抱抱" not in words_of("抱抱你") and "讲讲" not in words_of("展开讲讲")
    assert "搬家" in words_of("搬家了，累瘫")


def test_a_modal_an_adverb_before_a_verb_a_count_of_games_and_a_verbs_direction_are_no_candidates():
    cat = words_of("黑色衣服已经全部退役了，家里那位主子一天掉的毛能再织一只猫")
    assert "毛能" not in cat and "再织" not in cat and "主子" in cat
    match = words_of("周末约球，三局全输，对面是两个六十岁的大爷")
    assert "三局" not in match and "全输" not in match and "约球" in match
    assert "投出来" not in words_of("第一次玩本就抽到凶手，最后居然没被投出来！！")
    assert "只用" not in words_of("今天被通知优化了。工作四年，收拾东西只用了十分钟")


def test_a_full_marathon_and_an_annual_party_stay():
    assert "全马" in words_of("人生第一个全马完赛！4小时52分，最后10公里真的是靠意志走下来的")
    assert "年会抽奖" in words_of("公司年会抽奖，我又是参与奖，一条毛巾")


def test_a_known_word_jieba_calls_a_word_of_state_is_a_noun():
    assert "麻辣烫" in words_of("今天吃了麻辣烫，好辣")
    assert "湿地" in words_of("周末去湿地公园踏青")


def test_a_degree_adverb_ending_a_made_up_word_and_as_soon_as_after_a_noun_are_pieces():
    assert "风太大帽子" not in words_of("大理洱海边骑车，风太大帽子被吹进水里了")
    assert "冰箱一" not in words_of("冰箱一推进去手根本伸不进去") and "冰箱" in words_of("冰箱一推进去手根本伸不进去")
    assert "英语一" in words_of("考研英语一真的好难")  # a noun and its number stays


def test_a_noun_whose_last_character_jieba_joined_to_the_next_word_makes_no_compound():
    found = words_of("转去坡子街巷子里一家无名臭豆腐")
    assert "坡子街巷" not in found and "臭豆腐" in found


def test_a_verb_whose_first_character_ends_the_word_before_it_is_no_candidate():
    assert "上吊" not in words_of("穿着屏蔽服在斗臂车上吊了四个小时")
    assert "搬家" in words_of("周末搬家累瘫了")


def test_a_made_up_word_holding_a_cantonese_particle_is_a_piece_of_a_clause():
    found = words_of("露台种嘅车厘茄终于红咗三粒，点知一个下昼俾雀仔食咗一粒")
    assert not any("俾" in w or "咗" in w or "嘅" in w for w in found)


def test_a_sum_of_money_in_latin_letters_inside_chinese_is_no_name():
    from inference.text.phrases import extract_phrases

    assert [p.words for p in extract_phrases("Shopee 11.11 抢到 RM19.90 的 air fryer", [], "zh")] == ["shopee"]


def test_a_surname_said_with_old_and_what_that_person_does_is_no_name():
    found = words_of("领舞老刘急得直喊一二三四，老刘说明天再练")
    assert "刘急" not in found and "刘说" not in found
    assert "阿杰" in words_of("阿杰跟我们去爬山")
    assert "黄鸭" in words_of("跟着教程钩了只小黄鸭")


def test_a_measure_word_is_no_part_of_the_thing_counted():
    found = words_of("阿爸今日劏咗条鲩鱼，放血吊咗一晚")
    assert "鲩鱼" in found and "条鲩鱼" not in found
    found = words_of("长鱼浇头加一碟干丝再来壶茶")
    assert "干丝" in found and "一碟干丝" not in found
