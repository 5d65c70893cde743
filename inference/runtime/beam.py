"""Batched beam search in numpy, over any one-step decoder.

The decoder is a function `step(tokens, element_rows, state) -> (log_probs, new_state)`:
- tokens        int64[N]      the previous token of each live hypothesis (row)
- element_rows  int64[A]      the batch elements still searching; rows come in A equal, contiguous
                              groups (N = A * R), group a belonging to element element_rows[a], so a
                              decoder can attend over A memory rows instead of gathering N copies
- state         tuple of arrays whose row axis is given by `state_axes` (a GRU hidden is [L, N, H]: axis 1)
- log_probs     float32[N, V], or a `TopK` of each row's best K (K >= 2 * beam_size keeps the search
                exact: an element's best 2 * beam candidates are among its rows' best 2 * beam)

Rows are batch × beam: the first step has one row per batch element, later steps `beam_size` rows for
each element still searching. An element retires as soon as its `n_best` finished hypotheses can no
longer be beaten, so its rows stop costing decoder time. A hypothesis finishes when it emits `eos_id`;
one still open at `max_len` is dropped (a truncated hashtag is not a hashtag).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np

State = tuple[np.ndarray, ...]


class TopK(NamedTuple):
    """A step's best K tokens per row, best first (a decoder that ranks them itself)."""

    log_probs: np.ndarray  # [N, K]
    ids: np.ndarray  # [N, K] int64


StepFn = Callable[[np.ndarray, np.ndarray, State], tuple["np.ndarray | TopK", State]]


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[int, ...]  # without bos/eos
    score: float  # log-prob divided by len(tokens + eos) ** length_penalty; higher is better
    log_prob: float


