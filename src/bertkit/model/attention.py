"""Multi-head self-attention, softmax(QK^T / sqrt(d_k)) V, and its padding and causal masks.

The equation is written out in `attention_weights` / `attention_reference`; the model runs the fused
`scaled_dot_product_attention` beside it (flash / memory-efficient kernels on GPUs, a fused CPU kernel), which
never materialises the (B, heads, T, T) matrix, and takes the written-out path only when the weights are asked
for (`output_attentions=True`). Both take the same boolean mask, True where a query may attend.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from bertkit.config import BertConfig
from bertkit.model.cache import LayerCache


def causal_mask(T: int, S: int | None = None, device: torch.device | None = None) -> torch.Tensor:
    """(T, S), True where query i (the i-th of the last T of S positions) sees key j <= its own position.

    S > T when earlier keys come from a key/value cache: the triangle is aligned bottom-right, unlike SDPA's
    is_causal, which aligns it top-left."""
    S = T if S is None else S
    return torch.ones(T, S, dtype=torch.bool, device=device).tril(S - T)


def build_attention_mask(
    attention_mask: torch.Tensor | None, causal: bool, num_queries: int | None = None
) -> torch.Tensor | None:
    """Turn a (B, S) 1 = token / 0 = padding mask over every key into the boolean form, True where a query may
    attend. The queries are the last `num_queries` positions (default all S; fewer with cached keys).

    Computed once per forward pass and shared by every layer. None means "attend everywhere" (or only to the
    past when causal, which SDPA does with its is_causal flag), which lets SDPA use its fastest kernel.
    """
    if attention_mask is None:
        return None
    S = attention_mask.shape[-1]
    T = S if num_queries is None else num_queries
    mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, S): padding keys are never attended to
    if causal and T > 1:  # a single (newest) query may see every key anyway
        mask = mask & causal_mask(T, S, mask.device)  # (B, 1, T, S)
    return mask


def attention_weights(
    q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False
) -> torch.Tensor:
    """softmax(QK^T / sqrt(d_k)) over the keys a query may attend to: the (B, heads, T, S) probabilities
    (S = T, or more with cached keys).

    mask: as build_attention_mask returns it (already holding the causal triangle); `causal` adds the triangle
    only when there is no mask, as SDPA's is_causal does.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, heads, T, S)
    if mask is None and causal:
        mask = causal_mask(q.shape[-2], k.shape[-2], q.device)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    # A query with no key to attend to (an all-padding row) gets zero weights, as SDPA gives it, not NaN.
    return scores.softmax(dim=-1).nan_to_num(0.0)


def attention_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False
) -> torch.Tensor:
    """softmax(QK^T / sqrt(d_k)) V written out: what `scaled_dot_product_attention` computes, fused."""
    return attention_weights(q, k, mask, causal) @ v  # (B, heads, T, head_size)


class BertSelfAttention(nn.Module):
    """Hugging Face's `attention.self`: the Q, K, V projections and the attention itself (output projection is
    BertAttention's `output.dense`)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_p = config.attention_probs_dropout_prob
        self.causal = config.causal

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        output_attentions: bool = False,
        cache: LayerCache | None = None,
        queries: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, H) -> (B, T, H), and the (B, heads, T, S) attention probabilities when asked for (else None).

        cache: this layer's keys and values of the S - T earlier positions; the new ones are appended to it.
        queries: only the first `queries` positions' outputs, (B, queries, H), every position still giving its key
        and value (a bidirectional model's: the causal triangle takes the queries to be the last positions)."""
        B, T, H = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, t.shape[1], self.num_heads, -1).transpose(1, 2)  # (B, heads, T, head_size)

        q, k, v = heads(self.query(x[:, :queries])), heads(self.key(x)), heads(self.value(x))
        if cache is not None:
            k, v = cache.append(k, v)  # (B, heads, S, head_size)
        if output_attentions:
            probs = attention_weights(q, k, mask, self.causal)  # (B, heads, T, S)
            y = F.dropout(probs, self.dropout_p, self.training) @ v
        else:
            probs = None
            dropout_p = self.dropout_p if self.training else 0.0
            # A padding mask already carries the causal triangle; without one, SDPA's is_causal draws it. With
            # cached keys and no mask there is one query, the newest, which sees every key.
            is_causal = self.causal and mask is None and k.shape[-2] == T
            y = F.scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal=is_causal)
        return y.transpose(1, 2).reshape(B, -1, H), probs  # heads side by side again
