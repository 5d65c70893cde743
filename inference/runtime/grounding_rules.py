"""English ranking rules of the grounding stage beyond its weighted sum (inference/runtime/grounding.py).

A judged panel's weak lists lacked the post's own topic word and held loose guesses in its place:
- a post word: a single word the post writes itself that training posts used as a tag (#Storm under "the
  storm came through") scores `post_word_weight` x its rarity on top (`mark_post_words`): the rarer the
  word, the more it says what the post is about (#Storm more than #Club);
- a loose guess: a tag sharing no content word with the post (`names.content_overlap`) that only the
  encoder's vocabulary search or dense neighbours proposed, whose relevance is below `guess_relevance`
  (a cosine only moderately above the post's mean: #Wrestling under tennis doubles, #Pets under a yoga
  pose), ranks after the candidates the post supports (`demote_loose_guesses`, with the floor); it still fills a list nothing else fills;
- at most one guess of the vocabulary search alone that shares no word with the post (`few_guesses`);
- the same tag twice (#Plant and #Plants: text/tags.variant_key): the second ranks after the others
  (`distinct_first`), so a short list says more than one thing;
- the post's broad topic (#BoardGames, #Commute), which its words often lack (`add_topic`, runtime/topics.py);
- no tag in another script under a post in Latin letters (#생일 under "happy birthday": `other_script`).
- no loose compound of the post's words run together across a verb (#DogRefusing, #CarriesCash: `loose_compound`).
Tried and not kept: dropping a single word the post writes only inside a title it gives (#Bear under
"The Bear") also dropped #Diwali under "Happy Diwali" and #Married under "WE GOT MARRIED".
"""

from __future__ import annotations

import re
from dataclasses import replace

from inference.text.english_words import BODY_WORDS, COLOUR_PEOPLE, FUNCTION_WORDS, given_name, names_a_quality
from inference.text.names import content_overlap
from inference.text.tags import LINK_OR_MENTION, tag_key, variant_key
from inference.text.phrases import FRAGMENT_WORDS, STOP_WORDS, collocation, english_lists, jieba_tables, rarity
from inference.text.phrases_zh import known_words
from inference.text.verbs import activities, verb_like
from inference.runtime.unwritten import (SENTENCE_FUNCTION_WORDS, SENTENCE_WORDS, loose_centroid, unwritten,  # noqa: F401
                                       unwritten_overlap, unwritten_saying, words_of as _words)

# the encoder's own proposals: the vocabulary's nearest tags and the nearest training posts' votes (the
# model's list is left in its place: demoting its guesses too, with the post words, cost en dev with the
# floor 0.5 in F1@1 and 0.9 in F1@5, against 0.03 and 0.02 without them)
GUESS_SOURCES = frozenset({"vocab", "dense"})
_CALENDAR = frozenset("""monday tuesday wednesday thursday friday saturday sunday january february march april
june july august september october november december""".split())
# English words that say nothing alone (phrases.py never proposes them alone either): #First, #Going,
# #Got, #Times, #Lost, #Today, #Finally, fragments (#Third, #Double, #Doing); a day's or month's name is a
# tag (#Monday), and so is one the training posts used as a tag GENERIC_TAG_COUNT times or more (#Love, #Wow)
GENERIC_ALONE = (STOP_WORDS | FRAGMENT_WORDS | BODY_WORDS | COLOUR_PEOPLE) - _CALENDAR  # BODY_WORDS: #Ribs, #Elbow
GENERIC_TAG_COUNT = 100
POST_PHRASE = 0.2  # a phrase of the post this strong (text/phrases.py's score) is judged against the post alone too


def says_nothing_alone(entry: dict, tag_count: int) -> bool:
    """An English candidate of one word that says nothing alone: GENERIC_ALONE, seldom a tag in training (`tag_count` under
    GENERIC_TAG_COUNT); a word that only names a quality, never a tag in training (#Shaky, #Loveliest); or a person's given
    name the post writes, never a tag in training (#Derek, #Margaret: text/english_words.given_name), where no topic holds it."""
    words = entry["words"].lower()
    return ((words in GENERIC_ALONE and tag_count < GENERIC_TAG_COUNT) or (tag_count == 0 and not (entry.get("name") or entry.get("topic") or entry.get("topical")) and names_a_quality(words))
            or (entry["source"] == "phrase" and tag_count == 0 and not entry.get("topic") and given_name(words)))


