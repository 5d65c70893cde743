"""Hashtag suggestions for a batch of requests: tokenize -> sources -> ranking -> grounding -> format.

One `LanguageModel` per model folder (one per language, inference/runtime/language_model.py), whose
ranking (fusion or learned reranker, inference/runtime/strategies.py) is picked when it loads. A folder
with grounding.json adds the grounding stage (inference/runtime/grounding.py): candidates from the post
itself, relevance in a sentence encoder's space, the safety filter and the relevance floor.
`Suggester.suggest_batch` is blocking (onnxruntime, numpy): the service calls it in a thread pool,
one micro-batch at a time.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from inference.runtime.background import AHEAD, Once, share
from inference.runtime.language_model import LanguageModel
from inference.runtime.ranking import FUNCTION_WORDS, Ranked, keep_image_share, rank, text_first
from inference.runtime.strategies import usable
from inference.text.phrases import warm_up as load_phrase_lists
from inference.text.preprocess import clip_texts, tokenize
from inference.text.chinese_script import as_simplified, in_post_script
from inference.text.tags import detect_lang, format_tag, tag_key

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path(__file__).parent.parent / "models"
IMAGE_FOLDER = "image"  # the image tagger's folder inside a models dir (inference/runtime/image_tagger.py)
SAFETY_JSON = "safety.json"  # the safety lexicon beside the model folders (inference/runtime/safety.py)
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
    floor: bool = True  # the grounding stage's relevance floor: fewer than k tags rather than filler
    photo_text: str = ""  # text read from the photo (OCR): part of what the post says
    # the preprocessed image [3,224,224] float32 (`ImageTagger.preprocess`, run before batching so a
    # bad image fails its own request only); None: no image
    image: object | None = field(default=None, compare=False, repr=False)

    @property
    def full_text(self) -> str:
        """The post's text, then the text read from its photo, its lines joined: OCR breaks a sign's
        phrase where the layout does ("GREAT NORTH" / "RUN 2026" is one title, "Great North Run 2026")."""
        if not self.photo_text.strip():
            return self.text
        # a sign's or poster's capitals are its lettering, not acronyms: "YARD SALE" reads as "Yard Sale"
        lines = [line.title() if line.isupper() else line for line in self.photo_text.splitlines()]
        return f"{self.text}\n{' '.join(' '.join(lines).split())}"


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
    below_floor: bool = False  # the relevance floor left fewer than k suggestions
    detected_lang: str | None = None  # what the text reads as (differs from `lang` when a forced lang contradicts it)


CAPTION = "caption"  # a captioned photo's text candidates once grounded (a fusion source of their own)


def existing_tags(req: SuggestRequest) -> set[str]:
    """Tags not to suggest: the request's existing hashtags and #tags written in the text.
    Tags compare ignoring spaces and case (`tag_key`), so "#AusOpen" excludes "aus open"."""
    return {t.lstrip("#").strip() for t in list(req.hashtags) + _HASHTAG_IN_TEXT.findall(req.text)} - {""}


def read_part(req: SuggestRequest) -> SuggestRequest:
    """The request as the text stages read it: post and thread cut to MAX_READ_CHARS in all
    (`clip_texts`, inference/limits.py), so a maximum-size request costs a bounded amount of work."""
    text, thread = clip_texts(req.text, req.thread)
    return req if text == req.text and thread == tuple(req.thread) else replace(req, text=text, thread=thread)


def load_safety(path: Path):
    """The safety filter of `path`, else the shipped lexicon's (inference/models/safety.json)."""
    from inference.runtime.safety import SafetyFilter

    path = path if path.exists() else DEFAULT_MODELS_DIR / SAFETY_JSON
    return SafetyFilter.load(path) if path.exists() else None


