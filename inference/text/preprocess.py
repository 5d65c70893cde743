"""Text preprocessing shared by training and serving (torch-free).

Two jobs:
- `split_gold_hashtags`: the paper's gold-tag rule. Hashtags before or after the post body are the gold
  hashtags and leave the post; hashtags inside the body stay as words (no '#').
- `tokenize`: the model's view of a text. Links -> URL, @mentions -> MENTION, numbers -> DIGIT (the exact
  tokens the Weibo data already uses), everything else lowercased, inline hashtags -> their words.
  Punctuation is dropped; emoji are kept, one token per emoji (they carry topic, e.g. food or sport).
  Chinese: text that is already word-segmented (the Weibo files) is split on spaces, raw Chinese goes
  through jieba; digit runs become DIGIT even inside words ("coco123" -> "cocoDIGIT"), as in the Weibo data.
  English keeps alphanumeric words ("covid19") and maps only whole numbers ("1,000", "3.5") to DIGIT.

Bump PREPROCESS_VERSION whenever `tokenize` changes output: models record the version they were trained on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from inference.limits import MAX_READ_CHARS
from inference.text.segment import cache_dir
from inference.text.tags import detect_lang, normalize_tag

PREPROCESS_VERSION = 1

SPECIAL_TOKENS = ("URL", "MENTION", "DIGIT")
ARTEFACT_TAGS = {"semst"}  # TweetEval stance appends #SemST to every tweet

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_EMOJI = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF"

# One pass over the text; the first alternative that matches at a position wins.
_TOKEN_RE = re.compile(
    r"(?P<url>(?:https?://|www\.)\S+)"
    r"|(?P<mention>@\w+)"
    r"|(?P<tag>#\w+)"
    r"|(?P<num>\d+(?:[.,:]\d+)*(?!\w))"
    rf"|(?P<emoji>[{_EMOJI}])"
    r"|(?P<word>\w+(?:['’]\w+)*)"
)
_SPECIAL_SPLIT_RE = re.compile(r"(URL|MENTION|DIGIT)")
_DIGITS_RE = re.compile(r"\d+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")

# Gold-hashtag extraction.
_HASHTAG_RE = re.compile(r"#(\w+)")
_WEIBO_TAG_RE = re.compile(rf"#([^#\s][^#\n]*?[{_CJK}][^#\n]*?)#")  # Weibo writes topics as #话题#
_TAG_TOKEN_RE = re.compile(r"^[^\w#@]*((?:#\w+)+)[^\w#@]*$")  # "#tag", "(#tag)!", "#a#b"
_URL_TOKEN_RE = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_NO_WORD_RE = re.compile(r"^\W*$")
# Instagram cross-posts end with " @ Place" (or foursquare's "(@ Place)"): location, not text.
_PLACE_SUFFIX_RE = re.compile(r"(?:\s+@\s+\S[^\n]*|\s*\(@ [^)]*\)\W*)$")


def _is_tag_token(token: str) -> bool:
    return _TAG_TOKEN_RE.match(token) is not None


def _is_filler(token: str) -> bool:
    """Tokens that may sit between the body and its edge hashtags: links, @mentions, bare punctuation/emoji."""
    return bool(_URL_TOKEN_RE.match(token) or _NO_WORD_RE.match(token) or token.startswith("@"))


def _inline_words(match: re.Match) -> str:
    tag = match.group(1)
    if tag.lower() in ARTEFACT_TAGS:
        return ""
    return normalize_tag(tag)


def split_gold_hashtags(text: str) -> tuple[str, list[str]]:
    """Split a raw post into (body, gold raw tags).

    Gold = hashtags before the first or after the last word of the body (links, mentions and punctuation
    at the edges are skipped over and stay in the body). Those leave the text; hashtags inside the body
    stay as their segmented words. Single-character tags are never gold; #SemST is dropped everywhere.
    Raw tags are returned without '#', in order, without duplicates; normalise them with `normalize_tag`.
    """
    text = _PLACE_SUFFIX_RE.sub("", text.strip())
    gold: list[str] = []

    # Weibo-style "#话题#" topics first: they may contain spaces, so token scanning cannot see them.
    if "#" in text and _CJK_RE.search(text):
        spans = list(_WEIBO_TAG_RE.finditer(text))
        if spans:

            def only_topics(s: str) -> bool:
                return not _WEIBO_TAG_RE.sub("", s).strip()

            pieces, last = [], 0
            for m in spans:
                pieces.append(text[last : m.start()])
                if only_topics(text[: m.start()]) or only_topics(text[m.end() :]):
                    gold.append(m.group(1).strip())
                else:
                    pieces.append(" " + m.group(1).strip() + " ")
                last = m.end()
            pieces.append(text[last:])
            text = "".join(pieces)

    tokens = text.split()
    is_tag = [_is_tag_token(tok) for tok in tokens]
    words = [i for i, tok in enumerate(tokens) if not is_tag[i] and not _is_filler(tok)]
    first_word = words[0] if words else len(tokens)
    last_word = words[-1] if words else -1
    kept: list[str] = []
    for i, tok in enumerate(tokens):
        if is_tag[i] and (i < first_word or i > last_word):
            gold.extend(t for t in _HASHTAG_RE.findall(tok) if len(t) > 1 and t.lower() not in ARTEFACT_TAGS)
        else:
            kept.append(tok)
    body = _HASHTAG_RE.sub(_inline_words, " ".join(kept))
    body = " ".join(body.split())

    seen, unique = set(), []
    for tag in gold:
        key = tag.lower()
        if key not in seen:
            seen.add(key)
            unique.append(tag)
    return body, unique


def _lower_keep_specials(token: str) -> str:
    if token.islower() or not any(s in token for s in SPECIAL_TOKENS):
        return token.lower()
    return "".join(p if p in SPECIAL_TOKENS else p.lower() for p in _SPECIAL_SPLIT_RE.split(token))


def _normalize(text: str, zh: bool) -> list[str]:
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "word":
            if tok.strip("_") == "":
                continue
            if zh and any(c.isdigit() for c in tok):
                tok = _DIGITS_RE.sub("DIGIT", tok)
            out.append(tok if tok in SPECIAL_TOKENS else _lower_keep_specials(tok))
        elif kind == "num":
            out.append("DIGIT")
        elif kind == "url":
            out.append("URL")
        elif kind == "mention":
            out.append("MENTION")
        elif kind == "tag":
            if tok[1:].lower() not in ARTEFACT_TAGS:
                words = normalize_tag(tok[1:])
                if words:
                    out.extend(words.split(" "))
        else:  # emoji
            out.append(tok)
    return out


def _is_presegmented(text: str) -> bool:
    """Weibo files put spaces between words: CJK chunks then average at most ~3 characters."""
    chunks = [c for c in text.split() if _CJK_RE.search(c)]
    if not chunks:
        return True
    return sum(len(c) for c in chunks) / len(chunks) <= 3.5


@functools.lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    try:  # its dictionary cache (~9 MB, built on first use) goes with ours, outside the repo
        cache = cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache)
    except OSError:
        pass  # jieba's default: the system temp directory
    from inference.text.zh_tables import initialize_jieba  # its dictionary read as a numpy file, cached there

    initialize_jieba(jieba, cache_dir())
    return jieba


def tokenize(text: str, lang: str | None = None) -> list[str]:
    """Text -> model tokens (see the module docstring for the rules)."""
    if lang is None:
        lang = detect_lang(text)
    if lang != "zh":
        return _normalize(text, zh=False)
    if _is_presegmented(text):
        return _normalize(text, zh=True)
    # Raw Chinese: protect links/mentions/hashtags from jieba by normalising non-CJK runs separately.
    out: list[str] = []
    for piece in re.split(rf"([{_CJK}]+)", text):
        if not piece:
            continue
        if _CJK_RE.match(piece):
            out.extend(w for w in _jieba().lcut(piece) if w.strip())
        else:
            out.extend(_normalize(piece, zh=True))
    return out


def clip_texts(post: str, thread: Sequence[str], budget: int = MAX_READ_CHARS) -> tuple[str, tuple[str, ...]]:
    """What the serving stages read of a request: the post, then the thread's messages in order, cut
    to `budget` characters in all (later messages dropped). Under the budget: the same texts."""
    post = post[:budget]
    left, kept = budget - len(post), []
    for message in thread:
        if left <= 0:
            break
        kept.append(message[:left])
        left -= len(kept[-1])
    return post, tuple(kept)


def fill_placeholders(words: str, raw_text: str) -> str | None:
    """A candidate tag as a user can post it. Tags learnt from the data sets hold their normalisation's
    placeholders (#鹿晗DIGIT生日快乐): each DIGIT takes the raw text's next number, in order; a tag that
    needs more numbers than the text has, or holds URL / MENTION, is None (not a usable hashtag). Text
    written in the data sets' own convention (it holds the placeholders itself, like the Weibo posts)
    keeps them, so benchmarks compare like with like."""
    if not any(s in words for s in SPECIAL_TOKENS) or any(s in raw_text for s in SPECIAL_TOKENS):
        return words
    if "URL" in words or "MENTION" in words:
        return None
    numbers = [re.sub(r"[.,]", "", n) for n in _NUMBER_RE.findall(raw_text)]
    if len(numbers) < words.count("DIGIT"):
        return None
    fill = iter(numbers)
    return re.sub("DIGIT", lambda _: next(fill), words)
