"""One language's model folder: its candidate sources and the ranking picked for it at load time.

A folder may hold the ONNX generator (encoder.onnx + decoder.onnx), a retrieval index, a tag lexicon,
a learned reranker (rerank.json), fusion weights (fusion.json) and the grounding stage (grounding.json
+ tag_index.npz); whatever it holds is used, so a retrieval-only folder serves while the generator is
still training.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from inference.runtime.ranking import FUSION_JSON
from inference.runtime.rerank import RERANK_JSON, FeatureContext, Reranker
from inference.runtime.strategies import FusionRanking, RerankedRanking
from inference.text.tags import LANGUAGES

log = logging.getLogger(__name__)

# Used when a folder has no fusion.json (export/fusion.py writes tuned ones). Generator scores are
# log-probs: "softmax" makes the best beam 1 and the others their probability relative to it.
DEFAULT_FUSION = {"weights": {"generator": 1.0, "retrieval": 0.6}, "norms": {"generator": "softmax"}}
LEXICON_SOURCES = ("extract", "prior", "overlap")  # sources served by the tag lexicon (tags.json)
# the generator's finished beams asked for: at most this many times its beam width. More cost decoder
# steps (beam 5, n_best 25: 8 steps, not 5) and left the English dev figures as they were (docs/results.md)
GENERATOR_BEST_PER_BEAM = 2


@dataclass
class LanguageModel:
    """The pieces found in one model folder, and how its candidates are ranked."""

    lang: str
    name: str
    version: str
    folder: Path
    generator: object | None = None  # inference.runtime.generator.Generator (encoder.onnx + decoder.onnx), once open
    # opens the folder's generator on first use (`open_generator`): the service's floored requests never run it
    generator_opener: Callable[[], object] | None = field(default=None, repr=False, compare=False)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    retrieval: object | None = None  # inference.runtime.retrieval.RetrievalIndex (retrieval.npz/json)
    lexicon: object | None = None  # inference.runtime.retrieval.TagLexicon (tags.json)
    fusion: dict = field(default_factory=lambda: dict(DEFAULT_FUSION))
    reranker: Reranker | None = None  # the learned reranker (rerank.json): ranks instead of the fusion
    ranking: FusionRanking | RerankedRanking | None = None  # picked by `load`
    grounder: object | None = None  # inference.runtime.grounding.Grounder, set by the Suggester

    def open_generator(self):
        """The generator, its graphs opened on the first call (None: the folder has none weighted)."""
        if self.generator is None and self.generator_opener is not None:
            with self._opening:
                if self.generator is None:
                    self.generator = self.generator_opener()
        return self.generator

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    def weighted(self, source: str) -> bool:
        reranked = self.reranker is not None and source in self.reranker.sources
        return self.fusion.get("weights", {}).get(source, 0) > 0 or reranked

    @property
    def sources(self) -> list[str]:
        """Sources that can run here and carry weight, in a fixed order."""
        return [s for s in self._source_fns() if self.weighted(s)]

    @classmethod
    def load(cls, folder: str | Path, providers: list[str] | None = None, threads: int = 0, fusion: dict | None = None) -> "LanguageModel":
        """fusion: overrides the folder's fusion.json ({"weights": {source: w}, "norms": {...}},
        see inference.runtime.ranking.rank); the folder's rerank.json (learned reranker) is used only without one."""
        folder = Path(folder)
        config_path = folder / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
        lang = config.get("language") or config.get("lang") or (folder.name if folder.name in LANGUAGES else "en")
        model = cls(lang=lang, name=str(config.get("name") or f"tagsmith-{lang}"), version=str(config.get("version") or "0"), folder=folder)
        if fusion is not None:
            model.fusion = fusion
        elif (folder / FUSION_JSON).exists():
            model.fusion = json.loads((folder / FUSION_JSON).read_text(encoding="utf-8"))
        if fusion is None and (folder / RERANK_JSON).exists():
            model.reranker = Reranker.load(folder)
        model._open_sources(providers, threads)
        if not model.sources:
            raise ValueError(
                f"model folder {folder} has no usable source: no ONNX graphs or retrieval index, "
                f"or none of them weighted in its fusion ({model.fusion.get('weights')})"
            )
        if model.reranker is not None:
            context = FeatureContext.from_sources(model.retrieval, model.lexicon)
            model.ranking = RerankedRanking(model.reranker, context, model.fusion)
        else:
            model.ranking = FusionRanking(model.fusion)
        log.info("loaded %s (%s) from %s: %s", model.model_id, lang, folder, " + ".join(model.sources))
        return model

    def _open_sources(self, providers, threads: int) -> None:
        from inference.runtime.retrieval import INDEX_JSON, TAGS_JSON, RetrievalIndex, TagLexicon

        folder = self.folder
        # the graphs are opened only when the ranking uses them (a folder may ship them at weight 0)
        if self.weighted("generator") and (folder / "encoder.onnx").exists() and (folder / "decoder.onnx").exists():
            from inference.runtime.generator import Generator  # onnxruntime: imported only when a graph exists

            beam = self.fusion.get("generator_beam_size")  # the width the folder was tuned with
            if beam is not None and (not isinstance(beam, int) or isinstance(beam, bool) or beam < 1):
                raise ValueError(f"{folder / FUSION_JSON}: generator_beam_size must be an integer >= 1, got {beam!r}")
            # opened when a request first asks for beams: under the grounding stage's floor none does
            self.generator_opener = functools.partial(Generator, folder, providers=providers, threads=threads, beam_size=beam)
        if (folder / INDEX_JSON).exists():
            self.retrieval = RetrievalIndex.load(folder)
        # the lexicon's lookup tables take a while to build: only when one of its sources is weighted
        if (folder / TAGS_JSON).exists() and any(self.weighted(s) for s in LEXICON_SOURCES):
            self.lexicon = TagLexicon.load(folder)

    def _source_fns(self) -> dict:
        """source name -> fn(pairs of (post, thread) tokens, n) -> per pair [(words, raw score)]."""
        fns = {}
        if self.generator is not None or self.generator_opener is not None:
            def generate(pairs, n):
                generator = self.open_generator()
                return generator.generate(pairs, n_best=min(n, GENERATOR_BEST_PER_BEAM * generator.beam_size))

            fns["generator"] = generate
        if self.retrieval is not None:
            vectors = {}  # the TF-IDF vectors of a batch, made once for both retrieval sources

            def vectorized(pairs):
                made = vectors.get("pairs")  # each source is asked with a list of its own: the same pairs?
                if made is None or len(made) != len(pairs) or any(a is not b for a, b in zip(made, pairs)):
                    vectors.update(pairs=pairs, matrix=self.retrieval.vectorize(pairs))
                return vectors["matrix"]

            fns["retrieval"] = lambda pairs, n: self.retrieval.query(pairs, vectors=vectorized(pairs))
            fns["centroid"] = lambda pairs, n: self.retrieval.query_centroids(pairs, limit=n, vectors=vectorized(pairs))
        if self.lexicon is not None:
            fns["extract"] = lambda pairs, n: [self.lexicon.extract(p, c) for p, c in pairs]
            fns["prior"] = lambda pairs, n: [self.lexicon.prior(n)] * len(pairs)
            if self.retrieval is not None:
                idf = self.retrieval.idf_of
                fns["overlap"] = lambda pairs, n: [self.lexicon.overlap(p, c, idf, limit=n) for p, c in pairs]
        return fns

    def candidates(self, pairs: list[tuple[list[str], list[str]]], n: int,
                   generate: list[bool] | None = None) -> list[dict[str, list]]:
        """Per pair, {source: [(words, raw score)]} from every weighted source (one batched call each).
        generate: per pair, whether the generator runs for it (None: for every pair); a pair it skips
        has no "generator" entry, as with a folder that weighs the generator 0."""
        fns = self._source_fns()
        # the reranker may want deeper lists than k + 5 (more gold tags reach its pool); the
        # generator's beams stay at n
        limit = max(n, self.reranker.source_limit) if self.reranker is not None else n
        # every source in this thread: the grounder's look-up already holds the second core (a third
        # busy thread on two cores was slower at c=1: docs/performance.md)
        found: dict[str, dict[int, list]] = {}  # folder's order
        for name in self.sources:
            rows = [i for i, g in enumerate(generate) if g] if name == "generator" and generate is not None else range(len(pairs))
            asked = [pairs[i] for i in rows]
            found[name] = dict(zip(rows, fns[name](asked, n if name == "generator" else limit) if asked else []))
        return [{name: scored[row] for name, scored in found.items() if row in scored} for row in range(len(pairs))]
