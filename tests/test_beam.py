"""Beam search on hand-built log-probs."""

import numpy as np
import pytest

from inference.runtime.beam import BeamSearch, TopK

BOS, EOS, A, B, C = 0, 1, 2, 3, 4
V = 5


def table_step(table):
    """A decoder whose next-token distribution depends only on the previous token."""

    def step(tokens, element_rows, state):
        (counter,) = state
        return np.log(np.array([table[t] for t in tokens], dtype=np.float32)), (counter,)

    return step


def probs(**p):
    row = np.full(V, 1e-9)
    for name, value in p.items():
        row[{"eos": EOS, "a": A, "b": B, "c": C}[name]] = value
    return row / row.sum()


def test_greedy_path_is_ranked_first():
    table = {BOS: probs(a=0.6, b=0.4), A: probs(eos=0.9, b=0.1), B: probs(eos=0.5, c=0.5), C: probs(eos=1.0)}
    search = BeamSearch(beam_size=3, max_len=4, bos_id=BOS, eos_id=EOS, n_best=3, banned_ids=[BOS])
    (hyps,) = search.run(table_step(table), (np.zeros((1, 1, 1)),), batch_size=1)
    assert [h.tokens for h in hyps] == [(A,), (B,), (B, C)]
    assert hyps[0].log_prob == pytest.approx(np.log(0.6 * 0.9), abs=1e-6)
    assert hyps[1].log_prob == pytest.approx(np.log(0.4 * 0.5), abs=1e-6)


def test_beam_finds_a_sequence_greedy_search_misses():
    # greedy takes A (0.55) then a weak tail; B then C is better overall
    table = {BOS: probs(a=0.55, b=0.45), A: probs(eos=0.3, c=0.7), B: probs(eos=0.95, c=0.05), C: probs(eos=0.2, a=0.8)}
    search = BeamSearch(beam_size=2, max_len=3, bos_id=BOS, eos_id=EOS, n_best=1, banned_ids=[BOS])
    (hyps,) = search.run(table_step(table), (np.zeros((1, 1, 1)),), batch_size=1)
    assert hyps[0].tokens == (B,)


def test_hypotheses_are_distinct_and_never_empty():
    table = {t: probs(eos=0.4, a=0.2, b=0.2, c=0.2) for t in range(V)}
    search = BeamSearch(beam_size=4, max_len=3, bos_id=BOS, eos_id=EOS, n_best=10, banned_ids=[BOS])
    (hyps,) = search.run(table_step(table), (np.zeros((1, 1, 1)),), batch_size=1)
    tokens = [h.tokens for h in hyps]
    assert len(tokens) == len(set(tokens))
    assert all(len(t) >= 1 for t in tokens)


def test_length_penalty_favours_longer_hashtags():
    table = {BOS: probs(a=0.5, b=0.5), A: probs(eos=0.6, c=0.4), B: probs(eos=0.45, c=0.55), C: probs(eos=1.0)}
    plain = BeamSearch(beam_size=4, max_len=4, bos_id=BOS, eos_id=EOS, n_best=1, banned_ids=[BOS])
    normalised = BeamSearch(beam_size=4, max_len=4, bos_id=BOS, eos_id=EOS, n_best=1, length_penalty=1.0, banned_ids=[BOS])
    step = table_step(table)
    assert len(plain.run(step, (np.zeros((1, 1, 1)),), 1)[0][0].tokens) == 1
    assert len(normalised.run(step, (np.zeros((1, 1, 1)),), 1)[0][0].tokens) == 2


def test_batch_elements_search_independently_and_state_follows_rows():
    # the state holds each row's batch element; the step checks the search reordered it correctly
    # and that rows come in equal, contiguous groups, one per element in element_rows
    def step(tokens, element_rows, state):
        (owner,) = state
        assert len(tokens) % len(element_rows) == 0
        batch_rows = np.repeat(element_rows, len(tokens) // len(element_rows))
        assert np.array_equal(owner[0, :, 0].astype(int), batch_rows)
        out = np.full((len(tokens), V), np.log(1e-9))
        for i, (row, tok) in enumerate(zip(batch_rows, tokens)):
            favourite = A if row == 0 else C
            out[i, favourite] = np.log(0.7) if tok == BOS else np.log(0.1)
            out[i, EOS] = np.log(0.9) if tok != BOS else np.log(1e-9)
            out[i, B] = np.log(0.2)
        return out, state

    owner = np.arange(2, dtype=np.float32).reshape(1, 2, 1)
    search = BeamSearch(beam_size=2, max_len=4, bos_id=BOS, eos_id=EOS, n_best=2, banned_ids=[BOS])
    first, second = search.run(step, (owner,), batch_size=2)
    assert first[0].tokens == (A,)
    assert second[0].tokens == (C,)


def test_elements_retire_once_their_best_cannot_be_beaten():
    calls = []
    table = {BOS: probs(a=0.99, b=0.01), A: probs(eos=0.99, c=0.01), B: probs(eos=0.5, c=0.5), C: probs(eos=0.5, c=0.5)}
    inner = table_step(table)

    def step(tokens, element_rows, state):
        calls.append(len(tokens))
        return inner(tokens, element_rows, state)

    search = BeamSearch(beam_size=2, max_len=10, bos_id=BOS, eos_id=EOS, n_best=1, banned_ids=[BOS])
    (hyps,) = search.run(step, (np.zeros((1, 1, 1)),), batch_size=1)
    assert hyps[0].tokens == (A,)
    assert len(calls) < 10


def test_a_step_that_returns_each_rows_top_k_gives_the_same_hypotheses_as_full_log_probs():
    # random next-token tables over a vocabulary wider than 2 x beam; the top-k step hands the search
    # only each row's best 2 x beam (eos and banned ids among them), as the exported decoder does
    rng = np.random.default_rng(3)
    vocab, beam = 40, 4
    probs = rng.dirichlet(np.full(vocab, 0.3), size=vocab)
    probs[:, EOS] += rng.uniform(0.0, 0.6, size=vocab)  # hashtags end at different lengths
    table = np.log(probs / probs.sum(1, keepdims=True)).astype(np.float32)

    def full_step(tokens, element_rows, state):
        return table[tokens] + state[0][0, :, :1], state

    def top_k_step(tokens, element_rows, state):
        log_probs, _ = full_step(tokens, element_rows, state)
        ids = np.argsort(-log_probs, axis=1, kind="stable")[:, : 2 * beam]
        return TopK(np.take_along_axis(log_probs, ids, axis=1), ids), state

    bias = rng.normal(size=(1, 3, 1)).astype(np.float32) * 0.1  # a per-element offset carried in the state
    for n_best in (1, 5, 12):
        search = BeamSearch(beam_size=beam, max_len=5, bos_id=BOS, eos_id=EOS, n_best=n_best, banned_ids=[BOS, 7])
        full = search.run(full_step, (bias,), batch_size=3)
        top_k = search.run(top_k_step, (bias,), batch_size=3)
        assert [[h.tokens for h in hyps] for hyps in top_k] == [[h.tokens for h in hyps] for hyps in full]
        assert all(len(hyps) == n_best for hyps in full)
        assert [h.log_prob for hyps in top_k for h in hyps] == pytest.approx([h.log_prob for hyps in full for h in hyps])
        assert all(7 not in h.tokens and BOS not in h.tokens for hyps in top_k for h in hyps)
