"""Image tag scoring: the fusion's settings, kNN label transfer, per-word calibration, the training photos' bank.

Torch-free numpy, shared with training (export/train_image.py scores its held-out photos with
`score_tags`). knn.npz (written by export/train_image.py) holds, per similarity space (cnn: pooled
features [+ taps]; colour: HSV histograms; imagenet: class probabilities), a mean, a projection and
the L2-normalised projected vectors of the training photos; their tags (CSR); head_weight/head_bias
when the head is not in the graph. kNN label transfer on the weighted sum of the spaces' cosine
similarities is fused with the head's scores. Format 4: calib_weight [W,4] and calib_bias [W], a
per-word sigmoid over kNN votes and the head's logit for the first W tags (`score_tags`), smoothed by
their label co-occurrence in the bank (fusion.cooc).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.runtime.model_folder import InvalidModelFolder


@dataclass
class ImageFusion:
    head: float = 1.0  # trained head (sigmoid, calibrated per tag)
    knn: float = 1.0  # kNN label transfer from the training photos
    imagenet: float = 0.5  # ImageNet classes -> WordNet tags (open vocabulary)
    knn_k: int = 10
    knn_temperature: float = 0.05
    alpha: float = 0.0  # rebalancing strength behind tag_scale (recorded; the scale ships in image.json)
    # kNN similarity = cnn cosine + colour_sim * colour cosine + imagenet_sim * ImageNet cosine
    cnn_taps: bool = False  # cnn space: L2(features) ++ L2(taps) instead of the features alone
    cnn_power: float = 1.0  # signed power on the cnn vector before centring (0.5: "power normalisation")
    colour_sim: float = 0.0
    imagenet_sim: float = 0.0
    per_word_bias: bool = False  # recorded: tag_scale also holds biases tuned on leave-one-out train
    head_taps: bool = False  # head not in the graph: its input is features ++ taps [B,1904], not features
    # format 4, on the first calib_weight.shape[0] tags (the Corel words): TagProp-style per-word sigmoid
    # sigmoid(calib_weight[w] . CALIB_INPUTS[w] + calib_bias[w]) replaces the head + kNN mean
    calibrated: bool = False
    colour_knn_temperature: float = 0.03  # the colour-only votes, a calibration input (k = knn_k)
    cooc: float = 0.0  # then s + cooc * s @ C: label co-occurrence of those words (`cooc_matrix`)
    # grounding: a neighbour votes only when its weighted similarity is at least this, and the trained
    # vocabulary's scores are scaled by the share of the k neighbours' vote weight that is that close
    # (`knn_support`), so a photo unlike the bank leaves its places to the ImageNet tags; chosen on
    # held-out train folds (`python -m export.train_image grounding`); None: every neighbour votes
    min_similarity: float | None = None


def project(features: np.ndarray, mean: np.ndarray, proj: np.ndarray | None) -> np.ndarray:
    """[B,F] -> centred, PCA-projected (when proj is given), L2-normalised [B,D]."""
    z = features.astype(np.float32) - mean
    if proj is not None:
        z = np.einsum("bf,fd->bd", z, proj, optimize=False)  # einsum, not BLAS: a call this small only wakes (and spins) its threads
    return z / (np.linalg.norm(z, axis=1, keepdims=True) + 1e-8)


def l2_rows(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)


def space_inputs(fusion: "ImageFusion", features: np.ndarray, taps: np.ndarray | None,
                 colour: np.ndarray | None, imagenet_probs: np.ndarray | None) -> dict[str, np.ndarray]:
    """The raw vector of each similarity space the fusion uses (before centring and projection)."""
    cnn = np.concatenate([l2_rows(features), l2_rows(taps)], axis=1) if fusion.cnn_taps else features
    if fusion.cnn_power != 1.0:
        cnn = np.sign(cnn) * np.abs(cnn) ** fusion.cnn_power
    out = {"cnn": cnn.astype(np.float32)}
    if fusion.colour_sim or fusion.calibrated:
        out["colour"] = np.sqrt(colour).astype(np.float32)  # Hellinger: cosine of square roots
    if fusion.imagenet_sim:
        out["imagenet"] = np.sqrt(np.maximum(imagenet_probs, 0)).astype(np.float32)
    return out


def space_weights(fusion: "ImageFusion") -> dict[str, float]:
    return {"cnn": 1.0, "colour": fusion.colour_sim, "imagenet": fusion.imagenet_sim}


def needed_spaces(fusion: "ImageFusion") -> list[str]:
    """The spaces whose similarities the scores use (the calibration also votes in the colour space alone)."""
    return [s for s, w in space_weights(fusion).items() if w or (s == "colour" and fusion.calibrated)]


# per calibrated word: votes in the weighted sum of spaces, in the cnn space alone, in the colour space
# alone, and the head's logit
CALIB_INPUTS = ("votes", "cnn_votes", "colour_votes", "head_logit")


def calibration_inputs(head: np.ndarray, sims: dict[str, np.ndarray], labels: np.ndarray,
                       fusion: "ImageFusion", n_words: int, votes: np.ndarray | None = None) -> np.ndarray:
    """[B,W,4] (CALIB_INPUTS) for the first n_words tags; head [B,V] sigmoid scores, sims per space [B,N]
    (unweighted cosines), labels [N,V]; `votes` [B,V]: the weighted-space votes when already computed."""
    if votes is None:
        votes = knn_vote(mixed_similarities(sims, fusion), labels, fusion.knn_k, fusion.knn_temperature)
    cnn = knn_vote(sims["cnn"], labels[:, :n_words], fusion.knn_k, fusion.knn_temperature)
    colour = knn_vote(sims["colour"], labels[:, :n_words], fusion.knn_k, fusion.colour_knn_temperature)
    p = np.clip(head[:, :n_words], 1e-6, 1 - 1e-6)
    return np.stack([votes[:, :n_words], cnn, colour, np.log(p) - np.log1p(-p)], axis=-1).astype(np.float32)


def calibrate(inputs: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """[B,W,F] inputs, weight [W,F], bias [W] -> [B,W] per-word sigmoid probabilities."""
    z = np.einsum("bwf,wf->bw", inputs, weight, optimize=False) + bias
    return 1.0 / (1.0 + np.exp(-z))


def cooc_matrix(labels: np.ndarray) -> np.ndarray:
    """[N,W] 0/1 training labels -> [W,W] co-occurrence counts / sqrt(count_i count_j), zero diagonal
    (computed from knn.npz's tag lists at load: nothing extra ships)."""
    y = (labels > 0).astype(np.float64)
    c = y.T @ y
    np.fill_diagonal(c, 0.0)
    n = np.sqrt(np.maximum(y.sum(axis=0), 1.0))
    return (c / n[:, None] / n[None, :]).astype(np.float32)


def mixed_similarities(sims: dict[str, np.ndarray], fusion: "ImageFusion") -> np.ndarray:
    """[B,N]: the weighted sum of the spaces' cosine similarities the kNN votes on."""
    total = None
    for space, weight in space_weights(fusion).items():
        if weight:
            part = sims[space] * weight
            total = part if total is None else total + part
    return total


def score_tags(head: np.ndarray, sims: dict[str, np.ndarray], labels: np.ndarray, fusion: "ImageFusion",
               tag_scale: np.ndarray, calib: tuple[np.ndarray, np.ndarray] | None = None,
               cooc: np.ndarray | None = None) -> np.ndarray:
    """[B,V] served scores: head + kNN mean (`fuse_vocab`); with calibration the first W tags get the
    per-word sigmoid of `calibration_inputs`, then co-occurrence smoothing; then the per-tag scale.
    Training scores its leave-one-out photos with this function too (sims with the photo left out)."""
    mixed = mixed_similarities(sims, fusion)
    votes = knn_vote(mixed, labels, fusion.knn_k, fusion.knn_temperature, fusion.min_similarity)
    fused = fuse_vocab(head, votes, fusion, np.ones(head.shape[1], np.float32))
    if fusion.calibrated:
        weight, bias = calib
        n = len(bias)
        fused[:, :n] = calibrate(calibration_inputs(head, sims, labels, fusion, n, votes), weight, bias)
        if fusion.cooc:
            fused[:, :n] += fusion.cooc * np.einsum("bw,wv->bv", fused[:, :n], cooc, optimize=False)
    if fusion.min_similarity is not None:
        fused *= knn_support(mixed, fusion.knn_k, fusion.knn_temperature, fusion.min_similarity)[:, None]
    return fused * tag_scale


def _top_weights(sims: np.ndarray, k: int, temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k most similar training photos [B,k], their similarities and softmax(similarity / temperature)."""
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # [B,k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    weights = np.exp((top_sims - top_sims.max(axis=1, keepdims=True)) / temperature)
    weights /= weights.sum(axis=1, keepdims=True)
    return top, top_sims, weights


def knn_support(sims: np.ndarray, k: int, temperature: float, min_similarity: float) -> np.ndarray:
    """[B] in [0,1]: the share of the k neighbours' vote weight on neighbours at least min_similarity
    close (1: a neighbourhood like the training photos'; 0: no training photo is close)."""
    _, top_sims, weights = _top_weights(sims, k, temperature)
    return (weights * (top_sims >= min_similarity)).sum(axis=1)


def grounded_tags(sims: np.ndarray, labels: np.ndarray, k: int, coherent: np.ndarray, event_photos: np.ndarray,
                  near_similarity: float) -> np.ndarray:
    """[B,V] bool: the bank tags a photo may take (image.json grounding.coherence, `python -m
    export.train_image coherence`). A coherent tag (its bank photos share it because of what they show)
    always; any other tag only when the photo is like the bank's photos (one of its k nearest that is
    not an event photo is at least near_similarity close) and a neighbour other than an event photo
    votes for it or none does (the head's own guess). A photo unlike the bank (an everyday photo) thus
    never borrows #NYC or #TCOT from photos that merely look alike. sims [B,N] weighted similarities,
    labels [N,V] 0/1, coherent [V] bool, event_photos [N] bool (bank photos carrying an event tag)."""
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top_sims = np.take_along_axis(sims, top, axis=1)
    plain = ~event_photos[top]  # [B,k]
    like_bank = (np.where(plain, top_sims, -np.inf).max(axis=1) >= near_similarity)[:, None]
    by_plain = np.zeros((len(sims), labels.shape[1]), dtype=bool)
    by_event = np.zeros_like(by_plain)
    for j in range(k):  # one neighbour rank at a time, as `knn_vote`
        carries = labels[top[:, j]] > 0
        by_plain |= carries & plain[:, j, None]
        by_event |= carries & ~plain[:, j, None]
    return coherent[None, :] | (like_bank & (by_plain | ~by_event))


def knn_vote(sims: np.ndarray, labels: np.ndarray, k: int, temperature: float,
             min_similarity: float | None = None) -> np.ndarray:
    """Label transfer: the k most similar training photos vote their tags with weights
    softmax(similarity / temperature); with min_similarity a neighbour less similar than that does not
    vote (its weight is dropped, not handed to the others). sims [B,N] (a weighted sum over spaces),
    labels [N,V] 0/1 -> [B,V] in [0,1]."""
    top, top_sims, weights = _top_weights(sims, k, temperature)
    if min_similarity is not None:
        weights = weights * (top_sims >= min_similarity)
    k = top.shape[1]
    votes = np.zeros((len(top), labels.shape[1]), dtype=np.float32)  # [B,V]; one neighbour rank at a time:
    for j in range(k):  # no [B,k,V] temporary when training scores thousands of photos
        votes += weights[:, j, None] * labels[top[:, j]]
    return votes


def fuse_vocab(head: np.ndarray, knn: np.ndarray, fusion: "ImageFusion", tag_scale: np.ndarray) -> np.ndarray:
    """Weighted mean of head sigmoid scores and kNN votes, times a per-tag scale
    (tag_scale = (training frequency / median)^-alpha, clipped, times exp(per-word bias) when
    tuned): rare words get their turn (N+)."""
    fused = (fusion.head * head + fusion.knn * knn) / max(fusion.head + fusion.knn, 1e-8)
    return fused * tag_scale


@dataclass
class KnnBank:
    """The training photos as served: per space mean [F], projection [F,D] or None, bank [N,D]
    (rows L2-normalised); labels [N,V] 0/1; the head's weights when it is not in the graph."""

    spaces: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray]]
    labels: np.ndarray
    head_weight: np.ndarray | None = None  # [F,V]
    head_bias: np.ndarray | None = None  # [V]
    calib_weight: np.ndarray | None = None  # [W,len(CALIB_INPUTS)] format 4: the first W tags calibrated
    calib_bias: np.ndarray | None = None  # [W]
    cooc: np.ndarray | None = None  # [W,W] `cooc_matrix` of the bank's labels (when fusion.cooc)

    @classmethod
    def load(cls, path: Path, n_tags: int, fusion: "ImageFusion") -> "KnnBank":
        """Reads knn.npz (format 1: mean/proj/bank of the cnn space; format 2: SPACE_mean/_proj/_bank)
        and checks that every array the fusion needs is there with consistent shapes."""
        data = np.load(path)
        names = set(data.files)
        spaces = {}
        for space in needed_spaces(fusion):
            prefix = "" if space == "cnn" and "mean" in names else f"{space}_"
            if f"{prefix}bank" not in names:
                raise InvalidModelFolder(f"{path}: the fusion uses the {space} similarity but {prefix}bank is missing")
            # C order: a transposed (Fortran-order) matrix makes every `x @ proj` copy it first
            mean = data[f"{prefix}mean"].astype(np.float32)
            proj = np.ascontiguousarray(data[f"{prefix}proj"], dtype=np.float32) if f"{prefix}proj" in names else None
            bank = np.ascontiguousarray(data[f"{prefix}bank"], dtype=np.float32)
            dim = proj.shape[1] if proj is not None else mean.shape[0]
            if (proj is not None and proj.shape[0] != mean.shape[0]) or bank.shape[1] != dim:
                raise InvalidModelFolder(f"{path}: {space} shapes disagree (mean {mean.shape}, proj "
                                         f"{None if proj is None else proj.shape}, bank {bank.shape})")
            spaces[space] = (mean, proj, bank)
        n = len(next(iter(spaces.values()))[2])
        if any(len(b) != n for _, _, b in spaces.values()):
            raise InvalidModelFolder(f"{path}: the spaces' banks have different numbers of photos")
        indptr, indices = data["indptr"], data["indices"]
        if len(indptr) != n + 1 or (len(indices) and (indices.min() < 0 or indices.max() >= n_tags)):
            raise InvalidModelFolder(f"{path}: the tag lists do not match {n} photos and {n_tags} tags")
        labels = np.zeros((n, n_tags), dtype=np.float32)  # [N,V] 0/1
        for row in range(n):
            labels[row, indices[indptr[row]:indptr[row + 1]]] = 1.0
        head_weight = head_bias = None
        if "head_weight" in names:
            head_weight = np.ascontiguousarray(data["head_weight"], dtype=np.float32)
            head_bias = data["head_bias"].astype(np.float32)
            if head_weight.shape[1] != n_tags or head_bias.shape != (n_tags,):
                raise InvalidModelFolder(f"{path}: head shapes {head_weight.shape}, {head_bias.shape} do not match {n_tags} tags")
        calib_weight = calib_bias = cooc = None
        if fusion.calibrated:
            if "calib_weight" not in names or "calib_bias" not in names:
                raise InvalidModelFolder(f"{path}: the fusion is calibrated but calib_weight / calib_bias are missing")
            calib_weight = np.ascontiguousarray(data["calib_weight"], dtype=np.float32)
            calib_bias = data["calib_bias"].astype(np.float32)
            n = len(calib_bias)
            if calib_bias.ndim != 1 or calib_weight.shape != (n, len(CALIB_INPUTS)) or not 0 < n <= n_tags:
                raise InvalidModelFolder(f"{path}: calib_weight {calib_weight.shape} / calib_bias {calib_bias.shape} must be "
                                         f"[W,{len(CALIB_INPUTS)}] / [W] with W <= {n_tags} tags")
            if fusion.cooc:
                cooc = cooc_matrix(labels[:, :n])
        elif fusion.cooc:
            raise InvalidModelFolder(f"{path}: co-occurrence smoothing (fusion.cooc) needs a calibrated fusion")
        for name in data.files:
            if data[name].dtype.kind == "f" and not np.isfinite(data[name]).all():
                raise InvalidModelFolder(f"{path}: {name} has non-finite values")
        return cls(spaces, labels, head_weight, head_bias, calib_weight, calib_bias, cooc)

    def space_similarities(self, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per loaded space [B,N]: the cosine similarities to every training photo."""
        out = {}
        for space, (mean, proj, bank) in self.spaces.items():
            z = project(vectors[space], mean, proj)
            out[space] = np.einsum("bd,nd->bn", z, bank, optimize=False)
        return out
