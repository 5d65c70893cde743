"""The hashtag generator of Wang et al., NAACL 2019 ("Microblog Hashtag Generation via Encoding
Conversation Contexts"), with its ablations, in one file.

    post  -> Bi-GRU -> h^p ─┐ bi-attention (eq. 3-4)  ┌ v^p = tanh(W_p [h^p; r^c])  (eq. 5)
    conv  -> Bi-GRU -> h^c ─┘                         └ v^c = tanh(W_c [h^c; r^p])  (eq. 6)
    memory = [v^p; v^c] (concatenated along time) -> attentive GRU decoder (eq. 8-10)

Variants (`ModelConfig.variant`):
    full            memory = [v^p; v^c]                       (the paper's model)
    post_att        memory = v^p                              ("ours, post-att only")
    conv_att        memory = v^c                              ("ours, conv-att only")
    seq2seq_post    memory = h^p, the post encoder alone      (SEQ2SEQ post only)
    seq2seq_concat  memory = one encoder over post ++ conv    (SEQ2SEQ post+conv)

Export-friendly by construction (TorchScript ONNX exporter, opset 17): only nn.GRU, matmul, gather,
softmax and masked_fill with a finite constant; no Python branching on tensor values inside
`encode` / `decode_step`. Bidirectionality is built from two forward GRUs, the backward one reading
each sequence reversed *within its length*, so padding never reaches a real position (no packing).

Encoder outputs have width d = `hidden` (hidden/2 per direction, as OpenNMT's brnn does), the width
of the decoder state s_t, so W_bi-att and W_att are d x d as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# target ids
PAD, BOS, EOS, UNK = 0, 1, 2, 3
# source ids
SRC_PAD, SRC_UNK = 0, 1

NEG = -1e4  # finite "minus infinity": stays finite in fp16 and in every ONNX runtime
TINY_WEIGHT = 1e-30  # attention weights below this are zeroed (see masked_softmax)
VARIANTS = ("full", "seq2seq_post", "seq2seq_concat", "post_att", "conv_att")


@dataclass
class ModelConfig:
    src_vocab_size: int
    tgt_vocab_size: int
    emb_dim: int = 200
    hidden: int = 300
    enc_layers: int = 2
    dropout: float = 0.1
    variant: str = "full"  # "full" (bi-attention, paper), "seq2seq_post", "seq2seq_concat", "post_att", "conv_att"
    max_post_len: int = 64
    max_conv_len: int = 200
    max_tag_len: int = 10
    # Output layer W_v [s; c] factored through the target embeddings (logits = E_tgt proj([s; c])):
    # V x emb instead of V x 2d weights, to keep shipped models small. False = eq. 10 exactly.
    tie_output: bool = False


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis keeping only positions where mask is True; an all-False row gives
    all zeros (so an empty conversation contributes a zero context, whatever its padding).

    Weights under TINY_WEIGHT are zeroed with the masked ones: they add nothing a float32 sum can
    hold, but the smallest of them are denormals (< 1.2e-38), and a CPU matmul reading denormals
    runs dozens of times slower (onnxruntime and PyTorch alike)."""
    weights = torch.softmax(scores.masked_fill(~mask, NEG), dim=-1)
    return weights * (mask & (weights > TINY_WEIGHT)).to(weights.dtype)


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x [B,T,D] -> each row's first lengths[b] steps reversed, padding left in place."""
    steps = torch.arange(x.size(1), device=x.device).unsqueeze(0)  # [1,T]
    lengths = lengths.unsqueeze(1)  # [B,1]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # [B,T]
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(2)))


class BiGRUEncoder(nn.Module):
    """Stacked bidirectional GRU over padded sequences. Output width = hidden (hidden/2 per direction)."""

    def __init__(self, input_dim: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        assert hidden % 2 == 0, "hidden must be even (split over two directions)"
        half = hidden // 2
        dims = [input_dim] + [hidden] * (layers - 1)
        self.forward_grus = nn.ModuleList(nn.GRU(d, half, batch_first=True) for d in dims)
        self.backward_grus = nn.ModuleList(nn.GRU(d, half, batch_first=True) for d in dims)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor):
        # x [B,T,E], mask [B,T] bool -> states [B,T,H] (zero at padding), final [B,H]
        lengths = mask.sum(1)  # [B]
        for i, (fwd, bwd) in enumerate(zip(self.forward_grus, self.backward_grus)):
            if i > 0:
                x = self.dropout(x)
            forward_states, _ = fwd(x)
            backward_states, _ = bwd(reverse_within_length(x, lengths))
            x = torch.cat([forward_states, reverse_within_length(backward_states, lengths)], dim=-1)
        states = x * mask.unsqueeze(-1).to(x.dtype)
        # final state: forward half at the last real step, backward half at step 0
        half = states.size(2) // 2
        last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, half)  # [B,1,H/2]
        forward_final = states[:, :, :half].gather(1, last).squeeze(1)
        backward_final = states[:, 0, half:]
        return states, torch.cat([forward_final, backward_final], dim=-1)


