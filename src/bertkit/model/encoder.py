"""The Transformer block (attention sublayer, feed-forward sublayer, post-LayerNorm as in BERT), the stack of
blocks, and the pooler."""

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from bertkit.config import ACTIVATIONS, BertConfig
from bertkit.model.attention import BertSelfAttention
from bertkit.model.cache import KVCache, LayerCache


class AddNorm(nn.Module):
    """Post-LN residual: LayerNorm(residual + dropout(dense(x))). Hugging Face's `attention.output` and `output`."""

    def __init__(self, config: BertConfig, in_features: int):
        super().__init__()
        self.dense = nn.Linear(in_features, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    """The attention sublayer: self-attention, then its output projection and residual LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = AddNorm(config, config.hidden_size)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        output_attentions: bool = False,
        cache: LayerCache | None = None,
        queries: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        y, probs = self.self(x, mask, output_attentions, cache, queries)
        return self.output(y, x[:, :queries]), probs  # (B, T, H)


class BertIntermediate(nn.Module):
    """The feed-forward network's expansion, H -> intermediate_size, and its activation."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACTIVATIONS[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))  # (B, T, intermediate_size)


class BertLayer(nn.Module):
    """x = LN(x + Attention(x)); x = LN(x + FFN(x)).

    queries: only the first `queries` positions' outputs (a bidirectional model's), the others giving their keys
    and values alone: after attention, each step (output projection, LayerNorm, FFN) reads its own position."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = AddNorm(config, config.intermediate_size)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        output_attentions: bool = False,
        cache: LayerCache | None = None,
        queries: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x, probs = self.attention(x, mask, output_attentions, cache, queries)  # (B, T, H)
        return self.output(self.intermediate(x), x), probs  # (B, T, H)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = config.gradient_checkpointing

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        output_attentions: bool = False,
        cache: KVCache | None = None,
        cls_only: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """(B, T, H) -> (B, T, H), and each layer's (B, heads, T, S) attention probabilities when asked for.

        cache: the earlier positions' keys and values (S - T of them); each layer appends the new ones.
        cls_only: a bidirectional model's last layer runs for [CLS] alone, (B, 1, H) out: the other positions'
        queries, attention outputs and feed-forward there (10 of its 12 H x H products per token) feed nothing
        a pooled head reads."""
        attentions = []
        caches = cache.layers if cache is not None else [None] * len(self.layer)
        for i, (layer, layer_cache) in enumerate(zip(self.layer, caches, strict=True)):
            queries = 1 if cls_only and i == len(self.layer) - 1 else None
            # A cache is filled once, so its forward pass is never recomputed.
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled() and cache is None:
                # Keep only each block's input; recompute its insides during backward.
                x, probs = checkpoint(layer, x, mask, output_attentions, None, queries, use_reentrant=False)
            else:
                x, probs = layer(x, mask, output_attentions, layer_cache, queries)
            attentions.append(probs)
        return x, tuple(attentions) if output_attentions else None  # (B, T, H)


class BertPooler(nn.Module):
    """tanh(W h_[CLS] + b): the sentence vector NSP and sequence classification read."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))  # (B, H)
