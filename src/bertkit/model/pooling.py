"""Sentence vectors from token vectors: the mean over real tokens, as sentence-transformers' models use."""

import torch


def mean_pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average each sequence's hidden states over its non-padding tokens: (B, T, H), (B, T) -> (B, H).

    Padding positions carry real (if meaningless) activations, so they must be masked out, not just ignored
    by the caller; an all-padding row gives zeros rather than NaN.
    """
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)  # (B, T, 1)
    total = (hidden_states * mask).sum(dim=1)  # (B, H)
    count = mask.sum(dim=1).clamp(min=1e-9)  # (B, 1); sentence-transformers clamps the same way
    return total / count