class HashtagGenerator(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        assert config.variant in VARIANTS, f"unknown variant {config.variant!r}; one of {VARIANTS}"
        self.config = c = config
        d = c.hidden
        self.src_embedding = nn.Embedding(c.src_vocab_size, c.emb_dim, padding_idx=SRC_PAD)
        self.post_encoder = BiGRUEncoder(c.emb_dim, d, c.enc_layers, c.dropout)
        if c.variant in ("full", "post_att", "conv_att"):
            self.conv_encoder = BiGRUEncoder(c.emb_dim, d, c.enc_layers, c.dropout)
            self.bi_attention = nn.Linear(d, d, bias=False)  # W_bi-att (eq. 3)
            self.merge_post = nn.Linear(2 * d, d)  # W_p, b_p (eq. 5)
            self.merge_conv = nn.Linear(2 * d, d)  # W_c, b_c (eq. 6)
            self.bridge = nn.Linear(2 * d, d)  # decoder initial state from both encoders' final states
        else:
            self.bridge = nn.Linear(d, d)
        self.tgt_embedding = nn.Embedding(c.tgt_vocab_size, c.emb_dim, padding_idx=PAD)
        self.decoder = nn.GRU(c.emb_dim, d, batch_first=True)
        self.attention = nn.Linear(d, d, bias=False)  # W_att (eq. 9)
        if c.tie_output:
            self.output_projection = nn.Linear(2 * d, c.emb_dim)
            self.output_bias = nn.Parameter(torch.zeros(c.tgt_vocab_size))
        else:
            self.output = nn.Linear(2 * d, c.tgt_vocab_size)  # W_v, b_v (eq. 10)
        self.dropout = nn.Dropout(c.dropout)
        # ids never worth generating at inference: <pad>, <bos>, <unk>
        blocked = torch.zeros(c.tgt_vocab_size)
        blocked[[PAD, BOS, UNK]] = NEG
        self.register_buffer("blocked", blocked, persistent=False)

    # -- encoder ------------------------------------------------------------------------------
    def encode(self, post, post_mask, conv, conv_mask):
        # post [B,Tp] int64, post_mask [B,Tp] bool, conv [B,Tc], conv_mask [B,Tc]
        # -> memory [B,Tm,D] float, memory_mask [B,Tm] bool, hidden0 [1,B,H]
        variant = self.config.variant
        if variant == "seq2seq_concat":
            post, post_mask = concat_padded(post, post_mask, conv, conv_mask)
        h_post, post_final = self.post_encoder(self.dropout(self.src_embedding(post)), post_mask)
        if variant in ("seq2seq_post", "seq2seq_concat"):
            hidden0 = torch.tanh(self.bridge(post_final)).unsqueeze(0)
            return h_post, post_mask, hidden0

        h_conv, conv_final = self.conv_encoder(self.dropout(self.src_embedding(conv)), conv_mask)
        scores = self.bi_attention(h_post) @ h_conv.transpose(1, 2)  # [B,Tp,Tc] = h^p_i W h^c_j
        r_conv = masked_softmax(scores, conv_mask.unsqueeze(1)) @ h_conv  # [B,Tp,D] post-aware conv (eq. 4)
        r_post = masked_softmax(scores.transpose(1, 2), post_mask.unsqueeze(1)) @ h_post  # [B,Tc,D]
        v_post = torch.tanh(self.merge_post(torch.cat([h_post, r_conv], dim=-1)))  # [B,Tp,D]
        v_conv = torch.tanh(self.merge_conv(torch.cat([h_conv, r_post], dim=-1)))  # [B,Tc,D]
        hidden0 = torch.tanh(self.bridge(torch.cat([post_final, conv_final], dim=-1))).unsqueeze(0)
        if variant == "post_att":
            return v_post, post_mask, hidden0
        if variant == "conv_att":
            return v_conv, conv_mask, hidden0
        return torch.cat([v_post, v_conv], dim=1), torch.cat([post_mask, conv_mask], dim=1), hidden0

    # -- decoder ------------------------------------------------------------------------------
    def _logits(self, states, memory, memory_mask, extra_bias=None):
        # states [B,T,H], memory [B,Tm,D] -> logits [B,T,V]; extra_bias [V] joins the output bias
        # before it meets the [B,T,V] product (one add over the vocabulary, not two)
        scores = self.attention(states) @ memory.transpose(1, 2)  # [B,T,Tm] = s_t W v_i (eq. 9)
        context = masked_softmax(scores, memory_mask.unsqueeze(1)) @ memory  # [B,T,D] (eq. 8)
        features = self.dropout(torch.cat([states, context], dim=-1))  # [B,T,2D]
        if self.config.tie_output:
            bias = self.output_bias if extra_bias is None else self.output_bias + extra_bias
            return self.output_projection(features) @ self.tgt_embedding.weight.t() + bias
        bias = self.output.bias if extra_bias is None else self.output.bias + extra_bias
        return F.linear(features, self.output.weight, bias)  # eq. 10 before the softmax

    def decode_step(self, prev_word, hidden, memory, memory_mask):
        # prev_word [N] int64, hidden [1,N,H], memory [A,Tm,D] with N = A*R: rows come in A equal,
        # contiguous groups (one batch element's beam), each attending over its own memory row; A = N
        # is one memory row per hypothesis. -> log_probs [N,V], new hidden [1,N,H]
        states, hidden = self._step_states(prev_word, hidden)
        return self.step_log_probs(states, memory, memory_mask), hidden

    def _step_states(self, prev_word, hidden):
        # prev_word [N], hidden [1,N,H] -> decoder states [N,1,H], new hidden [1,N,H]
        return self.decoder(self.dropout(self.tgt_embedding(prev_word.unsqueeze(1))), hidden)

    def step_logits(self, states, memory, memory_mask):
        # states [N,1,H] -> logits [N,V]; grouping the rows per element makes attention one small
        # matmul per element (R queries) instead of N single-query ones over N gathered memory copies
        grouped = states.reshape(memory.size(0), -1, states.size(-1))  # [A,R,H]
        return self._logits(grouped, memory, memory_mask, extra_bias=self.blocked).flatten(0, 1)  # [N,V]

    def step_log_probs(self, states, memory, memory_mask):
        return F.log_softmax(self.step_logits(states, memory, memory_mask), dim=-1)  # [N,V]

    def decode_step_top_k(self, prev_word, hidden, memory, memory_mask, k: int):
        # as decode_step, but only each row's k best -> log_probs [N,k] (best first), ids [N,k], hidden
        states, hidden = self._step_states(prev_word, hidden)
        return (*top_k_log_probs(self.step_logits(states, memory, memory_mask), k), hidden)

    def forward(self, post, post_mask, conv, conv_mask, tgt_in):
        # teacher forcing: tgt_in [B,Tt] (<bos> y1 .. yn, padded) -> logits [B,Tt,V]
        memory, memory_mask, hidden0 = self.encode(post, post_mask, conv, conv_mask)
        states, _ = self.decoder(self.dropout(self.tgt_embedding(tgt_in)), hidden0)
        return self._logits(states, memory, memory_mask)

    def loss(self, post, post_mask, conv, conv_mask, tgt_in, tgt_out):
        """Mean NLL per target token (eq. 11 up to normalisation); tgt_out padded with <pad>."""
        logits = self(post, post_mask, conv, conv_mask, tgt_in)
        return F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)


