"""Multi-head self-attention, softmax(Q K^T / sqrt(d_k)) V, through PyTorch's fused kernel.

scaled_dot_product_attention picks flash / memory-efficient kernels on GPUs and a fused CPU kernel, so the
(B, heads, T, T) score matrix is never materialised when it need not be.
"""

import torch
import torch.nn.functional as F
from torch import nn

from bertkit.config import BertConfig


def attention_mask_for_sdpa(attention_mask: torch.Tensor | None, causal: bool, T: int) -> torch.Tensor | None:
    """Turn a (B, T) 1 = token / 0 = padding mask into SDPA's boolean form, True where a query may attend.

    Computed once per forward pass and shared by every layer. None means "attend everywhere" (or causal via
    SDPA's is_causal flag), which lets SDPA use its fastest kernel.
    """
    if attention_mask is None:
        return None
    mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T): padding keys are never attended to
    if causal:
        mask = mask & torch.ones(T, T, dtype=torch.bool, device=mask.device).tril()  # (B, 1, T, T)
    return mask


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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, T, H = x.shape
        # (B, T, H) -> (B, heads, T, head_size)
        q = self.query(x).view(B, T, self.num_heads, -1).transpose(1, 2)
        k = self.key(x).view(B, T, self.num_heads, -1).transpose(1, 2)
        v = self.value(x).view(B, T, self.num_heads, -1).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout_p if self.training else 0.0,
            is_causal=self.causal and mask is None)  # a padding mask already carries the causal triangle
        return y.transpose(1, 2).reshape(B, T, H)  # heads side by side again


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
    """Self-attention sublayer with its output projection and residual LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = AddNorm(config, config.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(x, mask), x)  # (B, T, H)
