"""BERT's input layer: token + position + segment embeddings, then LayerNorm and dropout."""

import math

import torch
from torch import nn

from bertkit.config import BertConfig
from bertkit.errors import InvalidArgumentError


def sinusoidal_table(num_positions: int, dim: int) -> torch.Tensor:
    """The vanilla Transformer's fixed positions: sin on even channels, cos on odd, wavelengths up to 10000*2pi."""
    position = torch.arange(num_positions, dtype=torch.float32)[:, None]  # (P, 1)
    # (ceil(D/2),): 10000^(-2i/D) for channel pair i
    inv_freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(num_positions, dim)
    table[:, 0::2] = torch.sin(position * inv_freq)
    table[:, 1::2] = torch.cos(position * inv_freq[: dim // 2])
    return table  # (P, D)


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        # padding_idx keeps the [PAD] row's gradient at zero, as in Hugging Face and Google's BERT.
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        if config.position_embedding == "learned":
            self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        else:
            # Computed once; not persistent, so checkpoints stay free of a table anyone can recompute.
            table = sinusoidal_table(config.max_position_embeddings, config.hidden_size)
            self.register_buffer("sinusoid", table, persistent=False)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def init_buffers(self) -> None:
        """The sinusoidal table again, in the buffer's dtype and device (after `to_empty`)."""
        if self.config.position_embedding != "learned":
            with torch.no_grad():
                table = sinusoidal_table(self.config.max_position_embeddings, self.config.hidden_size)
                self.sinusoid.copy_(table)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_length: int = 0,
    ) -> torch.Tensor:
        """input_ids (B, T) at positions past_length..past_length+T-1, or at `position_ids` (B, T) when given
        (left-padded prompts: each row counts from its first real token)."""
        check_input_ids(input_ids, self.config, past_length)
        T = input_ids.shape[1]
        x = self.word_embeddings(input_ids)  # (B, T, H)
        table = (
            self.position_embeddings.weight if self.config.position_embedding == "learned" else self.sinusoid
        )
        # Consecutive positions are a (T, H) slice, not a (B, T, H) gather: cheaper, and backward is a plain add.
        positions = table[past_length : past_length + T] if position_ids is None else table[position_ids]
        # No segment ids means every token is segment 0: broadcast that one row instead of gathering it B*T times.
        if token_type_ids is None:
            segments = self.token_type_embeddings.weight[0]  # (H,)
        else:
            segments = self.token_type_embeddings(token_type_ids)  # (B, T, H)
        x = x + segments + positions  # Hugging Face's order of additions, so fp32 results match bit for bit
        return self.dropout(self.LayerNorm(x))


def check_input_ids(input_ids: torch.Tensor, config: BertConfig, past_length: int = 0) -> None:
    """Clear errors for ids the embedding tables cannot look up (instead of an index error deep inside)."""
    if input_ids.dim() != 2:
        raise InvalidArgumentError(
            f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}"
        )
    seq_len = past_length + input_ids.shape[1]
    if seq_len > config.max_position_embeddings:
        raise InvalidArgumentError(
            f"input_ids has sequence length {seq_len}, longer than max_position_embeddings "
            f"({config.max_position_embeddings}); truncate the input (e.g. max_length={config.max_position_embeddings})"
        )
    if input_ids.numel() == 0 or torch.compiler.is_compiling():
        return  # a data-dependent check would break the compiled graph; eager runs catch bad ids
    lo, hi = torch.aminmax(input_ids)  # one pass; one host sync on accelerators
    if lo < 0 or hi >= config.vocab_size:
        bad = int(hi) if hi >= config.vocab_size else int(lo)
        raise InvalidArgumentError(
            f"input_ids contains token id {bad}, outside the vocabulary [0, {config.vocab_size}); "
            "the tokenizer and the model's vocab_size disagree"
        )
