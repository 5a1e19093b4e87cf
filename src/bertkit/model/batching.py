"""Length bucketing: run a padded batch as sub-batches of similar length, so padding costs (almost) nothing.

A batch of real sentences padded to its longest one spends most of its attention and FFN work on [PAD]
positions whose outputs nobody reads. Sorting by length and trimming each sub-batch to its own longest
sequence removes that work; every real token's output is unchanged (padding keys are masked out anyway).
`length_batches` builds such batches from raw lengths (inference over many texts); `encode_bucketed` splits
one padded batch already built.

The model is any BertModel-like callable: this module sits below model/bert.py (whose encode_bucketed calls it)
and returns the model's own output type, so it needs nothing from the model package.
"""

from collections.abc import Sequence

import torch

from bertkit.checks import check_int
from bertkit.errors import InvalidArgumentError


def length_batches(
    lengths: Sequence[int], batch_size: int, *, batch_cost: int | None = None, max_tokens: int | None = None
) -> list[list[int]]:
    """Row indices, longest first (ties keep their order), in batches of at most `batch_size` rows, each to be
    padded to its own longest row. Callers put results back by index.

    Without `batch_cost`: consecutive runs of `batch_size` rows, the fewest batches. With it: the split of the
    sorted rows that costs least, a batch costing its padded tokens plus `batch_cost` tokens' worth of fixed
    work (a forward pass over a few rows runs its matrix products slowly per row), each batch holding at
    most `max_tokens` padded tokens (a longer row runs alone): on a CPU, padding is pure waste, while the
    activations of a batch past a few thousand tokens fall out of cache and every row runs slower.
    Dynamic programming over the sorted lengths: O(rows x batch_size)."""
    check_int("`batch_size`", batch_size)
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    if batch_cost is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    check_int("`batch_cost`", batch_cost, minimum=0)
    if max_tokens is not None:
        check_int("`max_tokens`", max_tokens)
    sizes = [lengths[i] for i in order]
    n = len(sizes)
    best = [0.0] + [float("inf")] * n  # best[j]: the least cost of the first j sorted rows
    cut = [0] * (n + 1)  # where the last batch of that split starts
    for j in range(1, n + 1):
        for i in range(j - 1, max(-1, j - 1 - batch_size), -1):  # the last batch is rows i..j-1
            tokens = (j - i) * sizes[i]  # sizes[i] is its longest
            if j - i > 1 and max_tokens is not None and tokens > max_tokens:
                break  # more rows only make it bigger
            if best[i] + tokens + batch_cost < best[j]:
                best[j], cut[j] = best[i] + tokens + batch_cost, i
    batches = []
    while n:
        batches.append(order[cut[n] : n])
        n = cut[n]
    return batches[::-1]


def length_buckets(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Row indices, longest first, grouped so that each group padded to its longest row holds at most
    `max_tokens` tokens (a single longer row gets a group of its own). Short rows form big groups: fewer,
    larger matrix products."""
    if max_tokens < 1:
        raise InvalidArgumentError(f"max_tokens must be a positive integer, got {max_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties keep their order
    buckets: list[list[int]] = []
    for i in order:
        if buckets and (len(buckets[-1]) + 1) * lengths[buckets[-1][0]] <= max_tokens:
            buckets[-1].append(i)
        else:
            buckets.append([i])
    return buckets


def encode_bucketed(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    max_tokens: int = 8192,
):
    """BertModel's outputs for a right-padded batch, computed in length buckets of <= max_tokens padded tokens.

    Returns last_hidden_state (B, T, H) equal to `model(...)` at every real token and zero at padding, and
    pooler_output (B, H) equal to the model's. Run it under torch.no_grad() for inference.
    """
    B, T = input_ids.shape
    if B == 0:
        raise InvalidArgumentError("encode_bucketed: the batch is empty")
    if attention_mask.shape != (B, T):
        raise InvalidArgumentError(
            f"attention_mask has shape {tuple(attention_mask.shape)} but input_ids has shape {(B, T)}"
        )
    lengths = attention_mask.sum(dim=1)  # (B,)
    positions = torch.arange(T, device=attention_mask.device)
    if not torch.equal(positions[None, :] < lengths[:, None], attention_mask.bool()):
        raise InvalidArgumentError(
            "encode_bucketed needs right padding: attention_mask rows must be 1...1 0...0"
        )
    lengths = lengths.tolist()
    hidden = pooled = None
    for bucket in length_buckets(lengths, max_tokens):
        L = lengths[bucket[0]]  # the bucket's longest row
        rows = torch.tensor(bucket, device=input_ids.device)
        types = None if token_type_ids is None else token_type_ids[rows, :L]
        out = model(input_ids[rows, :L], attention_mask[rows, :L], types)
        if hidden is None:  # allocate in the model's output dtype (e.g. bf16 under autocast)
            h = out.last_hidden_state
            hidden = h.new_zeros(B, T, h.shape[-1])
            pooled = None if out.pooler_output is None else out.pooler_output.new_zeros(B, h.shape[-1])
        hidden[rows, :L] = out.last_hidden_state.masked_fill(~attention_mask[rows, :L, None].bool(), 0)
        if pooled is not None:
            pooled[rows] = out.pooler_output
    return type(out)(last_hidden_state=hidden, pooler_output=pooled)  # the model's ModelOutput
