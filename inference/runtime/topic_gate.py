"""The judged topic gate: how likely a person writing the post would happily add one of its nearest topics.

runtime/topics.py finds the topics a post's vector is closest to. Fixed bounds (MIN_COSINE, MIN_MARGIN,
CLEAR_MARGIN) decide from the cosines alone, and every topic the same way; but #Heatwave comes to any post
with a number of degrees and #Comedy to any joke, while #Fishing is right even when the post is unsure.
inference/data/topic_gate_<lang>.json holds a logistic model over a nearest topic's NEAREST features plus a
bias of its own, fitted on the posts' three nearest topics that labellers marked usable or not
(export/topic_gate.py, its labels under export/judged/):

    x = features [F], t = the topic  ->  p = sigmoid(w . (x - mean) / scale + bias + topic_bias[t])

Beside the topic the fixed bounds take, the others of the nearest join the candidates where their p is the
language's JOIN or more (TOPICS_A_POST topics at most), and stands past the relevance floor; the fixed bounds'
topic stands past it at RAISED or more, though another topic near it cut its margin under CLEAR_MARGIN. The bounds were
read on the labels' cross-validated probabilities (export/topic_gate.py `fit`); the gate drops no topic the
fixed bounds take: its topic biases, learnt mostly where a topic was offered wrongly as second or third,
vetoed #Anime under an anime episode and #Knitting under a finished sweater. The file names its features, its topics and the
sha256 of the topics file it was fitted on; the runtime refuses one that differs from this code's features
or the topics file it would serve (a gate for another list of topics), or of another format version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.text.segment_data import PACKAGE_DATA

FORMAT_VERSION = 1
NEAREST = 3  # topics a post is offered: its three nearest
FEATURES = (
    "cos",  # the post's cosine with the topic, its cue and named bonuses added (topics.py)
    "raw",  # the same without them
    "margin",  # above the nearest topic not RELATED to it (negative when another unrelated one is closer)
    "first", "second",  # its place among the nearest
    "cue", "named", "written",  # the post writes one of its cue words; the named bonus; its description or cue words
    "lead",  # its cosine less the nearest topic's (0 for the nearest)
)
# another of the nearest topics this likely joins the candidates and stands past the relevance floor, placed right
# after the first at the latest (grounding_rules.clear_topic_placed); per language, as judged side by side (docs/results.md)
JOIN = {"en": 0.45, "zh": 0.5}
RAISED = 0.4  # the fixed bounds' topic this likely is very clear too, whatever its margin
TOPICS_A_POST = 3  # the fixed bounds' topic and the gate's, all three nearest at most


class InvalidTopicGate(ValueError):
    """topic_gate_<lang>.json is malformed, of another format version, or fitted for other features or topics."""


def gate_file(lang: str) -> Path:
    return PACKAGE_DATA / f"topic_gate_{lang}.json"


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class TopicGate:
    topics: tuple[str, ...]  # the topics file's tag words, in its order
    mean: np.ndarray  # [F]
    scale: np.ndarray  # [F]
    weights: np.ndarray  # [F]
    bias: float
    topic_bias: np.ndarray  # [T]

    def probabilities(self, rows: np.ndarray, topic_index: np.ndarray) -> np.ndarray:
        """P(usable) of each (features [N, F], topic index [N]) pair [N]."""
        z = ((np.asarray(rows, dtype=np.float64) - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-(z + self.topic_bias[np.asarray(topic_index, dtype=int)])))

    def to_json(self, topics_digest: str, trained: dict) -> dict:
        return {"format_version": FORMAT_VERSION, "features": list(FEATURES), "topics": list(self.topics),
                "topics_sha256": topics_digest, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias, "topic_bias": self.topic_bias.tolist(),
                "trained": trained}

    @classmethod
    def load(cls, path: Path, topics_path: Path, topics: list[str]) -> "TopicGate | None":
        """The gate at `path` for the topics file `topics_path` (whose tag words are `topics`), or None when
        there is no such file."""
        if not Path(path).exists():
            return None
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise InvalidTopicGate(f"format_version must be {FORMAT_VERSION}")
            if data.get("features") != list(FEATURES):
                raise InvalidTopicGate("its features are not this runtime's (topic_gate.FEATURES)")
            if data.get("topics") != list(topics) or data.get("topics_sha256") != file_digest(topics_path):
                raise InvalidTopicGate(f"fitted for another topics file than {topics_path.name} (refit: export/topic_gate.py)")
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
            if any(a.shape != (len(FEATURES),) for a in arrays) or not np.all(arrays[1] > 0):
                raise InvalidTopicGate(f"mean, scale and weights must hold {len(FEATURES)} numbers, scale > 0")
            topic_bias = np.asarray(data["topic_bias"], dtype=np.float64)
            if topic_bias.shape != (len(topics),):
                raise InvalidTopicGate(f"topic_bias must hold one number a topic ({len(topics)})")
            return cls(tuple(topics), *arrays, float(data["bias"]), topic_bias)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidTopicGate(f"{path}: {exc}") from exc