class BeamSearch:
    def __init__(
        self,
        beam_size: int,
        max_len: int,
        bos_id: int,
        eos_id: int,
        n_best: int | None = None,
        length_penalty: float = 0.0,
        state_axes: Sequence[int] = (1,),
        banned_ids: Sequence[int] = (),
    ):
        if beam_size < 1 or max_len < 1:
            raise ValueError("beam_size and max_len must be >= 1")
        self.beam_size = beam_size
        self.max_len = max_len
        self.bos_id = bos_id
        self.eos_id = eos_id
        self.n_best = n_best or beam_size
        self.length_penalty = length_penalty
        self.state_axes = tuple(state_axes)
        self.banned_ids = np.asarray(banned_ids, dtype=np.int64)

    # -- small steps ---------------------------------------------------------------------------

    def normalise(self, log_prob: np.ndarray | float, length: int) -> np.ndarray | float:
        """Length-normalised score; `length` counts the eos token."""
        return log_prob / (length**self.length_penalty) if self.length_penalty else log_prob

    def best_possible(self, live_log_prob: float, length: int) -> float:
        """Upper bound of the score any continuation of a live hypothesis can reach.

        Log-probs only fall as a hypothesis grows; with a length penalty the largest divisor
        (the longest allowed hypothesis) gives the least negative score.
        """
        if self.length_penalty:
            return live_log_prob / (self.max_len**self.length_penalty)
        return live_log_prob

    def row_candidates(self, out: "np.ndarray | TopK", first_step: bool) -> tuple[np.ndarray, np.ndarray]:
        """A step's output -> each row's best min(2*beam, V) (log-prob [N, w], token [N, w]), with
        banned ids (and eos on the first step: an empty hashtag is no hashtag) at -inf."""
        if isinstance(out, TopK):
            # a float copy is ours to edit
            row_lp = np.array(out.log_probs, dtype=np.float32 if out.log_probs.dtype == np.float32 else np.float64)
            row_tok = np.asarray(out.ids, dtype=np.int64)
            blocked = row_tok == self.eos_id if first_step else np.zeros(row_tok.shape, dtype=bool)
            for banned in self.banned_ids.tolist():
                blocked |= row_tok == banned
            row_lp[blocked] = -np.inf
            return row_lp, row_tok
        log_probs = np.array(out, dtype=np.float32 if out.dtype == np.float32 else np.float64)
        if self.banned_ids.size:
            log_probs[:, self.banned_ids] = -np.inf
        if first_step:
            log_probs[:, self.eos_id] = -np.inf
        vocab = log_probs.shape[1]
        width = 2 * self.beam_size
        if vocab <= width:
            return log_probs, np.broadcast_to(np.arange(vocab), log_probs.shape)
        # each row's best 2*beam (cum is constant along a row, so an element's best 2*beam are among them)
        row_tok = np.argpartition(log_probs, vocab - width, axis=1)[:, vocab - width :]  # [N, w]
        return log_probs[np.arange(len(log_probs))[:, None], row_tok], row_tok

    def top_candidates(self, cum: np.ndarray, row_lp: np.ndarray, row_tok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """cum [A, R], row_lp / row_tok [A, R, w] -> the best 2*beam (score, source row, token) per element.

        The sort sees R*w candidates instead of R*V, and the float64 sum is formed only for those.
        Plain fancy indexing throughout: np.take_along_axis builds its index grids in Python on every
        call, which costs more than the arithmetic here.
        """
        n_elements, n_rows, per_row = row_lp.shape
        width = min(2 * self.beam_size, n_rows * per_row)
        scores = (cum.reshape(n_elements, n_rows, 1) + row_lp).reshape(n_elements, n_rows * per_row)  # float64
        elements = np.arange(n_elements)[:, None]
        top = np.argpartition(-scores, width - 1, axis=1)[:, :width]
        top_scores = scores[elements, top]
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = top[elements, order]
        tokens = row_tok.reshape(n_elements, n_rows * per_row)[elements, top]
        return top_scores[elements, order], top // per_row, tokens

    def reorder(self, state: State, rows: np.ndarray) -> State:
        return tuple(np.take(s, rows, axis=axis) for s, axis in zip(state, self.state_axes))

    # -- the search ------------------------------------------------------------------------------

    def run(self, step: StepFn, init_state: State, batch_size: int) -> list[list[Hypothesis]]:
        finished: list[list[Hypothesis]] = [[] for _ in range(batch_size)]
        active = np.arange(batch_size)  # batch elements still searching
        rows_per_element = 1
        tokens = np.full(batch_size, self.bos_id, dtype=np.int64)
        cum = np.zeros((batch_size, 1), dtype=np.float64)  # [A, R] cumulative log-prob
        history = np.zeros((batch_size, 0), dtype=np.int64)  # [A*R, t] tokens so far
        state = init_state

        for t in range(self.max_len):
            out, state = step(tokens, active, state)
            row_lp, row_tok = self.row_candidates(out, first_step=t == 0)
            n_active = len(active)
            shape = (n_active, rows_per_element, -1)
            scores, src, tok = self.top_candidates(cum, row_lp.reshape(shape), row_tok.reshape(shape))

            # finished hypotheses: candidates that emit eos
            for a, j in zip(*np.nonzero((tok == self.eos_id) & np.isfinite(scores))):
                prefix = history[a * rows_per_element + src[a, j]]
                lp = float(scores[a, j])
                finished[int(active[a])].append(Hypothesis(tuple(prefix.tolist()), float(self.normalise(lp, t + 1)), lp))

            # live hypotheses: the best beam_size candidates that do not emit eos, per element
            keep = np.argsort(tok == self.eos_id, axis=1, kind="stable")[:, : self.beam_size]
            elements = np.arange(n_active)[:, None]
            live_scores, live_tok, live_src = scores[elements, keep], tok[elements, keep], src[elements, keep]
            live_scores[live_tok == self.eos_id] = -np.inf
            if live_scores.shape[1] < self.beam_size:  # tiny vocabularies: pad with dead rows
                pad = self.beam_size - live_scores.shape[1]
                live_scores = np.pad(live_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
                live_tok = np.pad(live_tok, ((0, 0), (0, pad)), constant_values=self.eos_id)
                live_src = np.pad(live_src, ((0, 0), (0, pad)))

            best_live = live_scores.max(axis=1).tolist()
            still = np.array([not self.is_done(finished[e], best, t + 1) for e, best in zip(active.tolist(), best_live)], dtype=bool)
            if t == self.max_len - 1 or not still.any():
                break

            # retire finished elements, then reorder rows and state for the survivors
            src_rows = (np.arange(n_active)[:, None] * rows_per_element + live_src)[still].reshape(-1)
            history = np.concatenate([history[src_rows], live_tok[still].reshape(-1, 1)], axis=1)
            state = self.reorder(state, src_rows)
            active = active[still]
            cum = live_scores[still]
            rows_per_element = self.beam_size
            tokens = live_tok[still].reshape(-1).astype(np.int64)

        return [sorted(hyps, key=lambda h: -h.score)[: self.n_best] for hyps in finished]

    def is_done(self, finished: list[Hypothesis], best_live_log_prob: float, length: int) -> bool:
        if not math.isfinite(best_live_log_prob):
            return True
        if len(finished) < self.n_best:
            return False
        worst_kept = sorted(h.score for h in finished)[-self.n_best]
        return self.best_possible(best_live_log_prob, length) < worst_kept