# body parts: "腿已经不是我的了", "我的脚已经不属于我了" say how tired, not what about (#腿, #脚)
_ZH_BODY = frozenset("腿脚手牙腰头脸眼嘴背肩膝胃肚")


def says_little(entry: dict, key: str, tag_count, lang: str) -> bool:
    """A candidate that says nothing alone: in English `says_nothing_alone` or `loose_compound` (`tag_count`, a tag key's
    count); in Chinese one character that is a body part or, in jieba's dictionary, no noun (#腿, #抽 under "90抽", #呗).
    Tried and not kept: no Chinese tag of one character at all (#茶 and #海 went too)."""
    if lang == "zh":
        words = entry["words"]
        return len(words) == 1 and (words in _ZH_BODY or not jieba_tables()[1].get(words, "n").startswith("n"))
    return lang == "en" and (says_nothing_alone(entry, tag_count(key)) or loose_compound(entry, tag_count))


def loose_compound(entry: dict, tag_count) -> bool:
    """Words of the post run together across a verb that no one tags (#HatcheryGrowingFast, #DogRefusing,
    #CarriesCash, #DoingKutsinhira): a key phrase of two or three words, no name, title or topic, never a tag in
    training (`tag_count`, a tag key's) and no pair frequent on the web, with an -ing form after its first word, an -s
    form that is no tag before its last (maths, physics are), or "doing"."""
    words = entry["words"].lower().split()
    if (entry["source"] != "phrase" or len(words) < 2 or entry.get("name") or entry.get("topic") or entry.get("work")
            or entry.get("topical") or tag_count(tag_key(entry["words"])) or collocation(" ".join(words))):
        return False
    dictionary = english_lists()[0]
    return (any(w.endswith("ing") and verb_like(w, dictionary) for w in words[1:]) or "doing" in words
            or any(_s_form(w, dictionary) and not tag_count(w) for w in words[:-1]))


# no plural, or a people's that names whose thing it is (lads holiday, girls night, kids party)
_NOT_PLURAL = frozenset("""upstairs downstairs indoors outdoors overseas always perhaps news series species lads mates
ladies girls boys kids mums moms dads""".split())


def _s_form(word: str, dictionary) -> bool:
    """carries, smells, strangers: a dictionary word's -s form (no word of its own: news, glass, upstairs, physics)."""
    if len(word) < 4 or not word.endswith("s") or word.endswith(("ss", "ics")) or word in _NOT_PLURAL:
        return False
    return any(word[:-cut] + add in dictionary for cut, add in ((1, ""), (2, ""), (3, "y")) if word.endswith(("s", "es", "ies")[cut - 1]))


def mark_post_words(pool: dict[str, dict], text: str, tag_count, skipped: frozenset[str]) -> None:
    """Give each single-word candidate the text writes itself, a tag of the vocabulary
    (`tag_count(key)` > 0) and no word in `skipped`, its "post_word": the word's rarity (phrases.rarity)."""
    found = set(_words(text))
    for key, entry in pool.items():
        word = entry["words"].lower()
        if " " in word or word not in found or word in skipped or tag_count(key) <= 0:
            continue
        entry["post_word"] = rarity(word)


ACTIVITY_TAG_COUNT = 3  # training posts that used an activity (#Biking 3, #Running 14) for it to be a tag
ACTIVITY_SCORE = 0.5  # its phrase score: the post tells of it in a verb, not in the tag's own word
# activities whose verb has no other sense, which stand past the relevance floor as a very clear topic does: of the
# activities the floor removed under the read sets' posts, these were right each time ("cycled 42 km along the canal")
# and the rest seldom ("ran into my best friend", "packed his lunch", "moved my emergency fund")
SPORTS = frozenset("biking cycling swimming hiking skiing snowboarding surfing rowing kayaking climbing skating".split())


def add_activities(pool: dict[str, dict], text: str, tag_count, sensitive=lambda words: False) -> None:
    """Add the activities the text's past tenses name ("ran" -> #Running, "biked" -> #Biking:
    text/verbs.activities) that training posts used as tags, as candidates taken from the post (a vocabulary
    guess of the same tag becomes one); none that is `sensitive` (the safety lexicon's: "flooded the floor"
    is no #Flooding, "cried" no #Crying)."""
    for words in activities(text, english_lists()[0]):
        key = tag_key(words)
        if tag_count(key) >= ACTIVITY_TAG_COUNT and not sensitive(words):
            _from_the_post(pool, key, words, ACTIVITY_SCORE)
            if words in SPORTS:  # "biked to work in -12": the encoder may not see it, the verb says it
                pool[key]["topic"] = True


