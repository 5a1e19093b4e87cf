import pytest
import torch
import torch.nn.functional as F

from bertkit import BertConfig, BertModel
from bertkit.model.attention import (
    BertSelfAttention,
    attention_reference,
    attention_weights,
    build_attention_mask,
)


def reference_attention(attn: BertSelfAttention, x, key_mask, causal):
    """softmax(QK^T/sqrt(d) + mask) V written out, to check the SDPA call against the equation."""
    B, T, H = x.shape
    heads = attn.num_heads

    def split(t):
        return t.view(B, T, heads, -1).transpose(1, 2)

    q, k, v = split(attn.query(x)), split(attn.key(x)), split(attn.value(x))
    scores = q @ k.transpose(-1, -2) / (H // heads) ** 0.5  # (B, heads, T, T)
    allowed = key_mask.bool()[:, None, None, :]
    if causal:
        allowed = allowed & torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H)


@torch.no_grad()
def test_attention_is_the_equation_with_padding_and_causal_masks():
    for causal in (False, True):
        cfg = BertConfig(hidden_size=24, num_attention_heads=3, causal=causal)
        attn = BertSelfAttention(cfg).eval()
        x = torch.randn(2, 7, 24)
        key_mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
        mask = build_attention_mask(key_mask, causal)
        want = reference_attention(attn, x, key_mask, causal)
        for output_attentions in (False, True):  # the fused kernel, and the written-out path
            got, probs = attn(x, mask, output_attentions)
            assert (got - want).abs().max() < 1e-5
            assert (probs is not None) == output_attentions


@pytest.mark.parametrize(("padding", "causal"), [(True, False), (False, True), (True, True)])
def test_written_out_attention_equals_the_fused_kernel(padding, causal):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 4, 9, 8, generator=g) for _ in range(3))  # (B, heads, T, head_size)
    key_mask = torch.tensor([[1] * 9, [1] * 5 + [0] * 4, [1] * 2 + [0] * 7]) if padding else None
    mask = build_attention_mask(key_mask, causal)
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None)
    assert (attention_reference(q, k, v, mask, causal) - fused).abs().max() <= 1e-6
    probs = attention_weights(q, k, mask, causal)  # (B, heads, T, T)
    assert torch.allclose(probs.sum(-1), torch.ones(3, 4, 9))
    if padding:
        assert (probs[1, :, :, 5:] == 0).all()  # padding keys get no weight
    if causal:
        assert (probs.triu(diagonal=1) == 0).all()  # nor does the future


def test_a_query_with_nothing_to_attend_to_gets_zeros_as_in_sdpa():
    q, k, v = (torch.randn(1, 1, 3, 4) for _ in range(3))
    mask = build_attention_mask(torch.tensor([[0, 1, 1]]), causal=True)  # query 0 sees only a padding key
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert (attention_weights(q, k, mask)[0, 0, 0] == 0).all()
    assert (attention_reference(q, k, v, mask) - fused).abs().max() <= 1e-6


@torch.no_grad()
def test_causal_model_ignores_the_future():
    torch.manual_seed(0)
    model = BertModel(BertConfig.preset("tiny", vocab_size=60, causal=True)).eval()
    ids = torch.randint(1, 60, (2, 10))
    changed = ids.clone()
    changed[:, 6:] = torch.randint(1, 60, (2, 4))
    for mask in (None, torch.ones_like(ids)):
        a = model(ids, mask).last_hidden_state
        b = model(changed, mask).last_hidden_state
        assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)  # positions before the change see nothing of it
        assert not torch.allclose(a[:, 6:], b[:, 6:])


@torch.no_grad()
def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    model = BertModel(BertConfig.preset("tiny", vocab_size=60)).eval()
    ids = torch.randint(1, 60, (1, 6))
    alone = model(ids).last_hidden_state
    padded_ids = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    mask = torch.tensor([[1] * 6 + [0] * 4])
    padded = model(padded_ids, mask).last_hidden_state
    assert (padded[:, :6] - alone).abs().max() < 1e-5
