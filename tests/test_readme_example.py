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


def test_the_readme_example_gets_snow_and_chicago_first(suggester):
    text = re.search(r'"text": "([^"]+)"', README).group(1)
    result = suggester.suggest(SuggestRequest(text, k=5))
    top = [s.tag.casefold() for s in result.suggestions[:3]]
    assert "#snow" in top and "#chicago" in top
    assert all(s.source != "prior" for s in result.suggestions)