TOPIC_SCORE = 0.5  # its phrase score: the post is about it, in the encoder's judgement, not in its words
COMPANION_SCORE = 0.4  # a very clear topic's companion tag's (#Runner beside #Running), which meets the floor itself


def add_topic(pool: dict[str, dict], words: str | None, sensitive=lambda words: False, clear: bool = False,
              companions: tuple[str, ...] = (), tag_count=None) -> None:
    """Add the post's topic (runtime/topics.py: #BoardGames, #Commute) as a candidate at TOPIC_SCORE, or
    raise the candidate that is that tag already, or another form of it (#Grocery for #Groceries); none
    where a phrase of the post holds it (#中秋节 for #中秋, #BankingApp for #Banking) that is, with `tag_count`, a tag of
    the training posts (#DeTejo, #文庙南音 do not hold theirs), or that is `sensitive`.
    A very clear topic (`TopicTags.chosen`) is marked to stand past the relevance floor, and its `companions`
    (the tags people add beside it: #Runner beside #Running; #Keyboards beside #MechanicalKeyboards, which holds it)
    join at COMPANION_SCORE, those the pool lacked marked "companion", the first that joins (the commonest) marked "beside"
    with the topic's key: it stands past the floor where its topic does only by being very clear (`past_the_floor`)."""
    if not words or sensitive(words):
        return
    key = _add_tag(pool, words, TOPIC_SCORE, holds=tag_count)
    if key and clear:
        pool[key]["topic"] = True
        first = True
        for other in companions:
            had = set(pool)
            if not sensitive(other) and (added := _add_tag(pool, other, COMPANION_SCORE, key)):
                if added not in had:
                    pool[added]["companion"] = True  # no word of the post: a sombre post takes none (grounding.eligible)
                if first:
                    pool[added]["beside"] = key  # its topic's key
                first = False


def past_the_floor(entry: dict, pool: dict[str, dict], floor: float, names: bool, lang: str = "en") -> bool:
    """Whether a candidate stands past the relevance floor: a very clear topic, a title the post writes, a name (with
    `names`; in Chinese, a proper noun of words_zh.txt the post writes: #原神, which the encoder, older than the game, puts
    nowhere near it), or a topic's first companion (`add_topic`) whose topic stands only by being very clear, its own
    relevance under the floor: a long-tail post (#Keyboards beside #MechanicalKeyboards), not a common one whose vector
    found it."""
    if entry.get("topic") or entry.get("work") or (entry.get("name") and (names or listed_name(entry["words"], lang))):
        return True
    topic = pool.get(entry.get("beside") or "")
    return topic is not None and topic["relevance"] < floor


def listed_name(words: str, lang: str) -> bool:
    """A Chinese proper noun of inference/data/words_zh.txt (flag nz): a game, an app, a brand, a show of recent years."""
    return lang == "zh" and known_words().get("".join(words.split())) == "nz"


def _add_tag(pool: dict[str, dict], words: str, score: float, topic: str | None = None, holds=None) -> str | None:
    """`add_topic`'s candidate at `score`: its key, None where a phrase of the post holds it (a companion's
    own `topic`, #MechanicalKeyboards beside #Keyboards, does not; with `holds`, a tag count, only a tag of training)."""
    key, variant = tag_key(words), variant_key(words)
    if key not in pool:
        if any(_names_it(e, key, words) and (holds is None or holds(k) > 0) for k, e in pool.items() if k != topic):
            return None
        key, words = next(((k, e["words"]) for k, e in pool.items() if variant_key(e["words"]) == variant), (key, words))
    _from_the_post(pool, key, words, score)
    pool[key]["topical"] = True  # a topic's tag or companion, never a loose compound of the post's words
    return key


def _from_the_post(pool: dict[str, dict], key: str, words: str, score: float) -> None:
    """The candidate `key` as one taken from the post (a vocabulary guess of it becomes one), its phrase
    score at least `score`."""
    entry = pool.setdefault(key, {"words": words, "model": 0.0, "source": "phrase"})
    if entry["source"] in GUESS_SOURCES:
        entry["source"] = "phrase"
    entry["phrase"] = max(entry.get("phrase", 0.0), score)


