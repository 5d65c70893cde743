"""The README's example post, through the shipped models: its top tags stay on topic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inference.runtime.suggester import DEFAULT_MODELS_DIR, SuggestRequest, Suggester

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def suggester():
    return Suggester.from_folders([DEFAULT_MODELS_DIR / "en"])


def test_the_readme_example_gets_snow_first_chicago_and_its_topic(suggester):
    text = re.search(r'"text": "([^"]+)"', README).group(1)
    result = suggester.suggest(SuggestRequest(text, k=5))
    top = [s.tag.casefold() for s in result.suggestions]
    assert top[0] == "#snow" and "#chicago" in top and "#winter" in top[:3]  # the very clear topic, third
    assert all(s.source != "prior" for s in result.suggestions)
