"""Chinese hashtag candidates from a post's words (the Chinese half of `inference/text/phrases.py`).

`chinese(text, tables)` takes jieba's segmentation and tables (`phrases.jieba_tables()`) and returns
(words, base score, kind) as Chinese posters write tags, without spaces:
"work": 《titles》, tagged whole (no piece of one the text writes nowhere else: 王国, 之泪 of 《王国之泪》; but 流浪地球
of 《流浪地球2》, the series);
"title": festivals (中秋节, and the short forms 中秋 国庆 people tag), a place or name joined to the
noun after it (兰州拉面, 广州地铁, 英雄联盟, 塞尔达传说), a name and its ordinal (神舟十七号, 嫦娥六号),
a noun and its kind (螺蛳粉, 毕业季), two nouns of one thing (扫地机器人, 糯米圆子), a noun and its number (科目二);
"entity": jieba's people/places/organisations/proper nouns/abbreviations, words its dictionary lacks
that start like a name;
"topic": nouns and three-character idioms (大扫除) by IDF, rarer verbs that name an activity (搬家, 下雪,
加班, 熬夜), new words, a rare noun of one character standing alone (猫, 雪: not 人, 事, nor 肉 in 多肉 or 瓶 in
买瓶酱油), the noun a verb of one character takes inside a word jieba keeps whole (放寒假 -> 寒假,
吃火锅 -> 火锅).
Fragments are no candidates: a new word with a numeral, a modal, a comparison or a verb complement in it
(一买, 三比, 比旧, 胖得, 能进, 抽到), a new word that a 了 or 的 ends as a predicate (人太多了, 新买的)
or whose first character ends a word with the one before it (发表|情包),
an idiom with a particle in it (快没了), "第一节" (a lesson, not a festival), stop and time words.
Modern words jieba cuts apart in a sentence (打|工人, 车|厘子, 王者|荣耀: inference/data/words_zh.txt) are
joined back first and read as one word of their listed part of speech; where its HMM glued one to the
characters beside it (用微|信发, 追剧发), that run is cut again around it. A made-up word that begins or ends
with a measure word (个阀, 吃顿) or is a verb said twice (带带) is a fragment too.
"""

from __future__ import annotations

import functools
import re

from inference.text.segment_data import PACKAGE_DATA