def _names_it(entry: dict, key: str, words: str) -> bool:
    """A phrase of the post that holds the topic's tag and more: 中秋节 for 中秋 (characters), "table tennis"
    for "tennis" (whole words: "esports" does not hold "sports")."""
    other = tag_key(entry["words"])
    if entry["source"] != "phrase" or other == key:
        return False
    if _LATIN.match(words[:1]):
        mine, theirs = words.split(), entry["words"].split()
        return any(theirs[i:i + len(mine)] == mine for i in range(len(theirs) - len(mine) + 1))
    return key in other


_LATIN = re.compile(r"[\u0000-\u024f\u1e00-\u1eff]")  # Latin letters, accented ones included


# words that say nothing alone in a reply or a shared link beside the function words: a name called ("mate you need
# to see this"), a pointer to something the text does not say ("check this out")
EMPTY_WORDS = FUNCTION_WORDS | frozenset("""mate mates bro bruh dude fam babe bestie sis guys lads y'all yall need
see look watch check wait believe trust doing checking everyone everybody forever""".split())
_LAUGH = re.compile(r"(?:ha|he|ah|lo|hah)+[hl]?|x+d+|l+m+f*a+o+")  # hahaha, lolol, xdd, lmfaooo


# a Chinese reply that only laughs, agrees or exclaims (哈哈哈, 同感+1, 笑死 真的笑死, 绝了)
_EMPTY_ZH = re.compile(r"(?:哈|嘿|呵|嘻|嘎|啊|呜|哇|哦|噢|嗯|额|呃|笑死我了|笑死|同感|同意|确实|真的|是的|对的|好的|收到|加一|\+1|绝了|救命"
                       r"|yyds|6+|哭了|我也是|一样|太真实了|真实|无语|啊这|好家伙|草|随便发发|算了|不说了|emm+|[\s\W_])+")


def says_nothing(text: str, lang: str = "en") -> bool:
    """An English text whose every word says nothing alone ("ok this is it", "lol same 😂", "lmaooo i cant",
    "mate you need to see this" and a link), or a Chinese one that only laughs or agrees (哈哈哈哈, 同感): no tag is
    about it, and the service's list stays empty rather than guess (#DesertLife, #Jokes, #Mate, #综艺, #同感)."""
    text = LINK_OR_MENTION.sub(" ", text)
    if lang == "zh":
        return bool(_EMPTY_ZH.fullmatch(text))
    return lang == "en" and not other_script(text) and all(_empty(w) for w in _words(text))


def _empty(word: str) -> bool:
    """A word that says nothing alone, a letter drawn out ("sooo", "yesss") read once."""
    return word in EMPTY_WORDS or re.sub(r"(.)\1+", r"\1", word) in EMPTY_WORDS or bool(_LAUGH.fullmatch(word))


def other_script(chars: str) -> bool:
    """Whether the text holds a letter outside the Latin script: an English post's tag that does (#생일, #ساندي
    from the vocabulary) stands only under a post that writes another script itself (a Russian tweet, a
    Bengali headline), not under one in Latin letters alone."""
    return any(c.isalpha() and not _LATIN.match(c) for c in chars)


def is_loose_guess(entry: dict, text: str, guess_relevance: float) -> bool:
    """A candidate of GUESS_SOURCES, sharing no content word with the text, its relevance below
    `guess_relevance`."""
    return (entry["source"] in GUESS_SOURCES and entry["relevance"] < guess_relevance
            and content_overlap(entry["words"], text, "en")[0] == 0)


def demote_loose_guesses(kept: list, text: str, guess_relevance: float) -> list:
    """kept: (Ranked, entry) pairs best first; the loose guesses (`is_loose_guess`) move after the rest,
    each group keeping its order."""
    if guess_relevance <= 0:
        return kept
    loose = [is_loose_guess(entry, text, guess_relevance) for _, entry in kept]
    return [p for p, weak in zip(kept, loose) if not weak] + [p for p, weak in zip(kept, loose) if weak]


VOCAB_GUESSES = 1  # with the floor, English: tags of the vocabulary search alone that share no word with the post


def few_guesses(kept: list, text: str, floored: bool) -> tuple[list, bool]:
    """At most VOCAB_GUESSES tags only the vocabulary search proposed, sharing no word with the post
    (#Wrestling, #Wrestler under a tennis doubles post; #Depression, #Bipolar under Rust lifetimes):
    the encoder's nearest tags to a post it cannot place are loose, one guess is enough. kept: sorted
    (Ranked, pool entry) pairs; returns them without the extra guesses, and whether any was dropped."""
    out, guesses = [], 0
    for r, entry in kept:
        if entry["source"] == "vocab" and not entry.get("dense") and content_overlap(entry["words"], text, "en")[0] == 0:
            guesses += 1
            if guesses > VOCAB_GUESSES:
                floored = True
                continue
        out.append((r, entry))
    return out, floored


