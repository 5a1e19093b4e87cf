"""The key/value cache of a causal model: each layer's keys and values of the positions already seen, so that
generating a token runs the network on that one position instead of the whole prefix.

Keys and values never change once computed (a causal model's position t attends only to 0..t), which is what
makes caching them exact.
"""

from __future__ import annotations

import torch

from bertkit.config import BertConfig
from bertkit.errors import InvalidArgumentError


class LayerCache:
    """One layer's keys and values, preallocated for `max_length` positions: a step writes its new positions in
    place, where concatenating would copy the whole prefix every token."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        self.keys, self.values = keys, values  # (B, heads, max_length, head_size)
        self.length = 0  # positions filled

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new positions' (B, heads, T, head_size) keys and values; return all S filled so far."""
        start, end = self.length, self.length + k.shape[-2]
        if end > self.keys.shape[-2]:
            raise InvalidArgumentError(
                f"the key/value cache holds {self.keys.shape[-2]} positions; {end} do not fit"
            )
        self.keys[:, :, start:end] = k
        self.values[:, :, start:end] = v
        self.length = end
        # Views, not copies: the last dimension stays contiguous, which is all SDPA's kernels need.
        return self.keys[:, :, :end], self.values[:, :, :end]  # (B, heads, S, head_size)


class KVCache:
    """Every layer's LayerCache, for a batch of `batch_size` sequences of up to `max_length` positions."""

    def __init__(
        self,
        config: BertConfig,
        batch_size: int,
        max_length: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        if not config.causal:
            raise InvalidArgumentError(
                "a key/value cache needs a causal model: in a bidirectional one, earlier positions attend to "
                "later ones, so their keys and values change with every new token"
            )
        heads = config.num_attention_heads
        shape = (batch_size, heads, max_length, config.hidden_size // heads)
        self.layers = [
            LayerCache(
                torch.empty(shape, dtype=dtype, device=device), torch.empty(shape, dtype=dtype, device=device)
            )
            for _ in range(config.num_hidden_layers)
        ]

    @property
    def length(self) -> int:
        """Positions already run through the model (every layer holds the same number)."""
        return self.layers[0].length