def top_k_log_probs(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """logits [N,V] -> the k best log-probs per row [N,k] (best first) and their ids [N,k].

    A beam search needs only each row's best 2 x beam tokens; ranking them next to the output layer
    spares copying [N,V] log-probs out and ranking them again (log_softmax first: onnxruntime's
    LogSoftmax is many times faster than its ReduceLogSumExp)."""
    return F.log_softmax(logits, dim=-1).topk(k, dim=-1)


def concat_padded(a, a_mask, b, b_mask):
    """Join two right-padded id sequences row by row: [a_1..a_n, b_1..b_m, pad...] (no Python loop)."""
    # a [B,Ta], b [B,Tb] -> ids [B,Ta+Tb], mask [B,Ta+Tb]
    a_len = a_mask.sum(1, keepdim=True)  # [B,1]
    b_len = b_mask.sum(1, keepdim=True)
    joined = torch.cat([a, b], dim=1)
    steps = torch.arange(joined.size(1), device=a.device).unsqueeze(0)  # [1,T]
    index = torch.where(steps < a_len, steps, steps - a_len + a.size(1)).clamp(max=joined.size(1) - 1)
    mask = steps < a_len + b_len
    ids = joined.gather(1, index).masked_fill(~mask, SRC_PAD)
    return ids, mask