ZH_STOP = frozenset("""
今天 明天 昨天 今晚 今年 明年 去年 现在 刚刚 终于 记得 时候 时间 东西 事情 大家 我们 你们 他们
她们 自己 什么 怎么 这个 那个 这样 那样 还是 就是 已经 可以 没有 真的 觉得 知道 感觉 一下 一起
一点 一定 不是 还有 因为 所以 但是 如果 然后 而且 其实 哈哈 哈哈哈 呵呵 微博 转发 评论 网页
链接 视频 图片 分享 朋友 今日 晚上 早上 中午 下午 上午 周末 问题 情况 人们 人家 地方 样子 方面
结果 原因 快乐 回家 出门 一场 一次 一天 一个 有点 好像 希望 喜欢 谢谢 小伙伴 全文 原文 网友
大家好 日子 心情 生活 世界 工作 小时 分钟
周一 周二 周三 周四 周五 周六 周日 星期一 星期二 星期三 星期四 星期五 星期六 星期天 星期日
昨晚 今早 明早 前天 后天 当天 每天 天天 最近 以后 以前 之前 之后 下次 上次 这次 那次 第一次 一年 一周
差点 总算 全靠 试试 只会 全程 全组 全场 中途 秒钟 一直 一晚上 半天 全部 所有 一切 整个 一共 总共 人均
""".split())
# festivals, the days and the seasons people tag (short forms too: #中秋 #国庆 are written as often as #中秋节)
ZH_FESTIVALS = tuple("""
春节 除夕 元宵节 元宵 清明节 清明 端午节 端午 七夕 七夕节 中秋节 中秋 重阳节 重阳 国庆节 国庆 元旦
劳动节 五一 儿童节 六一 母亲节 父亲节 情人节 圣诞节 平安夜 感恩节 教师节 妇女节 万圣节 腊八节 腊八
小年 冬至 寒食节 中元节 建军节 青年节 植树节 愚人节 双十一 双十二 跨年 年夜饭 过年
生日 纪念日 春天 夏天 秋天 冬天
""".split())
ZH_ENTITY_FLAGS = frozenset("nr nrt nrfg ns nt nz j".split())  # j: abbreviations (亚运会, 央视)
ZH_TOPIC_FLAGS = frozenset("n vn l".split())
ZH_NOUN_FLAGS = frozenset("n vn nz".split())
ZH_SINGLE_OK = frozenset("n ng g a ag b j nr ns nz".split())  # single characters that may form a word
ZH_WEAK_FIRST = frozenset("太很最超好真更挺还又也都就才不没被把让")  # 太帅, 很好: degree adverb + word
ZH_FUNCTION_CHARS = ZH_WEAK_FIRST | frozenset("了的吗呢吧啊呀哦着过是在有和与我你他她它这那")
ZH_NUMERALS = frozenset("一二三四五六七八九十两几零百千万第")
ZH_DIGITS = frozenset("一二三四五六七八九十")  # 科目二: a number that names ...
ZH_COUNTED = frozenset("q n ng nz t".split())  # ... unless a measure, noun or time word follows it (三 小时)
# a word jieba's HMM made up is a fragment of a clause, not a name, when it starts with a numeral, a
# modal or a direction (一买, 三比, 能进, 上人), holds a particle or ends in a verb's result (胖得, 抽到)
ZH_FRAGMENT_FIRST = ZH_WEAK_FIRST | ZH_NUMERALS | frozenset("能会要上下去来比白说号里之瞎先别得学刚常问完趁")  # 仓鼠|里算: a locative; 王国|之泪;
# 瞎冲, 瞎买: an adverb of manner (not 乱: 乱针绣 is a kind of embroidery); 先拔, 别学, 得修: "first", "don't", "must";
# 学棱块: "learn" (学霸 is the dictionary's); 刚刷, 常买: "just", "often"; 问牙|仙子, 看|完回, 趁新蒜: "ask", "finished", "while" (问界, 完赛: words_zh.txt); 蛋加|腐竹, 南汇嘴加: "add" ends one (加新, 加针 stay)
# "as soon as", a verb or an adverb before the verb ends a made-up word (风一|吹, 迟子建|写雨|写火, 汤全|洒了; 科三 stays)
ZH_FRAGMENT_LAST = frozenset("一写说全都也还就才又里再能要太很最挺更加上")  # 包里, 群里: a place inside something; 毛能|再织: a modal
# (年会 stays); 风太|大帽子: a degree adverb ends a clause's subject; 涂上, 套上: a verb and its complement
ZH_MEASURES = frozenset("个顿桌碗盒张条件趟遍辆份杯瓶版")  # 买了个|阀芯, 一大|桌菜, 吃顿|火锅: a measure word ends a count
ZH_COUNTERS = ZH_MEASURES | frozenset("块辆只次台部本斤元毛颗位双套局盘场轮圈碟壶串根袋罐包支片")  # after a number: 十块|钱, 一辆|车, 三局
ZH_COUNT_FIRST = ZH_NUMERALS | frozenset("每这那哪各")  # 每颗, 这颗: a measure word after them counts too
ZH_ASPECT = frozenset("了着过")  # 学会|了: the word before them is a verb, whatever jieba's flag
ZH_PREDICATE_ENDS = frozenset("了的得")  # 人太多|了, 新买|的: the new word before them is a predicate, not a name
ZH_SINGLE_IDF = 6.5  # a noun of one character this rare says what a post is about (猫 7.7, 雪 7.3; 人 2.8, 书 6.0)
ZH_KIN = frozenset("妈爸哥姐弟妹爹娘爷奶儿女")  # 给我妈: a relative named by one character is whom, not what
ZH_OBJECT_FLAGS = frozenset("n nz vn".split())  # 放|寒假, 吃|火锅: the object inside a verb-object word ...
ZH_VERB_OBJECT_FLAGS = frozenset("i l v".split())  # ... that jieba tags as an idiom, a phrase or a verb
ZH_VERB_AFTER = frozenset("了着过得在的")  # 卡|在, 淋|了, 潮|的: a character before them is no noun there,
# nor is one before a noun (买瓶|酱油: a measure word)
ZH_PARTICLES = frozenset("了的吗呢吧啊呀哦着过是在有和与我你他她它这那"
                         "咗嘅啲唔喺嚟佢冇嗰嘢噉俾乜")  # and Cantonese's (俾雀仔食, 但系屋企: a clause)
