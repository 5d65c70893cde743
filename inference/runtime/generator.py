"""Hashtag generation with onnxruntime: the exported encoder once, then beam search over the decoder.

    gen = Generator("inference/models/zh")
    gen.generate([(post_tokens, conv_tokens)], n_best=10)  # -> [[("aus open", -0.41), ...]]

Tokens are what `inference.text.preprocess.tokenize` gives (the training side used the same function);
this module only maps them to ids with the folder's vocabulary. No torch here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from inference.runtime.beam import BeamSearch, TopK
from inference.runtime.model_folder import FORMAT_VERSION, InvalidModelFolder, ModelFolder, load_model_folder
from inference.runtime.providers import choose_providers, create_session

log = logging.getLogger(__name__)

Batch = list[tuple[list[str], list[str]]]
# Beam width when none is given. Weibo dev (788 posts, `tagsmith predict --beam-size B` + `tagsmith
# evaluate`, docs/performance.md): F1@1 the same at beams 15, 10, 5 and 3 (6.64 with the shipped
# model), but F1@5 / R@10 fall with the beam (15: 4.49 / 15.3, 10: 4.45 / 14.5, 5: 4.16 / 12.0);
# 10 keeps the top-10 list (the service's default k) close to beam 15's for less decoder work.
DEFAULT_BEAM_SIZE = 10
# Posts searched together. Chosen when the decoder still gathered every beam row's encoder memory at
# each step (a batch of 32 grew the process by ~100 MB where 8 added ~15 MB); it now attends per post,
# but a search of 32 posts costs about the same CPU per post as 8 (the output layer is compute-bound by
# then) and holds 4x the [rows, V] log-prob arrays, so 8 stays.
MAX_SEARCH_BATCH = 8
# the decoder step of a format-2 folder: each element's memory row once (element_rows), each row's k best
DECODER_INPUTS = {"prev_word", "element_rows", "hidden", "memory", "memory_mask", "k"}
DECODER_OUTPUTS = {"top_log_probs", "top_ids", "new_hidden"}


class Generator:
    def __init__(
        self,
        folder: str | Path | ModelFolder,
        providers: list[str] | None = None,
        threads: int = 0,
        inter_op_threads: int = 0,
        precision: str | None = None,
        length_penalty: float = 0.0,
        beam_size: int | None = None,
    ):
        """threads: onnxruntime intra-op threads (0 = its default); precision "fp32"/"int8"
        (default: what the exporter chose, see config.json "quantization"); beam_size: the beam
        width when `generate` is given none (default DEFAULT_BEAM_SIZE, whatever n_best is: more
        hypotheses finish than the beam holds, so n_best may exceed it)."""
        self.folder = folder if isinstance(folder, ModelFolder) else load_model_folder(folder)
        self.precision = precision or self.folder.default_precision
        encoder_path, decoder_path = self.folder.graph_paths(self.precision)
        self.providers = choose_providers(providers)
        self.encoder = create_session(encoder_path, self.providers, threads, inter_op_threads)
        self.decoder = create_session(decoder_path, self.providers, threads, inter_op_threads)
        self._encoder_inputs = {i.name for i in self.encoder.get_inputs()}
        self._check_decoder(decoder_path)
        self.length_penalty = length_penalty
        self.beam_size = beam_size or DEFAULT_BEAM_SIZE
        specials = self.folder.special_ids
        self.src_pad, self.src_unk = specials["src"]["pad"], specials["src"]["unk"]
        self.tgt = specials["tgt"]
        log.info(
            "generator %s (%s, %s) on %s, intra-op threads %s",
            self.folder.model_id,
            self.folder.language,
            self.precision,
            ", ".join(self.encoder.get_providers()),
            threads or "default",
        )

    def _check_decoder(self, decoder_path: Path) -> None:
        """The decoder has format 2's inputs and outputs (DECODER_INPUTS, DECODER_OUTPUTS)."""
        inputs = {i.name for i in self.decoder.get_inputs()}
        outputs = {o.name for o in self.decoder.get_outputs()}
        if inputs != DECODER_INPUTS or outputs != DECODER_OUTPUTS:
            raise InvalidModelFolder(f"{decoder_path}: decoder inputs {sorted(inputs)} and outputs {sorted(outputs)}, "
                                     f"format {FORMAT_VERSION} has {sorted(DECODER_INPUTS)} and {sorted(DECODER_OUTPUTS)}")

    # -- tensors ---------------------------------------------------------------------------------

    def _ids(self, tokens: list[str], max_len: int) -> list[int]:
        index, unk = self.folder.src_index, self.src_unk
        return [index.get(t, unk) for t in tokens[:max_len]]

    def encoder_feeds(self, batch: Batch) -> dict[str, np.ndarray]:
        """Token lists -> padded id and mask arrays: post [B, Tp], conv [B, Tc] (+ bool masks).

        As in training (export/data.py): truncated to the model's max lengths; an empty post or
        conversation stays empty, one padded, fully masked column (the model gives it a zero context).
        """
        posts = [self._ids(p, self.folder.max_post_len) for p, _ in batch]
        convs = [self._ids(c, self.folder.max_conv_len) for _, c in batch]
        post, post_mask = self._pad(posts)
        conv, conv_mask = self._pad(convs)
        return {"post": post, "post_mask": post_mask, "conv": conv, "conv_mask": conv_mask}

    def _pad(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(1, max(len(r) for r in rows))
        ids = np.full((len(rows), width), self.src_pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=bool)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = True
        return ids, mask

    def encode(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """-> memory [B, Tm, D], memory_mask [B, Tm] bool, hidden0 [1, B, H]."""
        feeds = {k: v for k, v in feeds.items() if k in self._encoder_inputs}  # post-only variants ignore conv
        memory, memory_mask, hidden0 = self.encoder.run(["memory", "memory_mask", "hidden0"], feeds)
        return memory, memory_mask, hidden0

    def decode_step(self, tokens, element_rows, hidden, memory, memory_mask) -> tuple[np.ndarray, np.ndarray]:
        """tokens [N], element_rows [A] (the memory row of each of A equal, contiguous groups of
        rows), hidden [1, N, H] -> log_probs [N, V] (every token's), hidden."""
        top, new_hidden = self._run_decoder(tokens, element_rows, hidden, memory, memory_mask, len(self.folder.tgt_vocab))
        full = np.empty_like(top.log_probs)
        full[np.arange(len(top.ids))[:, None], top.ids] = top.log_probs
        return full, new_hidden

    def decode_candidates(self, tokens, element_rows, hidden, memory, memory_mask, k: int) -> tuple[TopK, np.ndarray]:
        """What the beam search needs from one step: each row's best k, ranked by the graph."""
        return self._run_decoder(tokens, element_rows, hidden, memory, memory_mask, min(k, len(self.folder.tgt_vocab)))

    def _run_decoder(self, tokens, element_rows, hidden, memory, memory_mask, k: int) -> tuple[TopK, np.ndarray]:
        feeds = {
            "prev_word": np.ascontiguousarray(tokens, dtype=np.int64),
            "element_rows": np.ascontiguousarray(element_rows, dtype=np.int64),
            "hidden": np.ascontiguousarray(hidden, dtype=np.float32),
            "memory": memory,
            "memory_mask": memory_mask,
            "k": np.array([k], dtype=np.int64),
        }
        log_probs, ids, new_hidden = self.decoder.run(["top_log_probs", "top_ids", "new_hidden"], feeds)
        return TopK(log_probs, ids), new_hidden

    # -- generation ------------------------------------------------------------------------------

    def beam_search(self, n_best: int, beam_size: int | None, max_len: int | None, length_penalty: float | None) -> BeamSearch:
        return BeamSearch(
            beam_size=beam_size or self.beam_size,
            max_len=max_len or self.folder.max_tag_len,
            bos_id=self.tgt["bos"],
            eos_id=self.tgt["eos"],
            n_best=n_best,
            length_penalty=self.length_penalty if length_penalty is None else length_penalty,
            state_axes=(1,),
            banned_ids=(self.tgt["pad"], self.tgt["bos"], self.tgt["unk"]),
        )

    def search_ids(self, batch: Batch, n_best=10, beam_size=None, max_len=None, length_penalty=None):
        """Beam search on id level: per batch element, Hypothesis list best first."""
        if len(batch) > MAX_SEARCH_BATCH:  # bounded memory: chunks searched one after another
            return [hyps for start in range(0, len(batch), MAX_SEARCH_BATCH)
                    for hyps in self.search_ids(batch[start : start + MAX_SEARCH_BATCH], n_best, beam_size, max_len, length_penalty)]
        if not batch:
            return []
        memory, memory_mask, hidden0 = self.encode(self.encoder_feeds(batch))

        search = self.beam_search(n_best, beam_size, max_len, length_penalty)

        def step(tokens, element_rows, state):
            candidates, hidden = self.decode_candidates(tokens, element_rows, state[0], memory, memory_mask, 2 * search.beam_size)
            return candidates, (hidden,)

        return search.run(step, init_state=(hidden0,), batch_size=len(batch))

    def generate(
        self,
        batch: Batch,
        n_best: int = 10,
        beam_size: int | None = None,
        max_len: int | None = None,
        length_penalty: float | None = None,
    ) -> list[list[tuple[str, float]]]:
        """(post tokens, conversation tokens) per element -> up to n_best distinct (words, score),
        best first; score is the (length-normalised) log-probability, <= 0."""
        vocab = self.folder.tgt_vocab
        out = []
        for hyps in self.search_ids(batch, n_best, beam_size, max_len, length_penalty):
            seen, tags = set(), []
            for h in hyps:
                words = " ".join(vocab[t] for t in h.tokens)
                if words and words not in seen:
                    seen.add(words)
                    tags.append((words, float(h.score)))
            out.append(tags[:n_best])
        return out
