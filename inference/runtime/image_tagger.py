"""The ONNX image tagger: image bytes -> [(tag words, score)], from a validated image folder.

    tagger = ImageTagger(folder); tagger.tag_batch([jpeg_bytes], k=10) -> [[("golden retriever", 0.71), ...]]

The folder is read through the contract (`inference.runtime.image_folder.load_image_folder`), the
session is created like the text models' (`inference.runtime.providers`: CUDA where it runs,
TAGSMITH_PROVIDERS honoured), the scores are `inference.runtime.image_scoring`'s. The ImageNet
classes become open-vocabulary tags through inference/data/imagenet_tags.json. Torch-free.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from inference.runtime.image_folder import load_image_folder
from inference.runtime.image_preprocess import colour_histograms, preprocess
from inference.runtime.image_scoring import (KnnBank, grounded_tags, mixed_similarities, needed_spaces, score_tags,
                                            space_inputs)
from inference.runtime.model_folder import InvalidModelFolder
from inference.runtime.providers import choose_providers, create_session
from inference.text.segment_data import PACKAGE_DATA

log = logging.getLogger(__name__)

# photos per onnxruntime call (see ImageTagger.run): on CPU one at a time costs no more per photo and
# keeps the backbone's activations to one photo's; a GPU wants batches
MAX_RUN_BATCH = {"CPUExecutionProvider": 1}
MAX_RUN_BATCH_DEFAULT = 16
IMAGENET_TAGS = PACKAGE_DATA / "imagenet_tags.json"
# the relevance floor of a photo's tags (`ImageTagger.tag_arrays` with floors): a bank tag's score before
# the per-tag rebalancing (a calibrated probability for the Corel words) or an ImageNet tag's probability
# (the summed probability of the classes it names) must make the tag more likely than not
TAG_FLOOR = 0.5


def load_imagenet_tags(path: str | Path = IMAGENET_TAGS) -> tuple[list[str], list[list[tuple[int, float]]]]:
    """(tag words, per ImageNet class [(tag index, weight)]) from the shipped mapping."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    vocab: dict[str, int] = {}
    per_class = []
    for cls in data["classes"]:
        row = []
        for words, weight in cls["tags"]:
            row.append((vocab.setdefault(words, len(vocab)), float(weight)))
        per_class.append(row)
    return list(vocab), per_class


