"""`python -m export.train_image fusion-eval`: text only vs image only vs fused suggestions on the
MediaEval dev posts (posts whose image is in the dev split)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from export.image_data import mediaeval_posts
from inference.text.tags import tag_key

log = logging.getLogger("export.train_image")


def captioned(suggester_class):
    """--captions: the suggester itself now gives the image tagger each photo's caption, thread and the
    tags its text supports (`Suggester._image_candidates`), so the flag changes nothing."""
    return suggester_class


def top1_changes(dev: list[dict], gold: list[list[str]], text: list[list[str]], fused: list[list[str]], show: int = 3) -> dict:
    """Posts whose top-1 fusion made right (text only's was wrong) and made wrong; logs a few of the latter."""
    def right(tags, gold_tags):
        return bool(tags) and tag_key(tags[0]) in {tag_key(g) for g in gold_tags}
    won = [i for i in range(len(dev)) if right(fused[i], gold[i]) and not right(text[i], gold[i])]
    lost = [i for i in range(len(dev)) if right(text[i], gold[i]) and not right(fused[i], gold[i])]
    log.info("  top-1 right where text only's was wrong: %d posts; wrong where it was right: %d", len(won), len(lost))
    for i in lost[:show]:
        log.info("  lost: %r gold %s | text %s | fused %s", dev[i]["post"][:80], gold[i], text[i][:3], fused[i][:3])
    return {"won": len(won), "lost": len(lost)}


def cmd_fusion_eval(args) -> None:
    """Text-only vs image-only vs fused suggestions on the MediaEval dev posts (their images unseen
    in training): a retrieval text model built from the train posts, the shipped image tagger."""
    from inference.runtime.image import ImageTagger
    from inference.evaluation.metrics import evaluate
    from inference.text.preprocess import tokenize
    from inference.runtime.retrieval import RetrievalIndex, TagLexicon
    from inference.runtime.suggester import IMAGE_SHARE, LanguageModel, SuggestRequest, Suggester

    out = Path(args.out)
    meta = json.loads((out / "train_meta.json").read_text())
    items = {d["id"]: d for d in json.loads((out / "items.json").read_text())}
    dev_images = {items[i]["path"] for i in meta["dev_ids"] if i.startswith("mediaeval-") and i in items}
    posts = mediaeval_posts(args.mediaeval)
    train = [p for p in posts if p["image"] not in dev_images and p["hashtags"]]
    dev = [p for p in posts if p["image"] in dev_images and p["hashtags"]]
    text_folder = out / "text-mediaeval"
    text_folder.mkdir(parents=True, exist_ok=True)
    RetrievalIndex.build(train, lambda text: tokenize(text, "en")).save(text_folder)
    TagLexicon.from_tag_lists(p["hashtags"] for p in train).save(text_folder)
    (text_folder / "config.json").write_text(json.dumps({"name": "mediaeval-train-retrieval", "version": "dev", "language": "en"}))
    (text_folder / "fusion.json").write_text(json.dumps({"weights": {"retrieval": 1.0, "extract": 0.5}, "norms": {}}))
    tagger = ImageTagger(args.model)
    pixels = {path: tagger.preprocess(Path(path).read_bytes()) for path in sorted({p["image"] for p in dev})}
    gold = [p["hashtags"] for p in dev]
    log.info("MediaEval fusion dev: %d posts, %d images (train: %d posts)", len(dev), len(pixels), len(train))
    rows, lists = {}, {}
    k = args.k
    if args.captions:
        Suggester = captioned(Suggester)  # noqa: N806 (a class)
    for weight, share in [(w, IMAGE_SHARE) for w in args.image_weights] + [(0.5, 0.0)]:
        suggester = Suggester({"en": LanguageModel.load(text_folder)}, image_tagger=tagger, image_weight=weight, image_share=share)
        fused = f"fused (image weight {weight})" + ("" if share else ", no places kept for the photo")
        variants = {"text only": lambda p: SuggestRequest(p["post"], k=k, lang="en"),
                    "image only": lambda p: SuggestRequest("", k=k, lang="en", image=pixels[p["image"]]),
                    fused: lambda p: SuggestRequest(p["post"], k=k, lang="en", image=pixels[p["image"]])}
        for name, make in variants.items():
            if name in rows:
                continue
            results = []
            for i in range(0, len(dev), 64):
                results += suggester.suggest_batch([make(p) for p in dev[i:i + 64]])
            lists[name] = [[s.words for s in r.suggestions] for r in results]
            m = evaluate(gold, lists[name], "en")
            rows[name] = {key: round(m[key], 2) for key in ("P@1", "F1@1", "P@5", "R@5", "F1@5", "MAP@5")}
            log.info("%-28s %s", name, rows[name])
            if name.startswith("fused"):
                rows[name]["top1 vs text only"] = top1_changes(dev, gold, lists["text only"], lists[name])
    (out / f"fusion_eval_k{k}{'_captions' if args.captions else ''}.json").write_text(json.dumps({"posts": len(dev), "images": len(pixels), "k": k, "rows": rows}, indent=1))
