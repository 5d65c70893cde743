"""Hashtag suggestions for a batch of requests: tokenize -> generator + retrieval -> rank -> format.

One `LanguageModel` per model folder (one per language). A folder may hold the ONNX generator
(encoder.onnx + decoder.onnx), a retrieval index, or both; whatever it holds is used, so a
retrieval-only folder serves while the generator is still training. `Suggester.suggest_batch` is
blocking (onnxruntime, numpy): the service calls it in a thread pool, one micro-batch at a time.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from inference.text.preprocess import fill_placeholders, tokenize
from inference.text.tags import LANGUAGES, detect_lang, format_tag, tag_key
from inference.runtime.ranking import FUNCTION_WORDS, FUSION_JSON, keep_image_share, rank
from inference.runtime.rerank import RERANK_JSON, FeatureContext, Reranker

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path(__file__).parent.parent / "models"
# Used when a folder has no fusion.json (export/fusion.py writes tuned ones). Generator scores are
# log-probs: "softmax" makes the best beam 1 and the others their probability relative to it.
DEFAULT_FUSION = {"weights": {"generator": 1.0, "retrieval": 0.6}, "norms": {"generator": "softmax"}}
IMAGE_FOLDER = "image"  # the image tagger's folder inside a models dir (inference/runtime/image.py)
DEFAULT_IMAGE_WEIGHT = 1.0  # the image source's weight beside a text model's sources
IMAGE_SHARE = 1 / 3  # of a fused list (photo + text): places kept for the photo's own best tags (`keep_image_share`)
_HASHTAG_IN_TEXT = re.compile(r"#(\w+)")


@dataclass(frozen=True)
class SuggestRequest:
    text: str
    thread: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()  # already on the post: never suggested again
    k: int = 10
    lang: str | None = None  # None: detected from the text
    # the preprocessed image [3,224,224] float32 (`ImageTagger.preprocess`, run before batching so a
    # bad image fails its own request only); None: no image
    image: object | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Suggestion:
    tag: str  # "#AusOpen"
    words: str  # "aus open"
    score: float  # in [0, 1]
    source: str  # "generator", "retrieval", ...


@dataclass
class SuggestResult:
    suggestions: list[Suggestion]
    lang: str
    model: str  # "name@version"


@dataclass
class LanguageModel:
    """The pieces found in one model folder and the fusion weights to combine them."""

    lang: str
    name: str
    version: str
    folder: Path
    generator: object | None = None  # inference.runtime.generator.Generator (encoder.onnx + decoder.onnx)
    retrieval: object | None = None  # inference.runtime.retrieval.RetrievalIndex (retrieval.npz/json)
    lexicon: object | None = None  # inference.runtime.retrieval.TagLexicon (tags.json)
    fusion: dict = field(default_factory=lambda: dict(DEFAULT_FUSION))
    reranker: object | None = None  # inference.runtime.rerank.Reranker (rerank.json): ranks instead of the fusion
    rerank_context: object | None = None  # its folder-level lookups (inference.runtime.rerank.FeatureContext)

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def sources(self) -> list[str]:
        """Sources that can run here and carry weight in the fusion, in a fixed order."""
        weights = self.fusion.get("weights", {})
        reranked = set(self.reranker.sources) if self.reranker is not None else set()
        return [s for s in self._source_fns() if weights.get(s, 0) > 0 or s in reranked]

    @classmethod
    def load(
        cls, folder: str | Path, providers: list[str] | None = None, threads: int = 0, fusion: dict | None = None
    ) -> "LanguageModel":
        """fusion: overrides the folder's fusion.json ({"weights": {source: w}, "norms": {...}},
        see inference.runtime.ranking.rank); the folder's rerank.json (learned reranker) is used only without one."""
        from inference.runtime.retrieval import INDEX_JSON, TAGS_JSON, RetrievalIndex, TagLexicon

        folder = Path(folder)
        config_path = folder / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
        lang = config.get("language") or config.get("lang") or (folder.name if folder.name in LANGUAGES else "en")
        model = cls(
            lang=lang,
            name=str(config.get("name") or f"tagsmith-{lang}"),
            version=str(config.get("version") or "0"),
            folder=folder,
        )
        if fusion is not None:
            model.fusion = fusion
        elif (folder / FUSION_JSON).exists():
            model.fusion = json.loads((folder / FUSION_JSON).read_text(encoding="utf-8"))
        if fusion is None and (folder / RERANK_JSON).exists():
            model.reranker = Reranker.load(folder)
        generator_weighted = model.fusion.get("weights", {}).get("generator", 0) > 0 or (
            model.reranker is not None and "generator" in model.reranker.sources
        )
        # the graphs are opened only when the ranking uses them (a folder may ship them at weight 0)
        if generator_weighted and (folder / "encoder.onnx").exists() and (folder / "decoder.onnx").exists():
            from inference.runtime.generator import Generator  # onnxruntime: imported only when a graph exists

            beam = model.fusion.get("generator_beam_size")  # the width the folder was tuned with
            if beam is not None and (not isinstance(beam, int) or isinstance(beam, bool) or beam < 1):
                raise ValueError(f"{folder / FUSION_JSON}: generator_beam_size must be an integer >= 1, got {beam!r}")
            model.generator = Generator(folder, providers=providers, threads=threads, beam_size=beam)
        if (folder / INDEX_JSON).exists():
            model.retrieval = RetrievalIndex.load(folder)
        lexicon_sources = ("extract", "prior", "overlap")  # its lookup tables take a while to build: only when weighted
        if (folder / TAGS_JSON).exists() and any(
            model.fusion.get("weights", {}).get(s, 0) > 0 or (model.reranker and s in model.reranker.sources)
            for s in lexicon_sources
        ):
            model.lexicon = TagLexicon.load(folder)
        if not model.sources:
            raise ValueError(
                f"model folder {folder} has no usable source: no ONNX graphs or retrieval index, "
                f"or none of them weighted in its fusion ({model.fusion.get('weights')})"
            )
        if model.reranker is not None:
            model.rerank_context = FeatureContext.from_sources(model.retrieval, model.lexicon)
        log.info("loaded %s (%s) from %s: %s", model.model_id, lang, folder, " + ".join(model.sources))
        return model

    def _source_fns(self) -> dict:
        """source name -> fn(pairs of (post, thread) tokens, n) -> per pair [(words, raw score)]."""
        fns = {}
        if self.generator is not None:
            fns["generator"] = lambda pairs, n: self.generator.generate(pairs, n_best=n)
        if self.retrieval is not None:
            vectors = {}  # the TF-IDF vectors of a batch, made once for both retrieval sources

            def vectorized(pairs):
                if vectors.get("pairs") is not pairs:
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

    def candidates(self, pairs: list[tuple[list[str], list[str]]], n: int) -> list[dict[str, list]]:
        """Per pair, {source: [(words, raw score)]} from every weighted source (one batched call each)."""
        fns = self._source_fns()
        # the reranker may want deeper lists than k + 5 (more gold tags reach its pool); the
        # generator's beams stay at n
        limit = max(n, self.reranker.source_limit) if self.reranker is not None else n
        per_source = {name: fns[name](pairs, n if name == "generator" else limit) for name in self.sources}
        return [{name: found[row] for name, found in per_source.items()} for row in range(len(pairs))]