def _squashed(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def names_in(text: str, tags: frozenset[str]) -> set[str]:
    """The tags whose words the text spells out, spaces, case and punctuation aside
    ("Boston Marathon" and "#BostonMarathon" both name "boston marathon")."""
    squashed = _squashed(text)
    return {t for t in tags if squashed and _squashed(t) and _squashed(t) in squashed}


class SeenPhoto(NamedTuple):
    """A preprocessed photo [3,S,S] and its graph outputs (each [1, ...]): `ImageTagger.see`."""

    pixels: np.ndarray
    outputs: dict[str, np.ndarray]


class ImageTagger:
    def __init__(self, folder: str | Path, providers: list[str] | None = None, threads: int = 0):
        """providers: onnxruntime's, None for the probed choice (`providers.choose_providers`);
        threads: intra-op threads (0: onnxruntime's default)."""
        self.spec = load_image_folder(folder)
        self.folder, self.config, self.tags, self.fusion = self.spec.path, self.spec.config, self.spec.tags, self.spec.fusion
        self.norm, self.resize, self.size, self.tag_scale = self.spec.norm, self.spec.resize, self.spec.size, self.spec.tag_scale
        self.threads = threads
        chosen = choose_providers(providers)
        self.use_graph(self.spec.graph_for(chosen), chosen)
        self.knn = KnnBank.load(self.spec.knn_path, len(self.tags), self.fusion)
        self._check_head()
        events = [i for i, words in enumerate(self.tags) if words in self.spec.identity_tags]
        self._event_photos = (self.knn.labels[:, events] > 0).any(axis=1)  # [N] bank photos of a named event
        imagenet_path = self.spec.imagenet_tags_path
        self.imagenet_words, self.imagenet_map = load_imagenet_tags(imagenet_path) if imagenet_path else load_imagenet_tags()
        import scipy.sparse as sp  # ~3 tags per class: a sparse [1000,W] product, no dense BLAS call

        rows, cols, vals = zip(*((cls, tag, w) for cls, row in enumerate(self.imagenet_map) for tag, w in row))
        self._imagenet_matrix = sp.csr_matrix((vals, (rows, cols)), shape=(1000, len(self.imagenet_words)), dtype=np.float32)
        self._imagenet_members = (self._imagenet_matrix > 0).astype(np.float32)  # a tag's probability: its classes' mass
        log.info("image tagger %s (%s) on %s, intra-op threads %s", self.model_id, self.graph_name,
                 ", ".join(self.session.get_providers()), threads or "default")

    def use_graph(self, path: Path, providers: list[str] | None = None) -> None:
        """Open `path` (the folder's float or int8 graph: `ImageFolder.graph_for`) as the session."""
        self.session = create_session(path, providers, self.threads)
        self.graph_name = Path(path).name
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.max_run_batch = MAX_RUN_BATCH.get(self.session.get_providers()[0], MAX_RUN_BATCH_DEFAULT)

    def _check_head(self) -> None:
        """The graph's outputs and knn.npz together give the head and the inputs the fusion uses."""
        if "tag_scores" not in self.outputs and self.knn.head_weight is None:
            raise InvalidModelFolder(f"{self.folder}: neither the graph's tag_scores nor knn.npz head_weight: no head")
        if (self.fusion.cnn_taps or self.fusion.head_taps) and "taps" not in self.outputs:
            raise InvalidModelFolder(f"{self.folder}: the fusion uses taps but the graph has no taps output")
        if "tag_scores" not in self.outputs:
            width = int(self.session.get_outputs()[self.outputs.index("features")].shape[1])
            if self.fusion.head_taps:
                width += int(self.session.get_outputs()[self.outputs.index("taps")].shape[1])
            if self.knn.head_weight.shape[0] != width:
                raise InvalidModelFolder(f"{self.folder}: head_weight has {self.knn.head_weight.shape[0]} inputs, the graph gives {width}")

    @property
    def model_id(self) -> str:
        return f"{self.config.get('name', 'tagsmith-image')}@{self.config.get('version', '0')}"

    def preprocess(self, data: bytes) -> np.ndarray:
        return preprocess(data, self.norm, self.resize, self.size, self.spec.limits)

    def run(self, arrays: list[np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        """[B,3,224,224] -> the graph's outputs by name: features [B,1280], imagenet_probs [B,1000],
        tag_scores [B,V] and/or taps [B,624]."""
        x = np.ascontiguousarray(np.stack(arrays) if isinstance(arrays, list) else arrays, dtype=np.float32)
        # the backbone's activations grow with the batch (32 photos at once: ~550 MB more RSS), so
        # a micro-batch of photos runs in chunks of `max_run_batch`
        step = self.max_run_batch
        chunks = [self.session.run(None, {"image": x[i : i + step]}) for i in range(0, max(len(x), 1), step)]
        return {name: np.concatenate([c[j] for c in chunks]) for j, name in enumerate(self.outputs)}

    def see(self, data: bytes) -> tuple[SeenPhoto, float]:
        """Image bytes -> the photo through the graph, and the seconds its decoding took (the service
        runs this in its image pool, beside OCR, before the photo's request joins a batch)."""
        start = time.perf_counter()
        pixels = self.preprocess(data)
        decoded = time.perf_counter() - start
        return SeenPhoto(pixels, self.run(pixels[None])), decoded

    def outputs_of(self, arrays: list) -> dict[str, np.ndarray]:
        """The graph's outputs for preprocessed photos: run here, or taken from photos already seen."""
        if all(isinstance(a, SeenPhoto) for a in arrays):
            return {name: np.concatenate([a.outputs[name] for a in arrays]) for name in self.outputs}
        return self.run([a.pixels if isinstance(a, SeenPhoto) else a for a in arrays])

    def head_scores(self, outputs: dict[str, np.ndarray]) -> np.ndarray:
        """[B,V] sigmoid scores of the head: in the graph, or a linear layer on the features."""
        if "tag_scores" in outputs:
            return outputs["tag_scores"]
        x = np.concatenate([outputs["features"], outputs["taps"]], axis=1) if self.fusion.head_taps else outputs["features"]
        logits = np.einsum("bf,fv->bv", x, self.knn.head_weight, optimize=False) + self.knn.head_bias  # not BLAS, as `project`
        return 1.0 / (1.0 + np.exp(-logits))

    def space_similarities(self, outputs: dict[str, np.ndarray], pixels: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per similarity space [B,N]: cosine similarities to the training photos."""
        colour = np.stack([colour_histograms(p, self.norm) for p in pixels]) if "colour" in needed_spaces(self.fusion) else None
        vectors = space_inputs(self.fusion, outputs["features"], outputs.get("taps"), colour, outputs.get("imagenet_probs"))
        return self.knn.space_similarities(vectors)

    def vocab_scores(self, outputs: dict[str, np.ndarray], pixels: np.ndarray | None = None) -> np.ndarray:
        """Scores over the trained vocabulary [B,V]: head and kNN fused (format 4: calibrated per word,
        co-occurrence smoothed), then rebalanced per tag (`score_tags`)."""
        return self.bank_scores(outputs, pixels)[0]

    def bank_scores(self, outputs: dict[str, np.ndarray], pixels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`vocab_scores` [B,V] and which of those tags the photo may take [B,V] bool (`grounded_tags`:
        a coherent tag a close enough neighbour carries, or a tag of a neighbour showing the same scene;
        all of them for a folder without grounding.coherence)."""
        calib = (self.knn.calib_weight, self.knn.calib_bias) if self.fusion.calibrated else None
        sims = self.space_similarities(outputs, pixels)
        scores = score_tags(self.head_scores(outputs), sims, self.knn.labels, self.fusion, self.tag_scale, calib, self.knn.cooc)
        coherence = self.spec.coherence
        if coherence is None:
            return scores, np.ones(scores.shape, dtype=bool)
        allowed = grounded_tags(mixed_similarities(sims, self.fusion), self.knn.labels, self.fusion.knn_k,
                                coherence.coherent, self._event_photos, coherence.near_similarity)
        return scores, allowed

    def tag_arrays(self, arrays: list[np.ndarray], k: int = 10, texts: list[str] | None = None,
                   floors: list[bool] | None = None) -> list[list[tuple[str, float]]]:
        """Preprocessed images -> per image the top-k [(tag words, score in [0,1])]. texts: per image
        its caption (and thread), which lets the event and person tags it names through
        (`ImageFolder.identity_tags`); without it the photo alone never gives them. A bank tag the photo
        is not grounded for (`bank_scores`) never comes, unless it is an event or person tag the text
        names. floors: per image whether the relevance floor applies (the service's default; `tagsmith
        predict` fills k): then a tag comes only when its own score (a bank tag's, divided by its rebalancing
        scale; an ImageNet tag's probability: the mass of its classes) reaches TAG_FLOOR, and the list is
        shorter rather than filled."""
        if not arrays:
            return []
        outputs, arrays = self.outputs_of(arrays), [a.pixels if isinstance(a, SeenPhoto) else a for a in arrays]
        probs = outputs["imagenet_probs"]
        vocab, allowed = self.bank_scores(outputs, arrays)  # [B,V]
        imagenet = np.asarray((self._imagenet_matrix.T @ probs.T).T)  # [B,W]: WordNet-weighted (specific first)
        mass = np.asarray((self._imagenet_members.T @ probs.T).T)  # [B,W]: P(the photo shows one of the tag's classes)
        out = []
        for row in range(len(arrays)):
            named = names_in(texts[row] if texts else "", self.spec.identity_tags)
            floor = TAG_FLOOR if floors and floors[row] else -np.inf
            merged: dict[str, float] = {}
            for words, score, scale, ok in zip(self.tags, vocab[row], self.tag_scale, allowed[row]):
                # an event or person tag the text names is grounded by the text (event photos vote for it);
                # the floor reads the calibrated probability, before the per-tag rebalancing that ranks rare
                # words up and frequent ones (sky, water) down
                if (ok or words in named) and score >= floor * scale and (words not in self.spec.identity_tags or words in named):
                    merged[words] = float(score)
            w = self.fusion.imagenet
            if w > 0:
                for j in np.argsort(-imagenet[row])[: 3 * k]:
                    words = self.imagenet_words[j]
                    if mass[row, j] >= floor:
                        merged[words] = max(merged.get(words, 0.0), 0.0) + w * float(imagenet[row, j])
            best = sorted(merged.items(), key=lambda kv: -kv[1])[:k]
            top = max((s for _, s in best), default=1.0) or 1.0
            out.append([(words, min(1.0, score / max(top, 1.0))) for words, score in best])
        return out

    def tag_batch(self, images: list[bytes], k: int = 10) -> list[list[tuple[str, float]]]:
        """Image bytes -> per image the top-k [(tag words, score)]; raises on the first bad image."""
        return self.tag_arrays([self.preprocess(b) for b in images], k)

    def warm_up(self) -> None:
        self.run(np.zeros((1, 3, self.size, self.size), dtype=np.float32))