ZH_VERB_ENDINGS = frozenset("得地到完掉死好过了着起出进住来去成个快")  # 读完, 看到, 冻得, 累死, 煮成, 鼓个(掌): a verb and its result
ZH_PRONOUNS = frozenset("我你他她它")  # 带我去, 给我发: a word holding one inside is a piece of a clause (吉他 is not)
ZH_ADDRESS = frozenset("老阿")  # 老|刘急, 阿|陈说: the surname after one is a person addressed (老刘), the next character
# the clause's (not 小: 小|黄鸭 is a duck)
ZH_VERB_IDF = 8.0  # a verb this rare names an activity people tag (搬家 8.4, 加班 9.4; 感动 7.1, 吃 4.6)
ZH_COMPOUND_HEADS = ZH_ENTITY_FLAGS | {"?"}  # a name, place or new word ...
ZH_COMPOUND_TAILS = ZH_ENTITY_FLAGS | {"n", "?"}  # ... joined to the noun or name after it
ZH_KIND_CHARS = frozenset("粉面饭锅季赛杯馆展店汤")  # 螺蛳+粉, 毕业+季: a noun and its kind
WORDS_ZH = PACKAGE_DATA / "words_zh.txt"
WORD_FLAGS = frozenset("n nz vn l".split())  # the parts of speech words_zh.txt may give
KNOWN_LENGTHS = (6, 5, 4, 3, 2)  # characters (and jieba words) a known word may span, longest first
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_BOOK_TITLE = re.compile(r"《([^《》]{2,12})》")  # 《哪吒之魔童闹海》: a title is tagged whole
_ASKED = re.compile(r"(.)不\1|^.[不没].$")  # 重不重, 去不去: a question, no name; 刻不直, 看不懂: a verb and what it cannot reach;
# 水没开: a clause with its negation
_TIMED = re.compile(r"[一二三四五六七八九十两几]+[点岁斤秒]")  # 晚八点, 三岁: a time or a count (五月天, 嫦娥六号 stay)
_ORDINAL = re.compile(r"[一二三四五六七八九十百零\d]{1,4}号")
_DIRECTED = re.compile(r".[出起下上进回过][来去]$")  # 投出来, 站起来: a verb and its direction, no name
ZH_MANNER_FLAGS = frozenset("i l d ad z ?".split())  # an idiom, adverb or descriptive word that 地 ends is an adverbial
ZH_ADVERB_VERB_FIRST = frozenset("全只再")  # 全输, 只用, 再织: an adverb before a verb


def _festivals(text: str) -> list[tuple[str, float, str]]:
    """The festivals a text names, the longest form only (中秋节, not 中秋 beside it)."""
    named = [f for f in ZH_FESTIVALS if f in text]
    return [(f, 0.85, "title") for f in named if not any(f != g and f in g for g in named)]


def _fragment(word: str, made_up: bool = True) -> bool:
    """A made-up word (or a verb: made_up False, 下雪 stays) that is a piece of a clause: a question said as X不X
    (重不重) among the rest (a time or a count inside any word, 晚八点, is `_usable`'s)."""
    first = made_up and (word[0] in ZH_FRAGMENT_FIRST or word[0] in ZH_MEASURES or word[-1] in ZH_MEASURES
                         or word[-1] in ZH_FRAGMENT_LAST or bool(_ASKED.search(word)))
    return first or word[-1] in ZH_VERB_ENDINGS or bool(ZH_PARTICLES.intersection(word))


