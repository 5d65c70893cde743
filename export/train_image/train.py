"""`python -m export.train_image train`: head + kNN bank + calibration on a features cache, dev eval.

Every choice (kNN k and temperature, space weights, head weight, rebalancing, calibration,
co-occurrence, per-word biases) is made on Corel train photos scored by a bank and a head that never
saw them: leave-one-out, or held-out folds (a fine-tuned cache's cv_* arrays, or --holdout). The
head is then refitted on all of train, every fusion scored on dev exactly as served, and the last
one (format 4) written: --out/knn.npz and train_meta.json.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from export.image_data import ImageItem
from export.train_image.common import (Split, TrainConfig, cache_backbone, corel_folds, corel_protocol, gold_sets,
                                       label_matrix, load_cache, split_rows, tag_scale_for)
from export.train_image.finetune import FinetuneConfig
from export.train_image.fit import (ChunkedProtocol, fit_bank, fit_calibration, head_arrays, served_head_scores,
                                    train_head, tune_biases)
from inference.runtime.image import (ImageFusion, KnnBank, calibrate, calibration_inputs, cooc_matrix, fuse_vocab,
                                     knn_vote, needed_spaces, score_tags, space_inputs)

log = logging.getLogger("export.train_image")
CALIBRATED, CALIBRATED_COOC = "calibrated+rebalance", "calibrated+cooc+rebalance"


@dataclass
class Photos:
    """The cache `train` fits on, its split and labels."""
    items: list[ImageItem]
    cache: dict[str, np.ndarray]
    split: Split
    y_all: np.ndarray  # [N,V] 0/1, every photo of the cache
    y_train: np.ndarray  # [T,V] the rows of split.train_idx
    cfg: TrainConfig

    @property
    def mirrored(self) -> bool:
        """With `features --mirror` the mirrored photos join the head's training rows (augmentation
        only; serving sees the photo as sent)."""
        return "taps_flip" in self.cache and self.cfg.head_mirror

    def head_inputs(self, prefix: str = "") -> tuple[np.ndarray, np.ndarray | None]:
        """The head's input, features ++ taps (35.8 vs 26.6 leave-one-out F1 for the features alone),
        of every photo [N,1904] and of its mirror (None without mirrors)."""
        c = self.cache
        x = np.concatenate([c[prefix + "features"], c[prefix + "taps"]], axis=1).astype(np.float32)
        flip = np.concatenate([c[prefix + "features_flip"], c[prefix + "taps_flip"]], axis=1).astype(np.float32) \
            if self.mirrored else None
        return x, flip

    def fit_head(self, rows: np.ndarray, x_all: np.ndarray, x_flip: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The head trained on `rows` of the cache -> (weight [F,V], bias [V]) as served."""
        x, y = x_all[rows], self.y_all[rows]
        if self.mirrored:
            x, y = np.concatenate([x, x_flip[rows]]), np.concatenate([y, y])
        return head_arrays(train_head(x, y, self.cfg))


def load_photos(out: Path, corel_dir: str, cfg: TrainConfig) -> Photos:
    items, cache = load_cache(out)
    split = split_rows(items, cfg, corel_dir)
    y_all = label_matrix(items, split.vocab)
    n_loo = sum(items[i].id.startswith("corel-") for i in split.train_idx)
    log.info("vocab %d (%d Corel words); train %d (%d Corel: leave-one-out), dev %d Corel + %d MediaEval",
             len(split.vocab), split.n_corel, len(split.train_idx), n_loo, len(split.dev_corel), len(split.dev_media))
    return Photos(items, cache, split, y_all, y_all[split.train_idx], cfg)


