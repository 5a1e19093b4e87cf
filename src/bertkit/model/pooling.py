"""Sentence vectors from token vectors: the poolings sentence-transformers' models are trained with (mean over
real tokens, the [CLS] vector, the maximum per dimension, the sum over sqrt(length)), and normalisation."""

import torch
import torch.nn.functional as F

from bertkit.errors import InvalidArgumentError

POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len")


def mean_pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average each sequence's hidden states over its non-padding tokens: (B, T, H), (B, T) -> (B, H).

    Padding positions carry real (if meaningless) activations, so they must be masked out, not just ignored
    by the caller; an all-padding row gives zeros rather than NaN.
    """
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)  # (B, T, 1)
    total = (hidden_states * mask).sum(dim=1)  # (B, H)
    count = mask.sum(dim=1).clamp(min=1e-9)  # (B, 1); sentence-transformers clamps the same way
    return total / count


def max_pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The largest value of each dimension over the real tokens: (B, T, H) -> (B, H). Padding is set to -1e9
    first, as sentence-transformers does."""
    padding = attention_mask.unsqueeze(-1) == 0  # (B, T, 1)
    return hidden_states.masked_fill(padding, -1e9).max(dim=1).values


def pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor | None, mode: str) -> torch.Tensor:
    """One vector per sequence, (B, T, H) -> (B, H), by `mode` (POOLING_MODES); attention_mask None: no
    padding. `mean_sqrt_len` is the sum over the real tokens divided by the square root of their count."""
    if mode not in POOLING_MODES:
        raise InvalidArgumentError(f"`pooling` must be one of {', '.join(POOLING_MODES)}, got {mode!r}")
    if mode == "cls":
        return hidden_states[:, 0]
    if attention_mask is None:
        attention_mask = hidden_states.new_ones(hidden_states.shape[:2])
    if mode == "max":
        return max_pool(hidden_states, attention_mask)
    pooled = mean_pool(hidden_states, attention_mask)
    if mode == "mean_sqrt_len":
        count = attention_mask.sum(dim=1, keepdim=True).to(pooled.dtype).clamp(min=1e-9)  # (B, 1)
        pooled = pooled * count / count.sqrt()
    return pooled


def normalize(vectors: torch.Tensor) -> torch.Tensor:
    """Unit length (L2), so a dot product is the cosine similarity: sentence-transformers' Normalize module."""
    return F.normalize(vectors, p=2, dim=-1)
