"""The NAACL-2019 hashtag generator: shapes, masks, and step decoding agreeing with teacher forcing."""

import pytest
import torch

from export.model import BOS, VARIANTS, HashtagGenerator, ModelConfig, concat_padded

SRC_V, TGT_V = 40, 25


def tiny(variant: str) -> HashtagGenerator:
    torch.manual_seed(0)
    return HashtagGenerator(ModelConfig(SRC_V, TGT_V, emb_dim=8, hidden=12, variant=variant)).eval()


def inputs():
    torch.manual_seed(1)
    post = torch.randint(2, SRC_V, (3, 5))
    post_mask = torch.ones(3, 5, dtype=torch.bool)
    post_mask[1, 3:] = False
    conv = torch.randint(2, SRC_V, (3, 7))
    conv_mask = torch.ones(3, 7, dtype=torch.bool)
    conv_mask[0, 2:] = False
    conv_mask[2, :] = False  # a post without conversation
    return post.masked_fill(~post_mask, 0), post_mask, conv.masked_fill(~conv_mask, 0), conv_mask


def pad_more(ids, mask, extra):
    return (torch.cat([ids, ids.new_zeros(ids.size(0), extra)], 1),
            torch.cat([mask, mask.new_zeros(mask.size(0), extra)], 1))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_gives_the_documented_shapes(variant):
    model = tiny(variant)
    post, post_mask, conv, conv_mask = inputs()
    memory, memory_mask, hidden0 = model.encode(post, post_mask, conv, conv_mask)
    expected_len = {"full": 12, "seq2seq_concat": 12, "seq2seq_post": 5, "post_att": 5, "conv_att": 7}[variant]
    assert memory.shape == (3, expected_len, 12)
    assert memory_mask.shape == (3, expected_len) and memory_mask.dtype == torch.bool
    assert hidden0.shape == (1, 3, 12)
    log_probs, hidden = model.decode_step(torch.full((3,), BOS), hidden0, memory, memory_mask)
    assert log_probs.shape == (3, TGT_V) and hidden.shape == (1, 3, 12)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(3), atol=1e-5)
    assert model(post, post_mask, conv, conv_mask, torch.randint(1, TGT_V, (3, 4))).shape == (3, 4, TGT_V)


@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_does_not_change_outputs(variant):
    model = tiny(variant)
    post, post_mask, conv, conv_mask = inputs()
    with torch.no_grad():
        memory, memory_mask, hidden0 = model.encode(post, post_mask, conv, conv_mask)
        log_probs, _ = model.decode_step(torch.full((3,), BOS), hidden0, memory, memory_mask)
        post2, post_mask2 = pad_more(post, post_mask, 4)
        conv2, conv_mask2 = pad_more(conv, conv_mask, 6)
        memory2, memory_mask2, hidden02 = model.encode(post2, post_mask2, conv2, conv_mask2)
        log_probs2, _ = model.decode_step(torch.full((3,), BOS), hidden02, memory2, memory_mask2)
    assert torch.allclose(hidden0, hidden02, atol=1e-6)
    assert torch.allclose(log_probs, log_probs2, atol=1e-5)
    assert torch.equal(memory_mask.sum(1), memory_mask2.sum(1))


def test_a_row_alone_decodes_like_the_same_row_in_a_padded_batch():
    model = tiny("full")
    post, post_mask, conv, conv_mask = inputs()
    with torch.no_grad():
        memory, memory_mask, hidden0 = model.encode(post, post_mask, conv, conv_mask)
        batch, _ = model.decode_step(torch.full((3,), BOS), hidden0, memory, memory_mask)
        n_post, n_conv = int(post_mask[1].sum()), int(conv_mask[1].sum())
        one = model.encode(post[1:2, :n_post], post_mask[1:2, :n_post], conv[1:2, :n_conv], conv_mask[1:2, :n_conv])
        alone, _ = model.decode_step(torch.full((1,), BOS), one[2], one[0], one[1])
    assert torch.allclose(batch[1], alone[0], atol=1e-5)


def test_beam_rows_grouped_per_post_decode_like_one_memory_row_per_hypothesis():
    model = tiny("full")
    post, post_mask, conv, conv_mask = inputs()
    beam = 4
    torch.manual_seed(2)
    with torch.no_grad():
        memory, memory_mask, hidden0 = model.encode(post, post_mask, conv, conv_mask)
        rows = torch.arange(3).repeat_interleave(beam)  # [12]: posts 0,0,0,0,1,...
        hidden = hidden0.index_select(1, rows) + 0.1 * torch.randn(1, 12, 12)
        tokens = torch.randint(4, TGT_V, (12,))
        grouped, grouped_hidden = model.decode_step(tokens, hidden, memory, memory_mask)
        per_row, per_row_hidden = model.decode_step(tokens, hidden, memory[rows], memory_mask[rows])
    assert torch.allclose(grouped, per_row, atol=1e-5)
    assert torch.allclose(grouped_hidden, per_row_hidden, atol=1e-6)


@pytest.mark.parametrize("variant", ["full", "seq2seq_concat"])
def test_step_by_step_decoding_matches_teacher_forcing(variant):
    model = tiny(variant)
    post, post_mask, conv, conv_mask = inputs()
    tgt_in = torch.tensor([[BOS, 5, 6], [BOS, 7, 8], [BOS, 9, 4]])
    with torch.no_grad():
        forced = torch.log_softmax(model(post, post_mask, conv, conv_mask, tgt_in) + model.blocked, -1)
        memory, memory_mask, hidden = model.encode(post, post_mask, conv, conv_mask)
        for t in range(tgt_in.size(1)):
            step, hidden = model.decode_step(tgt_in[:, t], hidden, memory, memory_mask)
            assert torch.allclose(step, forced[:, t], atol=1e-5)


def test_decoding_never_proposes_pad_bos_or_unk():
    model = tiny("full")
    post, post_mask, conv, conv_mask = inputs()
    with torch.no_grad():
        memory, memory_mask, hidden0 = model.encode(post, post_mask, conv, conv_mask)
        log_probs, _ = model.decode_step(torch.full((3,), BOS), hidden0, memory, memory_mask)
    assert (log_probs[:, [0, 1, 3]] < -1000).all()


def test_concat_padded_joins_rows_without_gaps():
    a = torch.tensor([[5, 6, 0], [7, 0, 0]])
    b = torch.tensor([[8, 0], [9, 10]])
    ids, mask = concat_padded(a, a != 0, b, b != 0)
    assert ids.tolist() == [[5, 6, 8, 0, 0], [7, 9, 10, 0, 0]]
    assert mask.tolist() == [[True, True, True, False, False], [True, True, True, False, False]]


def test_tied_output_layer_gives_the_same_shapes_with_fewer_weights():
    big = HashtagGenerator(ModelConfig(SRC_V, 500, emb_dim=8, hidden=12))
    small = HashtagGenerator(ModelConfig(SRC_V, 500, emb_dim=8, hidden=12, tie_output=True))
    post, post_mask, conv, conv_mask = inputs()
    assert small(post, post_mask, conv, conv_mask, torch.ones(3, 2, dtype=torch.long)).shape == (3, 2, 500)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in big.parameters())