@dataclass
class Banks:
    """The served representation of every photo in each kNN space, and the spaces fitted on some rows."""
    vectors: dict[str, np.ndarray]  # per space [N,F]
    features: np.ndarray  # [N,1280] the pooled features alone: the format-1 cnn space, no power
    bank: KnnBank  # cnn (features ++ taps), colour, imagenet
    plain: KnnBank  # cnn: the pooled features alone

    def sims(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Per space (and "plain") [len(rows), bank photos]: the similarities of `rows` to the bank."""
        sims = self.bank.space_similarities({s: self.vectors[s][rows] for s in self.bank.spaces})
        sims["plain"] = self.plain.space_similarities({"cnn": self.features[rows]})["cnn"]
        return sims


def fit_banks(cache: dict[str, np.ndarray], prefix: str, rows: np.ndarray, y: np.ndarray, cfg: TrainConfig) -> Banks:
    """The spaces of the cache's `prefix` features (a fine-tuned copy's cv_*: one that never saw the
    held-out fold) fitted on `rows` (labels y)."""
    features = cache[prefix + "features"].astype(np.float32)
    full = ImageFusion(cnn_taps=True, cnn_power=cfg.cnn_power, colour_sim=1.0, imagenet_sim=1.0)
    vectors = space_inputs(full, features, cache[prefix + "taps"].astype(np.float32), cache["colour"].astype(np.float32),
                           cache["imagenet_probs"].astype(np.float32))
    bank = fit_bank({s: v[rows] for s, v in vectors.items()}, y, cfg)
    plain = fit_bank({"cnn": features[rows]}, y, TrainConfig(pca_dim=192))
    return Banks(vectors, features, bank, plain)


@dataclass
class HeldOut:
    """Corel train photos scored by a bank and a head that never saw them: what every choice is made on."""
    rows: np.ndarray  # [L] rows of split.train_idx
    sims: dict[str, np.ndarray]  # per space and "plain" [L,T]; the photo itself (its fold) -1e4
    head: np.ndarray  # [L,V] the head's scores
    protocol: ChunkedProtocol
    chosen_on: str

    @property
    def halves(self) -> tuple[list[int], list[int]]:
        """The protocol's chunks in two halves: one half fits, the other scores (both ways)."""
        n = len(self.protocol.chunks)
        return list(range(n // 2)), list(range(n // 2, n))


def leave_one_out(photos: Photos, banks: Banks) -> HeldOut:
    """Each Corel train photo against all the others; the head cross-fitted."""
    train_idx, y_train, cfg = photos.split.train_idx, photos.y_train, photos.cfg
    loo = np.flatnonzero([photos.items[i].id.startswith("corel-") for i in train_idx])  # rows of train_idx
    sims = banks.sims(train_idx[loo])  # [L,T] per space
    for s in sims.values():
        s[np.arange(len(loo)), loo] = -1e4  # leave the photo itself out
    head_x, head_x_flip = photos.head_inputs()
    folds = np.arange(len(train_idx)) % cfg.head_folds
    head_oof = np.zeros_like(y_train)
    for f in range(cfg.head_folds):
        weight, bias = photos.fit_head(train_idx[folds != f], head_x, head_x_flip)
        head_oof[folds == f] = served_head_scores(weight, bias, head_x[train_idx][folds == f])
    protocol = ChunkedProtocol(y_train[loo][:, :photos.split.n_corel], cfg.loo_chunks, cfg.seed)
    return HeldOut(loo, sims, head_oof[loo], protocol, "leave-one-out train")


def held_out_folds(photos: Photos) -> HeldOut:
    """Each held-out fold of the Corel train photos: queries against a bank of the other train photos,
    in the space of a model (fine-tuned tail: the cache's cv_* arrays; frozen: its own) that never saw them."""
    cache, items, train_idx, y_train = photos.cache, photos.items, photos.split.train_idx, photos.y_train
    fold_of = cache["cv_fold"] if "cv_fold" in cache else corel_folds(items, {items[i].id for i in train_idx}, FinetuneConfig().folds)
    fold_tr = fold_of[train_idx]
    held_folds = [0] + [f for f in range(1, 8) if f"cv{f}_features" in cache] if "cv_features" in cache \
        else sorted(set(fold_tr[fold_tr >= 0].tolist()))  # frozen features: every fold
    loo_parts, sims_parts, head_parts = [], [], []
    for f in held_folds:
        queries, bank_rows = np.flatnonzero(fold_tr == f), np.flatnonzero(fold_tr != f)  # rows of train_idx
        prefix = ("cv_" if f == 0 else f"cv{f}_") if "cv_features" in cache else ""
        banks = fit_banks(cache, prefix, train_idx[bank_rows], y_train[bank_rows], photos.cfg)
        part = {}
        for space, sims in banks.sims(train_idx[queries]).items():
            wide = np.full((len(queries), len(train_idx)), -1e4, dtype=np.float32)  # fold f: never a neighbour
            wide[:, bank_rows] = sims
            part[space] = wide
        cv_x, cv_x_flip = photos.head_inputs(prefix)
        weight, bias = photos.fit_head(train_idx[bank_rows], cv_x, cv_x_flip)
        loo_parts.append(queries), sims_parts.append(part), head_parts.append(served_head_scores(weight, bias, cv_x[train_idx[queries]]))
    loo = np.concatenate(loo_parts)
    protocol = ChunkedProtocol(y_train[loo][:, :photos.split.n_corel], max(2, round(len(loo) / 500)), photos.cfg.seed)
    return HeldOut(loo, {k: np.concatenate([p[k] for p in sims_parts]) for k in sims_parts[0]}, np.concatenate(head_parts),
                   protocol, f"held-out folds {held_folds} of train")


# -- choosing the fusion -------------------------------------------------------------------------------
def choice_key(m: dict) -> float:
    """What the choices maximise: F1, ties broken towards more words recalled at least once."""
    return m["F1"] + 0.02 * m["N+"]


def weighted_sims(sims: dict[str, np.ndarray], fusion: ImageFusion) -> np.ndarray:
    return sims["cnn"] + fusion.colour_sim * sims["colour"] + fusion.imagenet_sim * sims["imagenet"]


def fused_scores(sims: np.ndarray, fusion: ImageFusion, scale: np.ndarray, head: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """Uncalibrated fusion: the head and the kNN votes over the train labels, rebalanced by `scale`."""
    knn = knn_vote(sims, y_train, fusion.knn_k, fusion.knn_temperature)
    return fuse_vocab(head, knn, fusion, scale)


def corel_scale(y_train: np.ndarray, n_corel: int, alpha: float) -> np.ndarray:
    """Calibrated fusions' rebalancing: the Corel words against their own median (the clip at
    [0.25, 4] then falls elsewhere than with the hashtags' median), the hashtags at 1."""
    scale = np.ones(y_train.shape[1], np.float32)
    scale[:n_corel] = tag_scale_for(y_train[:, :n_corel], alpha)
    return scale


def grid(held: HeldOut, y_train: np.ndarray, n_corel: int, cfg: TrainConfig, space_options, heads, alphas,
         plain: bool = False) -> tuple[ImageFusion, dict]:
    """The best uncalibrated fusion over k, temperature, space weights, head weight and rebalancing."""
    best = None
    for colour_sim, imagenet_sim in space_options:
        sims = held.sims["plain"] if plain else \
            held.sims["cnn"] + colour_sim * held.sims["colour"] + imagenet_sim * held.sims["imagenet"]
        for knn_k in (10, 20, 40):
            for temp in (0.03, 0.05, 0.08):
                knn = knn_vote(sims, y_train, knn_k, temp)
                for w_head in heads:
                    for alpha in alphas:
                        f = ImageFusion(head=w_head, knn=1.0, knn_k=knn_k, knn_temperature=temp, alpha=alpha, head_taps=True,
                                        colour_sim=colour_sim, imagenet_sim=imagenet_sim,
                                        cnn_taps=not plain, cnn_power=1.0 if plain else cfg.cnn_power)
                        m = held.protocol(fuse_vocab(held.head, knn, f, tag_scale_for(y_train, alpha))[:, :n_corel])
                        if best is None or choice_key(m) > best[0]:
                            best = (choice_key(m), f, m)
    return best[1], best[2]


def choose_fusions(photos: Photos, held: HeldOut, t0: float) -> tuple[dict[str, ImageFusion], dict[str, dict]]:
    """The kNN variants, then head + kNN + rebalancing in the best spaces -> (fusions, their held-out rows)."""
    y_train, n_corel, cfg = photos.y_train, photos.split.n_corel, photos.cfg
    rows_loo, fusions = {}, {}
    variants = {
        "knn (centre crop features, old)": dict(space_options=[(0.0, 0.0)], heads=[0.0], alphas=[0.0], plain=True),
        "knn (features ++ taps)": dict(space_options=[(0.0, 0.0)], heads=[0.0], alphas=[0.0]),
        "knn (+ colour + imagenet sims)": dict(space_options=[(c, i) for c in (0.0, 0.1, 0.2, 0.3) for i in (0.0, 0.1, 0.2)],
                                               heads=[0.0], alphas=[0.0]),
    }
    for name, v in variants.items():
        fusions[name], rows_loo[name] = grid(held, y_train, n_corel, cfg, **v)
        log.info("loo %-34s %s %s (%.0f s)", name, rows_loo[name], fusions[name], time.time() - t0)
    best_spaces = (fusions["knn (+ colour + imagenet sims)"].colour_sim, fusions["knn (+ colour + imagenet sims)"].imagenet_sim)
    name = "head+knn+rebalance"
    fusions[name], rows_loo[name] = grid(held, y_train, n_corel, cfg, [best_spaces], (0.0, 0.25, 0.5, 1.0, 2.0),
                                         (0.0, 0.5, 0.75, 1.0, 1.25, 1.5))
    log.info("loo %-34s %s %s", name, rows_loo[name], fusions[name])
    return fusions, rows_loo


def calibrate_fusion(photos: Photos, held: HeldOut, fusions: dict, rows_loo: dict, calibs: dict) -> np.ndarray | None:
    """TagProp-style per-word sigmoid + label co-occurrence on held-out halves of the chunks: the sigmoid
    fitted on one half's held-out scores scores the other (both ways). Adds the calibrated fusions
    (their fits into `calibs`); returns the best one's held-out scores [L,W] if it beats
    head+knn+rebalance, else None."""
    y_train, n_corel, cfg = photos.y_train, photos.split.n_corel, photos.cfg
    fusion = fusions["head+knn+rebalance"]
    half_rows = [np.concatenate([held.protocol.chunks[c] for c in h]) for h in held.halves]
    y_cal = y_train[held.rows][:, :n_corel]
    cooc = cooc_matrix(y_train[:, :n_corel])  # as served: from the bank's tag lists
    calib_fusion = ImageFusion(**{**asdict(fusion), "calibrated": True})
    x_cal = calibration_inputs(held.head, {s: held.sims[s] for s in ("cnn", "colour", "imagenet")}, y_train,
                               calib_fusion, n_corel)  # [L,W,4]
    best = None
    for lam in cfg.calib_lams:
        held_p = np.zeros_like(y_cal)
        for fit_rows, score_rows in (half_rows, half_rows[::-1]):
            held_p[score_rows] = calibrate(x_cal[score_rows], *fit_calibration(x_cal[fit_rows], y_cal[fit_rows], lam, cfg.calib_steps))
        for beta in cfg.cooc_betas:
            smoothed = held_p + beta * held_p @ cooc
            for alpha in (0.5, 0.75, 1.0, 1.25, 1.5):
                m = held.protocol(smoothed * corel_scale(y_train, n_corel, alpha)[:n_corel])
                log.info("calibrated lam %g, cooc %g, alpha %g: held-out halves %s", lam, beta, alpha, m)
                if best is None or choice_key(m) > choice_key(best[0]):
                    best = (m, lam, beta, alpha, smoothed)
                if beta == 0 and (CALIBRATED not in rows_loo or choice_key(m) > choice_key(rows_loo[CALIBRATED])):
                    rows_loo[CALIBRATED] = m
                    fusions[CALIBRATED] = ImageFusion(**{**asdict(calib_fusion), "alpha": alpha, "cooc": 0.0})
                    calibs[CALIBRATED] = lam
    m, lam, beta, alpha, smoothed = best
    rows_loo[CALIBRATED_COOC], calibs[CALIBRATED_COOC] = m, lam
    fusions[CALIBRATED_COOC] = ImageFusion(**{**asdict(fusion), "calibrated": True, "alpha": alpha, "cooc": beta})
    for name in (CALIBRATED, CALIBRATED_COOC):  # refit on all the held-out photos
        calibs[name] = fit_calibration(x_cal, y_cal, calibs[name], cfg.calib_steps)
        log.info("loo %-34s %s (held-out halves) %s", name, rows_loo[name], fusions[name])
    keep = choice_key(m) > choice_key(rows_loo["head+knn+rebalance"])
    log.info("calibrated: %s (held-out halves F1 %.2f vs %.2f uncalibrated)", keep, m["F1"], rows_loo["head+knn+rebalance"]["F1"])
    return smoothed if keep else None


def fit_word_biases(photos: Photos, held: HeldOut, calibrated: np.ndarray | None, fusions: dict, rows_loo: dict,
                    calibs: dict) -> tuple[str, np.ndarray, dict]:
    """Per-word biases on the held-out scores of the best fusion (calibrated: the held-out halves'
    scores), as many rounds as the halves say. Adds the shipped fusion; returns (its name, the served
    tag_scale [V], held-out half F1 per number of rounds)."""
    y_train, n_corel, cfg, protocol = photos.y_train, photos.split.n_corel, photos.cfg, held.protocol
    name = CALIBRATED_COOC if calibrated is not None else "head+knn+rebalance"
    fusion = fusions[name]
    if calibrated is None:
        rebalance = tag_scale_for(y_train, fusion.alpha)
        fused = fused_scores(weighted_sims(held.sims, fusion), fusion, rebalance, held.head, y_train)[:, :n_corel]
    else:
        rebalance = corel_scale(y_train, n_corel, fusion.alpha)
        fused = calibrated * rebalance[:n_corel]
    # how many rounds: fitted on half of the chunks, scored on the other half (both ways)
    base = np.log(fused + 1e-6)
    rounds_f1 = np.zeros(cfg.bias_rounds + 1)
    for fit_on, score_on in (held.halves, held.halves[::-1]):
        rounds_f1[0] += protocol.subset(score_on)(base)["F1"] / 2
        for r, b in enumerate(tune_biases(base, protocol.subset(fit_on), cfg), start=1):
            rounds_f1[r] += protocol.subset(score_on)(base + b)["F1"] / 2
    rounds = int(rounds_f1.argmax())
    rounds_f1 = {r: round(float(f), 2) for r, f in enumerate(rounds_f1)}
    log.info("per-word bias rounds -> held-out half F1 %s: %d rounds", rounds_f1, rounds)
    bias = np.zeros(n_corel, np.float32)
    for r, b in enumerate(tune_biases(base, protocol, cfg) if rounds else (), start=1):
        bias = b
        if r == rounds:
            break
    # rebalancing and biases serve the Corel protocol's per-word averages: only the Corel words get
    # them; the MediaEval hashtags (scored per post in the fusion) keep scale 1
    tag_scale = np.ones_like(rebalance)
    tag_scale[:n_corel] = rebalance[:n_corel] * np.exp(bias)
    name_b = name + "+per-word bias"
    rows_loo[name_b] = protocol(base + bias)
    fusions[name_b] = ImageFusion(**{**asdict(fusion), "per_word_bias": True})
    if calibrated is not None:
        calibs[name_b] = calibs[name]
    return name_b, tag_scale, rounds_f1


def dev_results(photos: Photos, banks: Banks, weight: np.ndarray, head_bias: np.ndarray, fusions: dict, calibs: dict,
                tag_scale: np.ndarray) -> dict[str, dict]:
    """Every fusion on the Corel dev photos, scored exactly as served, with the head fitted on all of train."""
    items, y_train, n_corel = photos.items, photos.y_train, photos.split.n_corel
    dev_c = np.array([i for i in range(len(items)) if items[i].id in photos.split.dev_corel])
    gold_dev = gold_sets(photos.y_all[dev_c][:, :n_corel])
    head_dev = served_head_scores(weight, head_bias, photos.head_inputs()[0][dev_c])
    dev_sims = banks.sims(dev_c)
    dev_cooc = cooc_matrix(y_train[:, :n_corel])
    results = {}
    for name, f in fusions.items():
        scale = tag_scale if f.per_word_bias else corel_scale(y_train, n_corel, f.alpha) if f.calibrated else \
            tag_scale_for(y_train, f.alpha) if f.alpha else np.ones(len(photos.split.vocab), dtype=np.float32)
        if f.calibrated:  # exactly as served (inference.runtime.image.score_tags)
            s = score_tags(head_dev, dev_sims, y_train, f, scale, calibs[name], dev_cooc)
        else:
            s = fused_scores(weighted_sims(dev_sims, f) if f.cnn_taps else dev_sims["plain"], f, scale, head_dev, y_train)
        results[name] = corel_protocol(gold_dev, s[:, :n_corel], n_corel)
        log.info("dev %-34s %s", name, results[name])
    return results


def write_tagger(out: Path, photos: Photos, bank: KnnBank, weight: np.ndarray, head_bias: np.ndarray, shipped: ImageFusion,
                 calib: tuple[np.ndarray, np.ndarray] | None, tag_scale: np.ndarray, meta: dict) -> None:
    """knn.npz (the bank's labels as CSR, the head, the calibration, the spaces the shipped fusion
    needs) and train_meta.json (what serving reads, then `meta`: how it was chosen)."""
    y_train, cache = photos.y_train, photos.cache
    indptr = np.concatenate([[0], np.cumsum(y_train.sum(axis=1).astype(np.int64))])
    indices = np.concatenate([np.flatnonzero(r) for r in y_train]).astype(np.int32)
    arrays = {"indptr": indptr, "indices": indices, "head_weight": weight.astype(np.float16), "head_bias": head_bias}
    if shipped.calibrated:
        arrays["calib_weight"], arrays["calib_bias"] = calib
    for space, (mean, proj, b) in bank.spaces.items():
        if space in needed_spaces(shipped):
            arrays.update({f"{space}_mean": mean, f"{space}_proj": proj.astype(np.float16), f"{space}_bank": b.astype(np.float16)})
    np.savez(out / "knn.npz", **arrays)
    split = photos.split
    (out / "train_meta.json").write_text(json.dumps({
        "vocab": split.vocab, "n_corel_words": split.n_corel, "fusion": asdict(shipped), "tag_scale": tag_scale.round(4).tolist(),
        "resize": str(cache["resize"]) if "resize" in cache else "crop", "head_mirrored": bool(photos.mirrored),
        "size": int(cache["size"]) if "size" in cache else 224, "backbone": asdict(cache_backbone(cache)),
        **meta, "config": asdict(photos.cfg),
        "dev_ids": sorted(split.dev_ids),
        "split": {"train": len(split.train_idx), "dev_corel": len(split.dev_corel), "dev_mediaeval": len(split.dev_media)},
    }, indent=1))


def cmd_train(args) -> None:
    torch.set_num_threads(1)  # tiny matrices: more threads only spin on a shared machine
    cfg = TrainConfig()
    out = Path(args.out)
    photos = load_photos(out, args.corel, cfg)
    n_corel = photos.split.n_corel
    t0 = time.time()

    # 1. the served representation of every photo, the spaces fitted on train
    banks = fit_banks(photos.cache, "", photos.split.train_idx, photos.y_train, cfg)
    # 2. scores of the Corel train photos by a bank and a head that never saw them
    held = held_out_folds(photos) if args.holdout or "cv_fold" in photos.cache else leave_one_out(photos, banks)
    log.info("%s sims and head in %.1f s; head alone %s", held.chosen_on, time.time() - t0, held.protocol(held.head[:, :n_corel]))
    # 3. grid on them: k, temperature, similarity weights, head weight, rebalancing
    fusions, rows_loo = choose_fusions(photos, held, t0)
    # 4. calibration (TagProp-style per-word sigmoid) + label co-occurrence, on held-out halves
    calibs: dict = {}
    calibrated = calibrate_fusion(photos, held, fusions, rows_loo, calibs) if cfg.calibrate else None
    # 5. per-word biases on the best fusion's scores
    shipped, tag_scale, bias_rounds = fit_word_biases(photos, held, calibrated, fusions, rows_loo, calibs)
    log.info("loo per-word bias (fitted there: optimistic) %s (%.0f s)", rows_loo[shipped], time.time() - t0)
    # 6. refit the head on all of train; dev, scored exactly as served
    weight, head_bias = photos.fit_head(photos.split.train_idx, *photos.head_inputs())
    results = dev_results(photos, banks, weight, head_bias, fusions, calibs, tag_scale)

    write_tagger(out, photos, banks.bank, weight, head_bias, fusions[shipped], calibs.get(shipped), tag_scale, {
        "dev": results, "leave_one_out": rows_loo, "chosen_on": held.chosen_on,
        "shipped": shipped, "fusions": {k: asdict(v) for k, v in fusions.items()}, "bias_rounds_held_out": bias_rounds})
    log.info("wrote %s (%.0f s)", out, time.time() - t0)