def _blend_generator(reranked: list, candidates: dict, fusion: dict, k: int, exclude, blocklist) -> list:
    """Add the generator's beams to the reranker's list with the fusion's generator weight.

    The reranker learns from cross-fitted training posts, which the generator (trained on all of
    them) cannot provide without leaking, so its beams join afterwards: this is how hashtags never
    seen in training reach the list."""
    weight = fusion.get("weights", {}).get("generator", 0.0)
    if weight <= 0 or not candidates.get("generator"):
        return reranked[:k]
    sources = {r.words: r.source for r in reranked}
    blended = rank(
        {"rerank": [(r.words, r.score) for r in reranked], "generator": candidates["generator"]},
        {"weights": {"rerank": 1.0, "generator": weight}, "norms": {"rerank": "max", "generator": fusion.get("norms", {}).get("generator", "softmax")}},
        k, exclude, blocklist,
    )
    return [replace(r, source=sources.get(r.words, r.source)) if r.source == "rerank" else r for r in blended]


def _existing_tags(req: SuggestRequest) -> set[str]:
    """Tags not to suggest: the request's existing hashtags and #tags written in the text.
    `rank` compares tags ignoring spaces and case, so "#AusOpen" excludes "aus open"."""
    return {t.lstrip("#").strip() for t in list(req.hashtags) + _HASHTAG_IN_TEXT.findall(req.text)} - {""}


