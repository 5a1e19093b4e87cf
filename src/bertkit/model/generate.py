"""Text generation with a causal language model: greedy or sampled, one token at a time, with a key/value cache.

The sampling filters are transformers' logits warpers (TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper), applied in the order its `generate` applies them; prompts of different lengths are left-padded
and their positions counted from each row's first real token, as transformers' `generate` counts them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from bertkit.errors import InvalidArgumentError
from bertkit.model.cache import KVCache


def top_k_filter(scores: torch.Tensor, top_k: int) -> torch.Tensor:
    """(B, V) scores with all but the k highest of each row set to -inf (ties with the k-th are kept)."""
    kth = torch.topk(scores, min(top_k, scores.shape[-1])).values[..., -1:]  # (B, 1)
    return scores.masked_fill(scores < kth, float("-inf"))


def top_p_filter(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """(B, V) scores keeping, per row, the most likely tokens whose probabilities add up to at least top_p
    (nucleus sampling); the others are set to -inf. The most likely token is always kept."""
    ascending, order = torch.sort(scores)  # (B, V)
    cumulative = ascending.softmax(dim=-1).cumsum(dim=-1)
    drop = cumulative <= 1 - top_p  # the unlikely tail, which together holds at most 1 - top_p
    drop[..., -1] = False
    return scores.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


def next_tokens(
    logits: torch.Tensor,
    do_sample: bool,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(B, V) scores of the next token -> (B,) chosen ids: the argmax, or a draw from softmax(logits / T)
    restricted to the top_k tokens, then to the top_p nucleus."""
    if not do_sample:
        return logits.argmax(dim=-1)
    scores = logits.float() / temperature
    if top_k is not None:
        scores = top_k_filter(scores, top_k)
    if top_p is not None and top_p < 1.0:
        scores = top_p_filter(scores, top_p)
    return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator).squeeze(1)


def check_options(max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """One clear line for each option value generation cannot use."""
    if max_new_tokens < 1:
        raise InvalidArgumentError(f"`max_new_tokens` must be at least 1, got {max_new_tokens}")
    if not temperature > 0:
        raise InvalidArgumentError(
            f"`temperature` must be positive, got {temperature} (for the most likely token, do not sample)"
        )
    if top_k is not None and top_k < 1:
        raise InvalidArgumentError(f"`top_k` must be at least 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise InvalidArgumentError(f"`top_p` must be in (0, 1], got {top_p}")


def check_prompt(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, max_length: int) -> None:
    """Clear errors for prompts that cannot be continued: empty, right-padded, or too long for the model."""
    if input_ids.dim() != 2:
        raise InvalidArgumentError(
            f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}"
        )
    if input_ids.numel() == 0:
        raise InvalidArgumentError(
            "the prompt is empty: generation continues at least one token (e.g. [CLS])"
        )
    if attention_mask is not None:
        if attention_mask.shape != input_ids.shape:
            raise InvalidArgumentError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected {tuple(input_ids.shape)}"
            )
        if not attention_mask[:, -1].all():
            raise InvalidArgumentError(
                "attention_mask: every prompt must end with a real token; pad prompts on the left, "
                "since new tokens are appended on the right"
            )
        if (attention_mask[:, 1:] < attention_mask[:, :-1]).any():
            raise InvalidArgumentError("attention_mask: padding must come before each prompt (left padding)")
    if input_ids.shape[1] >= max_length:
        raise InvalidArgumentError(
            f"the prompt has {input_ids.shape[1]} tokens, and the model's max_position_embeddings "
            f"({max_length}) leave no room for a new one; shorten it"
        )


@torch.no_grad()  # not inference_mode: the ids it returns stay ordinary tensors the caller may edit
def generate(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = 20,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_token_id: int | Sequence[int] | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue each prompt of a (B, P) batch by up to max_new_tokens tokens: (B, P + n) ids, prompt included.

    model: a causal LM with transformers' submodule names (`bert`, `cls.predictions`), e.g. BertLMHeadModel.
    attention_mask: (B, P) with padding on the LEFT for prompts of different lengths.
    do_sample=False picks the most likely token (greedy; temperature, top_k and top_p are then unused).
    eos_token_id: a row that produced it is finished, and continues with the config's pad_token_id; generation
    stops when every row has finished (n < max_new_tokens) or after max_new_tokens.
    use_cache: keep every layer's keys and values, so each step runs the network on one new position;
    without it each step reruns the whole prefix (the same tokens, slower).
    generator: the random source of sampling, for reproducible draws.
    Unlike transformers' `generate`, sampling applies no top_k unless asked (transformers defaults to 50).
    """
    config = model.config
    check_options(max_new_tokens, temperature, top_k, top_p)
    check_prompt(input_ids, attention_mask, config.max_position_embeddings)
    B, P = input_ids.shape
    total = P + max_new_tokens
    if total > config.max_position_embeddings:
        raise InvalidArgumentError(
            f"the prompt ({P} tokens) plus `max_new_tokens` ({max_new_tokens}) is {total} positions, more "
            f"than the model's max_position_embeddings ({config.max_position_embeddings}); "
            f"lower `max_new_tokens` to {config.max_position_embeddings - P}"
        )
    tokens = input_ids.new_full((B, total), config.pad_token_id)  # filled left to right; no concatenation
    tokens[:, :P] = input_ids
    keys = positions = None  # no padding: every key is visible and positions are consecutive
    if attention_mask is not None and not attention_mask.all():
        # Built once for every step: a step takes a slice. The mask is bool already, so it is not copied again.
        keys = F.pad(attention_mask.bool(), (0, max_new_tokens), value=True)  # (B, total)
        # Each row counts from its first real token; padding gets position 0, as in transformers.
        positions = (keys.cumsum(dim=-1) - 1).masked_fill(~keys, 0)  # (B, total)
    weight = model.bert.embeddings.word_embeddings.weight
    cache = KVCache(config, B, total, weight.dtype, weight.device) if use_cache else None
    eos = None if eos_token_id is None else torch.tensor(eos_token_id, device=tokens.device).view(-1)
    unfinished = torch.ones(B, dtype=torch.bool, device=tokens.device)
    for end in range(P, total):
        start = cache.length if cache is not None else 0  # the positions not yet run through the network
        hidden = model.bert(
            tokens[:, start:end],
            attention_mask=None if keys is None else keys[:, :end],
            position_ids=None if positions is None else positions[:, start:end],
            cache=cache,
        ).last_hidden_state  # (B, end - start, H)
        logits = model.cls.predictions(hidden[:, -1])  # (B, V): only the last position is ever needed
        chosen = next_tokens(logits, do_sample, temperature, top_k, top_p, generator)  # (B,)
        if eos is None:
            tokens[:, end] = chosen
            continue
        tokens[:, end] = chosen.masked_fill(~unfinished, config.pad_token_id)
        unfinished &= ~torch.isin(chosen, eos)
        if not unfinished.any():
            return tokens[:, : end + 1]
    return tokens