def _word(word: str, flag: str, idf: float, name_start: frozenset[str]) -> tuple[str, float, str] | None:
    """One word of jieba's segmentation -> a title, entity or new word; None for everything else."""
    if word.endswith("节") and len(word) >= 3 and word[0] not in ZH_NUMERALS:
        return word, 0.85, "title"
    if flag in ZH_ENTITY_FLAGS:
        return word, 0.68 + 0.04 * min(len(word) - 2, 2), "entity"
    if flag == "?" and len(word) <= 4 and not _fragment(word):
        # a word jieba's HMM found outside its dictionary: a name (余承东, 梅西) or a new term (中超)
        return (word, 0.68, "entity") if _name_like(word, name_start) else (word, 0.5, "topic")
    if flag == "v" and len(word) == 2 and idf >= ZH_VERB_IDF and not _fragment(word, made_up=False) and word[0] != word[1]:
        # (a verb said twice is a gesture, not an activity: 抱抱, 讲讲)
        return word, 0.45, "topic"
    return None


def _name_like(word: str, name_start: frozenset[str]) -> bool:
    """A new word that may be a name (余承东, 梅西): three characters or fewer, a surname first."""
    return len(word) <= 3 and word[0] in name_start


def _clause_piece(before: str, word: str, flag: str, after: str, tables) -> bool:
    """A new word (not one that may be a name) that is a predicate before 了, 的 or 得 (人太多了, 新买的), or
    whose first character makes a word of the dictionary with the last one before it: jieba cut across a
    word (发表|情包: 表情 is the word, 情包 a piece of 表情包), a verb said twice (带带), or a relative of a pronoun's and
    what is done to them (我|妈染); nor a surname said with 老 or 阿 and what that person does (老|刘急)."""
    _, tags, _, _, name_start = tables
    if flag == "?" and len(word) == 2 and before in ZH_ADDRESS and word[0] in name_start:
        return True
    if flag != "?" or _name_like(word, name_start):
        return False
    doubled = len(word) == 2 and word[0] == word[1] and tags.get(word[0], "").startswith("v")  # 带带 (兔兔 stays)
    whose = word[0] in ZH_KIN and before in ZH_PRONOUNS  # 给我|妈染|头发: my mum and what is done to her
    return doubled or whose or after in ZH_PREDICATE_ENDS or (bool(before) and before[-1] + word[0] in tags)


def _single_topic(char: str, tags: dict, idf: dict, after: tuple[str, str]) -> bool:
    """A character standing alone that is a rare noun (ZH_SINGLE_IDF), not before a particle or a noun
    (after: the next word and its flag)."""
    if after[0][:1] in ZH_VERB_AFTER or after[1] in ZH_OBJECT_FLAGS:
        return False
    return tags.get(char) == "n" and idf.get(char, 0.0) >= ZH_SINGLE_IDF and char not in ZH_STOP | ZH_KIN


def _object(word: str, flag: str, tags: dict) -> str | None:
    """The noun of a three-character verb-object word that is not itself a noun (放寒假 -> 寒假)."""
    if len(word) != 3 or flag not in ZH_VERB_OBJECT_FLAGS or not _CJK_RUN.fullmatch(word):
        return None
    verb, noun = word[0], word[1:]
    taken = tags.get(verb, "").startswith("v") and tags.get(noun) in ZH_OBJECT_FLAGS
    return noun if taken and noun not in ZH_STOP else None


def _usable(word: str, flag: str) -> bool:
    """A word that may be a candidate or part of one."""
    if (flag == "?" and _fragment(word)) or (flag == "l" and ZH_PARTICLES.intersection(word)):
        return False
    if word.endswith("地") and flag in ZH_MANNER_FLAGS:  # 骄傲地, 慢慢地: how something is done (目的地, 草地 are nouns)
        return False
    if (len(word) >= 3 and _DIRECTED.search(word)) or (len(word) == 2 and word[0] in ZH_ADVERB_VERB_FIRST and (
            flag in ("v", "vn") or (flag == "?" and word[0] != "全"))):  # (全马, a full marathon, stays)
        return False
    if ZH_PRONOUNS.intersection(word[1:-1]) or _counted(word) or _TIMED.search(word) or (
            word[:2] in ZH_STOP and word[2:] in ZH_STOP):
        return False  # a stop word glued to another (今天下午) says nothing either
    return (2 <= len(word) <= 6 and word not in ZH_STOP and word[0] not in ZH_WEAK_FIRST
            and bool(_CJK_RUN.fullmatch(word)))