def _usable(ranked: list, raw_text: str, exclude) -> list:
    """A ranked list with the data sets' placeholders filled from the request's text, or the tags that
    cannot be filled dropped (`fill_placeholders`); a filled tag equal to one above or to an existing
    one goes too. Applied to the ranked list, not to the candidates, so the others keep their order."""
    seen = {tag_key(t) for t in exclude}
    out = []
    for r in ranked:
        words = fill_placeholders(r.words, raw_text)
        if words is None or (words != r.words and tag_key(words) in seen):
            continue
        seen.add(tag_key(words))
        out.append(r if words == r.words else replace(r, words=words))
    return out


class Suggester:
    def __init__(
        self,
        models: dict[str, LanguageModel],
        blocklist: set[str] | frozenset[str] = frozenset(),
        image_tagger: object | None = None,  # inference.runtime.image.ImageTagger
        image_weight: float | None = None,  # None: the tagger's image.json "text_fusion_weight"
        image_share: float = IMAGE_SHARE,
    ):
        if not models and image_tagger is None:
            raise ValueError("a Suggester needs at least one model")
        self.models = models
        self.blocklist = {b.lstrip("#") for b in blocklist}
        self.default_lang = "en" if "en" in models or not models else next(iter(models))
        self.image_tagger = image_tagger
        if image_weight is None and image_tagger is not None:
            image_weight = image_tagger.config.get("text_fusion_weight", DEFAULT_IMAGE_WEIGHT)
        self.image_weight = DEFAULT_IMAGE_WEIGHT if image_weight is None else float(image_weight)
        self.image_share = image_share

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_folders(
        cls, folders: list[str | Path], providers=None, threads: int = 0, fusion: dict | None = None, **kwargs
    ) -> "Suggester":
        models = {}
        for folder in folders:
            model = LanguageModel.load(folder, providers=providers, threads=threads, fusion=fusion)
            models[model.lang] = model
        return cls(models, **kwargs)

    @classmethod
    def from_models_dir(cls, models_dir: str | Path, **kwargs) -> "Suggester":
        """Every sub-folder with a config.json (or the folder itself when it is one model), and
        the image tagger in `image/` (a folder with image.json) when there is one."""
        models_dir = Path(models_dir)
        folders = sorted(p.parent for p in models_dir.glob("*/config.json"))
        if not folders and (models_dir / "config.json").exists():
            folders = [models_dir]
        image_folder = models_dir / IMAGE_FOLDER
        has_image = (image_folder / "image.json").exists()
        if not folders and not has_image:
            raise FileNotFoundError(f"no model folder (a folder with config.json) under {models_dir}")
        if has_image and "image_tagger" not in kwargs:
            from inference.runtime.image import ImageTagger  # onnxruntime + Pillow: only when a tagger ships

            kwargs["image_tagger"] = ImageTagger(image_folder, providers=kwargs.get("providers"), threads=kwargs.get("threads", 0))
        if not folders:
            own = {"blocklist", "image_tagger", "image_weight", "image_share"}
            return cls({}, **{k: v for k, v in kwargs.items() if k in own})
        return cls.from_folders(folders, **kwargs)

    @classmethod
    def from_default_models(cls, **kwargs) -> "Suggester":
        """The models shipped inside the package (inference/models/{en,zh})."""
        return cls.from_models_dir(DEFAULT_MODELS_DIR, **kwargs)

    @property
    def languages(self) -> list[str]:
        return sorted(self.models)

    @property
    def images_supported(self) -> bool:
        return self.image_tagger is not None

    def describe(self) -> dict:
        described = {lang: {"model": m.model_id, "sources": m.sources} for lang, m in sorted(self.models.items())}
        if self.image_tagger is not None:
            described["image"] = {"model": self.image_tagger.model_id, "sources": ["image"]}
        return described

    def model_for(self, req: SuggestRequest) -> LanguageModel:
        lang = req.lang or detect_lang(req.text or " ".join(req.thread))
        return self.models.get(lang) or self.models[self.default_lang]

    def warm_up(self) -> None:
        """One request per model, with an inline hashtag: loads the lazily built pieces (segmenter
        counts, jieba's dictionary, onnxruntime's first-run allocations) before traffic arrives."""
        # raw Chinese (as people write it) loads jieba; the inline hashtag loads the segmenter
        samples = {"zh": "今晚看#澳网#决赛 #AusOpen", "en": "watching the final tonight #AusOpen"}
        self.suggest_batch([SuggestRequest(samples.get(lang, samples["en"]), ("ok",), lang=lang) for lang in self.models])
        if self.image_tagger is not None:
            self.image_tagger.warm_up()

    # -- the work ------------------------------------------------------------------------------------
    def suggest(self, req: SuggestRequest) -> SuggestResult:
        return self.suggest_batch([req])[0]

    def suggest_batch(self, requests: list[SuggestRequest]) -> list[SuggestResult]:
        """Blocking. Requests are grouped by model so each model sees one batched call per source."""
        results: list[SuggestResult | None] = [None] * len(requests)
        image_tags = self._image_candidates(requests)  # one batched ONNX run for every image
        groups: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            lang = self.model_for(req).lang if self.models else (req.lang or self.default_lang)
            groups.setdefault(lang, []).append(i)
        for lang, indices in groups.items():
            model = self.models.get(lang)
            batch = [requests[i] for i in indices]
            found = self._suggest_group(model, batch, [image_tags.get(i) for i in indices], lang)
            for i, (suggestions, used) in zip(indices, found):
                results[i] = SuggestResult(suggestions, lang, "+".join(used))
        return results  # type: ignore[return-value]

    def _image_candidates(self, requests: list[SuggestRequest]) -> dict[int, list[tuple[str, float]]]:
        """Request index -> the image tagger's [(words, score)] for requests with an image."""
        rows = [i for i, r in enumerate(requests) if r.image is not None]
        if not rows or self.image_tagger is None:
            return {}
        n = max(requests[i].k + len(requests[i].hashtags) for i in rows) + 5
        tags = self.image_tagger.tag_arrays([requests[i].image for i in rows], n)
        return dict(zip(rows, tags))

    def _suggest_group(
        self, model: LanguageModel | None, batch: list[SuggestRequest], images: list, lang: str
    ) -> list[tuple[list[Suggestion], list[str]]]:
        """Per request: suggestions from the text model's sources (when it has text or a thread)
        and the image source (when it has an image), fused by `rank`; and the model ids used."""
        has_text = [model is not None and bool(r.text.strip() or any(m.strip() for m in r.thread)) for r in batch]
        text_rows = [j for j, t in enumerate(has_text) if t]
        excluded = [_existing_tags(r) for r in batch]
        blocklist = self.blocklist | FUNCTION_WORDS.get(lang, frozenset())
        # ask the sources for more than k: ranking drops existing and blocked tags
        n = max(r.k for r in batch) + max(len(e) for e in excluded) + 5
        text_candidates: dict[int, dict] = {}
        pairs: list = []
        if text_rows:
            pairs = [
                (tokenize(batch[j].text, lang), [t for message in batch[j].thread for t in tokenize(message, lang)])
                for j in text_rows
            ]
            text_candidates = dict(zip(text_rows, model.candidates(pairs, n)))
        fusion = dict(model.fusion) if model is not None else {"weights": {}, "norms": {}}
        fusion["weights"] = {**fusion.get("weights", {}), "image": self.image_weight}
        out = []
        for j, (req, exclude) in enumerate(zip(batch, excluded)):
            candidates = dict(text_candidates.get(j, {}))
            raw_text = " ".join([req.text, *req.thread])
            used = [model.model_id] if j in text_candidates else []
            if images[j] is not None:
                candidates["image"] = images[j]
                used.append(self.image_tagger.model_id)
            if model is not None and model.reranker is not None and j in text_candidates and images[j] is None:
                post, thread = pairs[text_rows.index(j)]
                ranked = model.reranker.rank(candidates, post, thread, model.rerank_context, n, exclude, blocklist)
                ranked = _blend_generator(ranked, candidates, model.fusion, n, exclude, blocklist)
                ranked = _usable(ranked, raw_text, exclude)[: req.k]
            elif images[j] is not None and j in text_candidates:
                every = rank(candidates, fusion, sum(len(c) for c in candidates.values()), exclude, blocklist)
                ranked = keep_image_share(_usable(every, raw_text, exclude), images[j], req.k, self.image_share, exclude, blocklist)
            else:
                ranked = _usable(rank(candidates, fusion, n, exclude, blocklist), raw_text, exclude)[: req.k]
            out.append(([
                Suggestion(tag=format_tag(r.words, lang), words=r.words, score=round(float(r.score), 4), source=r.source)
                for r in ranked
            ], used or [model.model_id if model is not None else self.image_tagger.model_id]))
        return out
