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