class Suggester:
    def __init__(
        self,
        models: dict[str, LanguageModel],
        blocklist: set[str] | frozenset[str] = frozenset(),
        image_tagger: object | None = None,  # inference.runtime.image.ImageTagger
        image_weight: float | None = None,  # None: the tagger's image.json "text_fusion_weight"
        image_share: float = IMAGE_SHARE,
        safety: object | None = None,  # inference.runtime.safety.SafetyFilter: every list passes it
        ocr: object | None = None,  # inference.runtime.ocr.OcrReader: the text in photos (`read_photo`)
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
        self.safety = safety
        self.ocr = ocr

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_folders(
        cls, folders: list[str | Path], providers=None, threads: int = 0, fusion: dict | None = None,
        grounding: bool = True, safety: Path | None = None, **kwargs
    ) -> "Suggester":
        """grounding: use the folders' grounding stage (grounding.json); safety: the safety lexicon
        (default: safety.json beside the folders, else the shipped one)."""
        models = {}
        for folder in folders:
            model = LanguageModel.load(folder, providers=providers, threads=threads, fusion=fusion)
            models[model.lang] = model
        kwargs.setdefault("safety", load_safety(safety or Path(folders[0]).parent / SAFETY_JSON))
        if grounding:
            from inference.runtime.grounding import attach_grounders

            attach_grounders(models, kwargs["safety"], providers, threads)
        return cls(models, **kwargs)

    @classmethod
    def from_models_dir(cls, models_dir: str | Path, **kwargs) -> "Suggester":
        """Every sub-folder with a config.json (or the folder itself when it is one model), and
        the image tagger in `image/` (a folder with image.json) when there is one, with the OCR
        reader of `ocr/` beside it (unless TAGSMITH_OCR=off or `ocr=None` is passed)."""
        models_dir = Path(models_dir)
        folders = sorted(p.parent for p in models_dir.glob("*/config.json"))
        if not folders and (models_dir / "config.json").exists():
            folders = [models_dir]
        image_folder = models_dir / IMAGE_FOLDER
        has_image = (image_folder / "image.json").exists()
        if not folders and not has_image:
            raise FileNotFoundError(f"no model folder (a folder with config.json) under {models_dir}")
        if has_image and "image_tagger" not in kwargs:
            from inference.runtime.image_tagger import ImageTagger  # onnxruntime + Pillow: only when a tagger ships

            kwargs["image_tagger"] = ImageTagger(image_folder, providers=kwargs.get("providers"), threads=kwargs.get("threads", 0))
        if has_image and "ocr" not in kwargs:
            from inference.runtime.ocr import load_ocr

            kwargs["ocr"] = load_ocr(models_dir, kwargs.get("providers"), kwargs.get("threads", 0))
        if not folders:
            own = {"blocklist", "image_tagger", "image_weight", "image_share", "safety", "ocr"}  # the image tagger alone
            kwargs.setdefault("safety", load_safety(models_dir / SAFETY_JSON))
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
        if self.ocr is not None:
            described["ocr"] = {"model": self.ocr.model_id}
        return described

    @property
    def vocabulary_fallback(self):
        """The grounder serving texts in a language without a model (vocabulary search in the
        multilingual encoder's space), or None: such texts are then refused (`serves`)."""
        model = self.models.get(self.default_lang)
        return model.grounder if model is not None else None

    def serves(self, lang: str) -> bool:
        return lang in self.models or self.vocabulary_fallback is not None

    def detected_lang(self, req: SuggestRequest) -> str | None:
        text = req.full_text if req.full_text.strip() else " ".join(req.thread)
        return detect_lang(text) if text.strip() else None

    def route(self, req: SuggestRequest) -> str:
        """The language whose model (or the vocabulary fallback) answers `req`."""
        lang = req.lang or self.detected_lang(req) or self.default_lang
        if lang in self.models or (self._has_text(req) and self.vocabulary_fallback is not None):
            return lang
        return self.default_lang

    def warm_up(self) -> None:
        """One request per model, with an inline hashtag: loads the lazily built pieces (the segmenter's counts by the inline
        hashtag, jieba's dictionary and OpenCC's tables by raw Chinese, onnxruntime's first-run allocations) before traffic."""
        samples = {"zh": "今晚看#澳网#决赛 #AusOpen", "en": "watching the final tonight #AusOpen"}
        self.suggest_batch([SuggestRequest(samples.get(lang, samples["en"]), ("ok",), lang=lang) for lang in self.models])
        load_phrase_lists(chinese="zh" in self.models)  # the word lists a sample post may not reach (collocations)
        if self.image_tagger is not None:
            self.image_tagger.warm_up()

    # -- the work ------------------------------------------------------------------------------------
    def read_photo(self, data: bytes) -> tuple[object, str]:
        """Blocking: a photo's tagger input (raises InvalidImage / ImageTooLarge) and the text read
        in it, for SuggestRequest(image=..., photo_text=...); "" without OCR, text, or a readable one."""
        pixels = self.image_tagger.preprocess(data)
        return pixels, (self.ocr.read(data).text if self.ocr is not None else "")

    def suggest(self, req: SuggestRequest) -> SuggestResult:
        return self.suggest_batch([req])[0]

    def suggest_batch(self, requests: list[SuggestRequest]) -> list[SuggestResult]:
        """Blocking. Requests are grouped by model so each model sees one batched call per source."""
        results: list[SuggestResult | None] = [None] * len(requests)
        groups: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            groups.setdefault(self.route(req) if self.models else (req.lang or self.default_lang), []).append(i)
        for lang, indices in groups.items():
            model = self.models.get(lang)
            batch = [as_simplified(requests[i]) if lang == "zh" else requests[i] for i in indices]  # jieba's script
            found = self._suggest_group(model, batch, lang)
            for i, (ranked, used, below) in zip(indices, found):
                written = in_post_script(requests[i].text, ranked, lang, requests[i].floor)  # the service's, in the post's script
                suggestions = [Suggestion(format_tag(w, lang), w, round(float(r.score), 4), r.source) for w, r in written]
                results[i] = SuggestResult(suggestions, lang, "+".join(used), below, self.detected_lang(requests[i]))
        return results  # type: ignore[return-value]

    def _image_candidates(self, requests: list[SuggestRequest], supported: dict[int, list[str]]) -> dict[int, list[tuple[str, float]]]:
        """Request index -> the image tagger's [(words, score)] for requests with an image (one batched
        ONNX run). supported: request index -> the tags its text supports (`_text_support`)."""
        rows = [i for i, r in enumerate(requests) if r.image is not None]
        if not rows or self.image_tagger is None:
            return {}
        n = max(requests[i].k + len(requests[i].hashtags) for i in rows) + 5
        # an event tag never comes from the photo alone: the caption and thread may name it, or the
        # text's own tags hold it (image_tagger's names_in); the photo then corroborates the text's
        # event tag as it does the others (else the text's event tag, unconfirmed, sinks under them)
        texts = [" ".join([requests[i].full_text, *requests[i].thread, *(f"#{w}" for w in supported.get(i, ()))]) for i in rows]
        tags = self.image_tagger.tag_arrays([requests[i].image for i in rows], n, texts=texts, floors=[requests[i].floor for i in rows])
        return dict(zip(rows, tags))

    @staticmethod
    def _text_support(candidates: dict, grounded: dict) -> dict[int, list[str]]:
        """Request index -> the tags its text supports: its grounded list (floor, support rules and the
        safety filter passed), else every candidate of its text's sources (a folder without grounding)."""
        support = {j: [words for _, scored in c.items() for words, _ in scored] for j, (c, _, _) in candidates.items()}
        return {**support, **{j: [r.words for r in g.ranked] for j, g in grounded.items()}}

    def _suggest_group(
        self, model: LanguageModel | None, batch: list[SuggestRequest], lang: str
    ) -> list[tuple[list[Ranked], list[str], bool]]:
        """Per request: its ranked tags (placeholders filled, cut to k), the model ids used, and
        whether the relevance floor left fewer than k."""
        excluded = [existing_tags(r) for r in batch]  # from the whole post; the rest reads `read_part`
        batch = [read_part(r) for r in batch]
        photo = [r.image is not None and self.image_tagger is not None for r in batch]
        blocklist = self.blocklist | FUNCTION_WORDS.get(lang, frozenset())
        # ask the sources for more than k: ranking drops existing and blocked tags
        n = max(r.k for r in batch) + max(len(e) for e in excluded) + 5
        grounder = model.grounder if model is not None else self._fallback_for(lang)
        ahead = self._look_up_ahead(grounder, batch)
        candidates = self._text_candidates(model, batch, n)
        # every request with text; a captioned photo's too where its caption will be grounded like a post
        texts = {j: model.ranking.rank(c, post, thread, n, excluded[j], blocklist)
                 for j, (c, post, thread) in candidates.items() if not photo[j] or grounder is not None}
        if model is None and grounder is not None:  # a language without a model: the vocabulary alone
            texts = {j: [] for j, r in enumerate(batch) if not photo[j] and self._has_text(r)}
        grounded = self._ground(grounder, batch, texts, excluded, blocklist, ahead)
        images = self._image_candidates(batch, self._text_support(candidates, grounded)) if any(photo) else {}
        out = []
        for j, (req, exclude) in enumerate(zip(batch, excluded)):
            raw_text = " ".join([req.full_text, *req.thread])
            used = [model.model_id] if j in candidates else []
            below = False
            if j in images:
                used.append(self.image_tagger.model_id)
                text_candidates = candidates[j][0] if j in candidates else {}
                if j in grounded:  # the caption's grounded list, one source: far neighbours' tags are gone
                    text_candidates = {CAPTION: [(r.words, r.score) for r in grounded[j].ranked]}
                ranked = self._with_image(model, req, images[j], text_candidates, exclude, blocklist, n, raw_text, lang)
                below = req.floor and len(ranked) < req.k  # the photo's floor (image_tagger) and the caption's
            elif j in grounded:  # the grounding stage applied the safety filter itself
                ranked = usable(grounded[j].ranked, raw_text, exclude)[: req.k]
                below = req.floor and len(ranked) < req.k
            else:
                ranked = usable(self._safe(texts.get(j, []), raw_text, lang), raw_text, exclude)[: req.k]
            if j in grounded and model is None:
                used.append(f"{self.models[self.default_lang].model_id}:vocabulary")
            out.append((ranked, used or [model.model_id if model is not None else self.image_tagger.model_id], below))
        return out

    @staticmethod
    def _has_text(req: SuggestRequest) -> bool:
        return bool(req.full_text.strip() or any(m.strip() for m in req.thread))

    def _text_candidates(self, model, batch: list[SuggestRequest], n: int) -> dict[int, tuple[dict, list[str], list[str]]]:
        """Request index -> (its candidates {source: [(words, raw score)]}, post tokens, thread tokens)
        for every request with text, in one batched call per source."""
        rows = [j for j, r in enumerate(batch) if model is not None and self._has_text(r)]
        if not rows:
            return {}
        pairs = [(tokenize(batch[j].full_text, model.lang), [t for m in batch[j].thread for t in tokenize(m, model.lang)]) for j in rows]
        # the generator's beams fill places: under the grounding stage's floor they almost never stand
        # (English dev F1 with --floor the same without them: docs/results.md), so a floored request
        # does not run it
        generate = [not (batch[j].floor and model.grounder is not None) for j in rows]
        return {j: (c, post, thread) for j, c, (post, thread) in zip(rows, model.candidates(pairs, n, generate), pairs)}

    def _fallback_for(self, lang: str):
        fallback = self.vocabulary_fallback
        return None if fallback is None or lang in self.models else fallback.for_language(lang)

    def _look_up_ahead(self, grounder, batch: list[SuggestRequest]) -> tuple[list[int], Future, Once, Once, dict] | None:
        """The grounder's look-up (post + thread vectors, nearest vocabulary tags, dense votes) of the
        batch's requests with text, running in the background while the model's sources run; their
        phrases are taken by whichever thread is free first, their vectors (two jobs) shared by both (`_ground`)."""
        rows = [j for j, r in enumerate(batch) if self._has_text(r)]
        if grounder is None or not rows:
            return None
        posts, threads = [batch[j].full_text for j in rows], [batch[j].thread for j in rows]
        phrases = Once(lambda: [grounder.phrases(p, t) for p, t in zip(posts, threads)])
        model = {}  # "words": the model candidates', in the jobs when `_ground` makes them
        jobs = Once(lambda: [Once(job) for job in grounder.phrase_jobs(phrases.get(), extra=model.get("words", ()))])

        def look_up():
            found = grounder.look_up(posts, threads)
            share(jobs.get())
            return found

        return rows, AHEAD.submit(look_up), phrases, jobs, model

    def _ground(self, grounder, batch, texts: dict[int, list[Ranked]], excluded, blocklist, ahead=None) -> dict:
        """Request index -> its grounded list (inference/runtime/grounding.py), when there is a grounder.
        ahead: `_look_up_ahead` of the same batch (used when it covers every grounded row)."""
        rows = sorted(texts)
        covered = ahead is not None and rows and all(j in ahead[0] for j in rows)
        phrases = ahead[2].get() if covered else None  # taken here while the look-up still runs, or its own
        if covered:  # the phrases' vectors likewise, split between the two threads; the model candidates' too
            ahead[4]["words"] = [w for j in rows for w in grounder.model_words(texts[j])]
            share(ahead[3].get())
            grounder.encode_missing((tag_key(w), w) for w in ahead[4]["words"])  # left by the other thread's jobs
        looked_up = None if ahead is None else ahead[1].result()
        if grounder is None or not texts:
            return {}
        where = {j: i for i, j in enumerate(ahead[0])} if covered else {}
        found = grounder.ground_batch(
            [texts[j] for j in rows], [batch[j].full_text for j in rows], [batch[j].thread for j in rows],
            [excluded[j] for j in rows], blocklist, [batch[j].floor for j in rows],
            looked_up.rows([where[j] for j in rows]) if covered else None,
            [phrases[where[j]] for j in rows] if covered else None,
        )
        return dict(zip(rows, found))

    def _safe(self, ranked: list[Ranked], raw_text: str, lang: str) -> list[Ranked]:
        """The tags the safety filter lets through for this text (a photo alone: no text, so no
        disaster, crime or slogan tag)."""
        if self.safety is None:
            return ranked
        return self.safety.filter(ranked, lambda r: r.words, raw_text, lang)

    def _with_image(self, model, req: SuggestRequest, image_tags, text_candidates: dict, exclude, blocklist, n, raw_text, lang) -> list[Ranked]:
        """A photo's tags, fused with its caption's candidates when it has one; the safety filter applied."""
        image_tags = [t for t in image_tags if self.safety is None or self.safety.check(t[0], raw_text, lang).allowed]
        fusion = dict(model.fusion) if model is not None else {"weights": {}, "norms": {}}
        weights = fusion.get("weights", {})
        # the grounded caption weighs what the text sources weigh together, so the photo keeps its weight
        fusion["weights"] = {**weights, CAPTION: sum(max(0.0, float(w)) for w in weights.values()) or 1.0, "image": self.image_weight}
        # the tagger's scores are its confidence: a photo unsure of its best tag ("web site" at 0.45 on a
        # screenshot) must not weigh as a sure one (max-normalised, every photo's best tag scores 1)
        fusion["norms"] = {**fusion.get("norms", {}), "image": "raw"}
        candidates = {**text_candidates, "image": image_tags}
        if not text_candidates:
            return usable(rank(candidates, fusion, n, exclude, blocklist), raw_text, exclude)[: req.k]
        # the photo re-weights the tags its text proposes; its own other tags follow them (never over a
        # text's candidate to the top of the list) and keep their share of the places
        every = text_first(rank(candidates, fusion, sum(len(c) for c in candidates.values()), exclude, blocklist), text_candidates)
        every = self._safe(every, raw_text, lang)
        return keep_image_share(usable(every, raw_text, exclude), image_tags, req.k, self.image_share, exclude, blocklist)