def _counted(word: str) -> bool:
    """A number and its measure word begin the word: a count (十块钱, 一辆车), no tag."""
    return len(word) >= 2 and word[0] in ZH_COUNT_FIRST and word[1] in ZH_COUNTERS


def _compounds(words: list[tuple[str, str]], tags: dict) -> list[tuple[str, float, str]]:
    """Two neighbouring words written as one tag: a place or name and the noun after it (兰州拉面,
    英雄联盟), a name and its ordinal (神舟十七号), a noun and its number (科目二), a noun and its kind
    (螺蛳粉); no new word that a 了 or 的 ends as a predicate (香山 人太多 了), no tail jieba cut across a word
    of the next one (坡子 街巷|子里)."""
    found = []
    for (z, _), (a, fa), (b, fb), (c, fc) in zip([("", ""), *words], words, words[1:], [*words[2:], ("", "")]):
        if fa == "?" and a[0] in ZH_KIN and z in ZH_PRONOUNS:  # 我|妈染|头发: no 妈染头发 (`_clause_piece`)
            continue
        # no particle inside (美的 晚霞 is "beautiful sunset"), and a noun whose number follows it is
        # that number's (考驾照 科目 二: no 考驾照科目)
        if fa in ("n", "nz") and _usable(a, fa) and fb == "m" and len(b) == 1 and b in ZH_DIGITS:
            # 科目 二, 英语 一: a noun and its number, one name; 排队 三 小时 counts; 冰箱 一 推: "as soon as"
            if fc not in ZH_COUNTED and not (b == "一" and fc.startswith("v")):
                found.append((a + b, 0.8, "title"))
            continue
        if not _usable(a, fa) or len(a) > 3 or ZH_PARTICLES.intersection(a + b) or fc == "m" or c[:1] in ZH_NUMERALS:
            continue
        if fc == "?" and b[-1] + c[:1] in tags:  # 坡子 街巷|子里: jieba cut across 巷子, the tail is no noun there
            continue
        if (fa in ZH_ENTITY_FLAGS or fa == "n") and _ORDINAL.fullmatch(b):
            found.append((a + b, 0.8, "title"))
        elif fa in ("n", "v") and len(b) == 1 and b in ZH_KIND_CHARS and fb in ("n", "ng"):
            found.append((a + b, 0.7, "title"))
        elif (fa in ZH_NOUN_FLAGS and fb in ZH_NOUN_FLAGS and len(a) == 2 and 2 <= len(b) <= 3 and _usable(b, fb)
              and c not in ZH_PREDICATE_ENDS and a[-1] != "里"):  # 扫地 机器人: one thing (爷爷 学会 了, 店里 屁股: no)
            found.append((a + b, 0.7, "title"))
        elif (fa in ZH_COMPOUND_HEADS and fb in ZH_COMPOUND_TAILS and _usable(b, fb) and len(a + b) <= 6
              and not (fb == "?" and c in ZH_PREDICATE_ENDS) and c not in ZH_ASPECT):  # 玄凤 学会 了: a verb there
            found.append((a + b, 0.8, "title"))
    return found