TOPIC_PLACE = 2  # the index a very clear topic takes at the latest: third in the list
FIRST_SEEN = 5  # the tags a list shows first (the panels judge these): a companion pushes no name of the post out of them
UNRAISED = frozenset({"layoffs"})  # topics of a misfortune: wrongly raised they hurt (#Layoffs under a ride to work)


def clear_topic_placed(kept: list, spare_names: bool = False) -> list:
    """kept: (Ranked, entry) pairs best first; a very clear topic (`add_topic`) below TOPIC_PLACE moves up
    to it, another one to the place after the one before, at the score of the pair it moves ahead of: the post's
    own words (#Drip, #Cartridge) do not push what the post is about (#DIY; #TVShows and #Anime) out of the list."""
    last = -1  # where the last very clear topic stands
    for i in range(len(kept)):
        r, entry = kept[i]
        if not entry.get("topic") or r.words in UNRAISED:
            continue
        place = max(TOPIC_PLACE, last + 1)
        if i > place:
            kept = kept[:place] + [(replace(r, score=kept[place][0].score), entry)] + kept[place:i] + kept[i + 1:]
        last = min(i, place)
    return companion_placed(kept, last, spare_names)


def companion_placed(kept: list, last: int, spare_names: bool = False) -> list:
    """kept: (Ranked, entry) pairs best first, `last` the index of the last very clear topic (-1: none); the best
    companion tag `add_topic` brought (#Yarn beside #Knitting, #Bees beside #Beekeeping) below the place after it, or
    after TOPIC_PLACE, moves up to that place: a long-tail post's own words (#Sock, #Move) ranked above it."""
    place = max(TOPIC_PLACE + 1, last + 1)
    first = next((i for i, (_, entry) in enumerate(kept) if entry.get("companion")), -1) if last >= 0 else -1
    pushed = kept[FIRST_SEEN - 1] if first >= FIRST_SEEN > place else None
    if first <= place or (spare_names and pushed and pushed[1].get("name")):
        return kept  # with `spare_names` (English), nor does it push a name the post writes (#Chicago) out of the first
        # FIRST_SEEN (a Chinese "name" is often a made-up word: 人比熊猫)
    r, entry = kept[first]
    return kept[:place] + [(replace(r, score=kept[place][0].score), entry)] + kept[place:first] + kept[first + 1:]


def distinct_first(kept: list) -> list:
    """kept: (Ranked, entry) pairs best first; a variant of a tag above it (`variant_key`) moves after
    the rest, each group keeping its order."""
    seen, first, again = set(), [], []
    for pair in kept:
        key = variant_key(pair[0].words)
        (again if key in seen else first).append(pair)
        seen.add(key)
    return first + again


def post_phrases_under_floor(pool: dict[str, dict], post: str, floor: float) -> list[str]:
    """The keys of the phrases of POST_PHRASE or more that the post itself writes (not its thread) under the floor."""
    text = post.lower()
    return [key for key, entry in pool.items() if entry["source"] == "phrase" and entry.get("phrase", 0.0) >= POST_PHRASE
            and entry["relevance"] < floor and re.search(rf"(?<![\w']){re.escape(entry['words'].lower())}(?![\w'])", text)]


def raise_drawn_phrases(pools: list[dict[str, dict]], posts: list[str], threads: list, encode, vector_of, stats,
                        floor: float, scale: float) -> None:
    """Raise to the floor each of `post_phrases_under_floor` of a request with a thread whose relevance to the post alone
    clears it: replies about pepper and reviews had drawn the post's vector away from "jollof". encode: texts -> their
    vectors [N, D], one call for the posts that need it; vector_of: (key, words) -> its vector [D]; stats: each request's
    (mean, std) [B, 2], which standardise."""
    under = {i: post_phrases_under_floor(pools[i], posts[i], floor) for i, thread in enumerate(threads) if thread}
    rows = [i for i, keys in under.items() if keys]
    for i, alone in zip(rows, encode([posts[i] for i in rows]) if rows else ()):
        mean, std = stats[i]
        for key in under[i]:
            if (float(vector_of(key, pools[i][key]["words"]) @ alone) - mean) / std / scale >= floor:
                pools[i][key]["relevance"] = floor
