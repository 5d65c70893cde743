"""The request bodies the benchmarks send: a 30-word post alone and with its thread (5 replies), per
language. `tagsmith bench serve` posts them to the server; `python -m export.bench_runtime` (PyTorch
eager vs onnxruntime, on the export side) feeds the post+thread one to the generators."""

from __future__ import annotations

POST = (
    "Watching the final set at the Australian Open tonight and the crowd is going wild as Nadal "
    "saves another break point on centre court after four hours of brilliant tennis under the lights"
)  # 30 words
THREAD = [
    "What a match, I can't believe he is still running after four hours",
    "Best final I have seen in years, both players deserve the trophy",
    "The crowd in Melbourne is unreal tonight",
    "Federer would have finished this in three sets haha",
    "Staying up until 3am for this, no regrets at all",
]
# Chinese as people write it (no spaces: jieba segments it per request): a 30-word Weibo dev post
# (30 words in the data set's segmentation) and 5 replies from other dev threads
ZH_POST = "看好多人都在担心专业户把兄弟都嫁出去了，自己转正的时候谁来给当伴郎？这个问题确实要考虑一下，大家来给出出主意"
ZH_THREAD = [
    "行星家的帅气忙内第四，真是太温柔，最喜欢你世勋",
    "這張可以當桌布了好美，早安早上好，这张好有意境",
    "杰伦今天会求婚嘛？很期待哦 @小星星",
    "不考职称还不行了，这老师挺牛的，一直坚持自己",
    "最后一集简直是向流星花园致敬，随手刷话题",
]


def payloads_for(lang: str) -> dict[str, dict]:
    """The two request bodies measured for a language: the post alone, the post with its thread."""
    post, thread = (ZH_POST, ZH_THREAD) if lang == "zh" else (POST, THREAD)
    return {"post": {"text": post, "k": 10}, "post+thread": {"text": post, "thread": thread, "k": 10}}


REPLY_WORDS = 15  # a fresh reply's length at most (words; Chinese: twice as many characters)


def _cut(text: str, lang: str, words: int) -> str:
    """The first `words` words of a text (Chinese: about two characters a word, no spaces)."""
    return "".join(text.split())[: 2 * words] if lang == "zh" else " ".join(text.split()[:words])


def _length(text: str, lang: str) -> int:
    return len("".join(text.split())) // 2 if lang == "zh" else len(text.split())


def fresh_payloads(path: str, n: int) -> tuple[str, list[dict]]:
    """(language, n distinct post + 5 replies bodies, k=10) of the fixed payload's shape cut from the texts
    of a data file (any format `tagsmith predict` reads; the language is its records' or detected): each
    post is 30 words of one or more texts, each reply a next text's first REPLY_WORDS words, every text
    used once, in file order. Unlike the fixed payload, no request repeats another: what the service
    caches per post (language, phrases' vectors) is as cold as for a stream of different posts."""
    from inference.evaluation.readers import read_records
    from inference.text.tags import detect_lang

    texts: list[str] = []
    lang = None
    for record in read_records(path):
        for text in [record.get("post") or "", *(record.get("thread") or [])]:
            if text.strip():
                texts.append(" ".join(text.split()))
                lang = lang or record.get("lang") or detect_lang(text)
    lang = "zh" if lang == "zh" else "en"
    target, bodies, i = _length(ZH_POST if lang == "zh" else POST, lang), [], 0
    while len(bodies) < n and i < len(texts):
        post, i = texts[i], i + 1
        while _length(post, lang) < target and i < len(texts):
            post, i = post + ("" if lang == "zh" else " ") + texts[i], i + 1
        thread, i = [_cut(t, lang, REPLY_WORDS) for t in texts[i:i + 5]], i + 5
        bodies.append({"text": _cut(post, lang, target), "thread": thread, "k": 10})
    if len(bodies) < n:
        raise ValueError(f"{path} holds texts for {len(bodies)} fresh requests, not {n}")
    return lang, bodies