@functools.lru_cache(maxsize=1)
def known_words() -> dict[str, str]:
    """inference/data/words_zh.txt: modern words jieba cuts apart in a sentence (打|工人), and their flags."""
    known = {}
    for number, line in enumerate(WORDS_ZH.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in WORD_FLAGS:
                raise ValueError(f"{WORDS_ZH}:{number}: expected 'word flag' with a flag of {sorted(WORD_FLAGS)}")
            known[fields[0]] = fields[1]
    return known


def _flag(word: str, known: dict[str, str], tags: dict) -> str:
    """jieba's flag of a word, but a known word's where jieba calls it a word of state ("z": 麻辣烫, 湿地)."""
    flag = tags.get(word, "?")
    return known[word] if flag == "z" and word in known else flag


def _recut(words: list[tuple[str, str]], known: dict[str, str], tags: dict) -> list[tuple[str, str]]:
    """jieba's words with each run of words its HMM made up (flag "?") cut again where a known word lies
    across or inside them (用微|信发 -> 用 微信 发, 追剧发 -> 追剧 发, 凑满|减凑 -> 凑 满减 凑): the rest of
    the run falls into its characters, as jieba leaves characters it has no word for."""
    out, i = [], 0
    while i < len(words):
        j = i
        while j < len(words) and words[j][1] == "?" and _CJK_RUN.fullmatch(words[j][0]):
            j += 1
        run = "".join(w for w, _ in words[i:j])
        found = _known_in(run, known) if j > i else []
        if not found or _left_over(run, found) > 1:  # 全马|完赛: a new word beside the known one stays
            out.append(words[i])
            i += 1
            continue
        at = 0
        for start, word in found:
            out.extend((c, tags.get(c, "?")) for c in run[at:start])
            out.append((word, known[word]))
            at = start + len(word)
        out.extend((c, tags.get(c, "?")) for c in run[at:])
        i = j
    return out


def _left_over(run: str, found: list[tuple[int, str]]) -> int:
    """The longest piece of a run between (and around) its known words."""
    ends = [0, *(x for start, word in found for x in (start, start + len(word))), len(run)]
    return max(b - a for a, b in zip(ends[::2], ends[1::2]))


def _known_in(run: str, known: dict[str, str]) -> list[tuple[int, str]]:
    """(start, word) of the known words in a run of characters, leftmost and longest first, none overlapping."""
    found, at = [], 0
    while at < len(run) - 1:
        word = next((run[at:at + n] for n in KNOWN_LENGTHS if run[at:at + n] in known), None)
        if word is None:
            at += 1
            continue
        found.append((at, word))
        at += len(word)
    return found


def _joined(words: list[tuple[str, str]], known: dict[str, str]) -> list[tuple[str, str]]:
    """jieba's words with neighbours that spell a known word (打 工人 -> 打工人) joined, longest first."""
    out, i = [], 0
    while i < len(words):
        for n in KNOWN_LENGTHS:
            joined = "".join(w for w, _ in words[i:i + n])
            if i + n <= len(words) and joined in known:
                out.append((joined, known[joined]))
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _across(words: list[tuple[str, str]], known: dict[str, str], tags: dict) -> list[tuple[str, str]]:
    """jieba's words with a known word cut out where its HMM glued one character of the next word to its
    end or of the last word to its start (阿瓦|隆玩 -> 阿瓦隆 玩, 玩星|穹|铁道 -> 玩 星穹铁道); the glued
    character stands alone, as jieba leaves characters it has no word for."""
    out, i = [], 0
    while i < len(words):
        hit = _across_at(words, i, known)
        if hit is None:
            out.append(words[i])
            i += 1
            continue
        lead, word, trail, i = hit
        out.extend([*((c, tags.get(c, "?")) for c in lead), (word, known[word]), *((c, tags.get(c, "?")) for c in trail)])
    return out


def _across_at(words: list[tuple[str, str]], i: int, known: dict[str, str]) -> tuple[str, str, str, int] | None:
    """(glued character before, the longest known word, glued character after, the index after them) of a
    known word that begins in words[i] and ends in a later word, cut from a made-up word at one end or both."""
    best = None
    for j in range(i + 2, min(len(words), i + len(KNOWN_LENGTHS)) + 1):
        span = "".join(w for w, _ in words[i:j])
        for lead in (0, 1) if words[i][1] == "?" and len(words[i][0]) >= 2 else (0,):
            for trail in (0, 1) if words[j - 1][1] == "?" and len(words[j - 1][0]) >= 2 else (0,):
                word = span[lead:len(span) - trail]
                if (lead or trail) and word in known and (best is None or len(word) > len(best[1])):
                    best = (span[:lead], word, span[len(span) - trail:], j)
    return best


def chinese(text: str, tables) -> list[tuple[str, float, str]]:
    """Candidates of one Chinese text; `tables`: phrases.jieba_tables()."""
    jieba, tags, idf, median_idf, name_start = tables
    found = _festivals(text)
    titles = [m.group(1) for m in _BOOK_TITLE.finditer(text)]
    found.extend((t, 0.85, "work") for t in titles)
    known = known_words()
    words = _recut([(w, _flag(w, known, tags)) for w in jieba.lcut(text)], known, tags)
    words = _across(_joined(words, known), known, tags)
    compounds = _compounds(words, tags)
    found.extend(compounds)
    numbered = {w[:-1] for w, _, _ in compounds if w[-1] in ZH_DIGITS}  # 科目 of 科目二 is no tag alone
    topics: list[tuple[str, float]] = []
    singles: list[str] = []
    described = False
    ended = [*words, ("", "")]  # the empty word ends a last run of single characters
    counted = False  # the run of single characters follows a numeral of one character (多|肉 is 多肉)
    suffix = False  # ... or a noun or a Latin letter, whose suffix a lone character is there (B超|室, 螺蛳|粉, V|社)
    for (before, flag_before), (word, flag), (after, _) in zip([("", ""), *ended], ended, [*ended[1:], ("", "")]):
        if len(word) == 1 and flag in ZH_SINGLE_OK and _CJK_RUN.fullmatch(word):
            counted = counted if singles else (len(before) == 1 and flag_before == "m")
            suffix = suffix if singles else (flag_before in ZH_NOUN_FLAGS or (before.isascii() and before.isalnum()))
            singles.append(word)  # a word jieba does not know, left in known pieces: 国 足, 雾 霾
            described = flag.startswith("a")  # ... unless an adjective ends it before 了: 弦 老 了 (the string is old)
            continue
        if len(singles) >= 3 and singles[0] in ZH_COUNTERS:  # 劏咗|条|鲩|鱼: the count's measure word is no part of the fish
            singles = singles[1:]
        if 2 <= len(singles) <= 4 and (joined := "".join(singles)) not in ZH_STOP and not (described and word in ZH_ASPECT):
            found.append((joined, 0.7, "entity") if tags.get(joined) in ZH_ENTITY_FLAGS else (joined, 0.55, "topic"))
        elif len(singles) == 1 and not counted and not suffix and _single_topic(singles[0], tags, idf, (word, flag)):
            found.append((singles[0], 0.4, "topic"))
        singles = []
        if (noun := _object(word, flag, tags)) is not None:
            found.append((noun, 0.45, "topic"))
        if word in numbered or not _usable(word, flag) or _clause_piece(before, word, flag, after, tables):
            continue
        if flag == "v" and before and tags.get(before[-1] + word[0]) in ("s", "f"):  # 斗臂车|上吊: 车上, a place, is the word
            continue
        if (candidate := _word(word, flag, idf.get(word, median_idf), name_start)) is not None:
            found.append(candidate)
        elif flag in ZH_TOPIC_FLAGS or (flag == "i" and len(word) == 3):  # 大扫除; a four-character idiom is no tag
            topics.append((word, idf.get(word, median_idf)))
    if topics:
        top = max(weight for _, weight in topics)
        found.extend((w, 0.25 + 0.35 * weight / top, "topic") for w, weight in topics)
    return [f for f in found if f[2] == "work" or not _inside_titles(f[0], text, titles)]


def _inside_titles(words: str, text: str, titles: list[str]) -> bool:
    """A piece of a 《title》 that the text writes nowhere else (王国, 之泪 of 《王国之泪》)."""
    series = {t.rstrip("0123456789一二三四五六七八九十") for t in titles}  # 流浪地球 of 《流浪地球2》 names the series
    inside = [t for t in titles if words in t and words != t]
    return bool(inside) and words not in series and text.count(words) == sum(t.count(words) for t in titles)
