"""Length bucketing and batch tensors: every input once, batches capped, little padding, no mask when none."""

from itertools import pairwise

import pytest
import torch

from bertkit.errors import InvalidArgumentError
from bertkit.model.batching import length_batches
from bertkit.pipelines.base import BATCH_COST, MAX_BATCH_TOKENS, tensor_batch
from bertkit.tokenizer.encoding import Encoding


def test_length_batches_cover_every_row_once_longest_first_within_the_caps():
    lengths = [5, 300, 7, 300, 290, 12, 5, 120, 9, 8] * 7
    batches = length_batches(lengths, batch_size=8, batch_cost=BATCH_COST, max_tokens=MAX_BATCH_TOKENS)
    rows = [i for b in batches for i in b]
    assert sorted(rows) == list(range(len(lengths)))
    assert [lengths[i] for i in rows] == sorted(lengths, reverse=True)
    assert all(len(b) <= 8 and (len(b) == 1 or len(b) * lengths[b[0]] <= MAX_BATCH_TOKENS) for b in batches)


def cost(lengths: list[int], batches: list[list[int]], per_batch: int) -> int:
    return sum(len(b) * lengths[b[0]] + per_batch for b in batches)


def test_length_batches_split_where_padding_costs_more_than_a_batch():
    lengths = [10] * 4 + [100] * 4
    # One batch of 8 would pad the four short rows by 360 tokens; a second batch costs 24.
    assert length_batches(lengths, batch_size=8, batch_cost=24) == [[4, 5, 6, 7], [0, 1, 2, 3]]
    # Rows 2 tokens apart are worth batching together rather than paying for a batch each.
    assert length_batches([10, 12, 11, 12], batch_size=8, batch_cost=24) == [[1, 3, 2, 0]]
    # No split of the sorted rows costs less than the one chosen (every split, checked by brute force).
    lengths = [9, 3, 17, 3, 8, 30, 12, 4]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    chosen = length_batches(lengths, batch_size=3, batch_cost=5)
    for mask in range(1 << (len(order) - 1)):
        cuts = [0] + [i + 1 for i in range(len(order) - 1) if mask >> i & 1] + [len(order)]
        split = [order[a:b] for a, b in pairwise(cuts)]
        if all(len(b) <= 3 for b in split):
            assert cost(lengths, chosen, 5) <= cost(lengths, split, 5)


def test_length_batches_without_a_cost_are_runs_of_batch_size():
    assert length_batches([3, 9, 3, 5, 9], 2) == [[1, 4], [3, 0], [2]]
    with pytest.raises(InvalidArgumentError, match="`batch_size`"):
        length_batches([3], 0)


def encoding(ids: list[int]) -> Encoding:
    return Encoding(ids, [0] * len(ids), [0] * len(ids), lambda: [], [])


def test_tensor_batch_pads_right_and_drops_a_needless_mask():
    batch = tensor_batch([encoding([2, 7, 3]), encoding([2, 3])], pad_id=0, device=torch.device("cpu"))
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    full = tensor_batch([encoding([2, 7, 3]), encoding([2, 8, 3])], pad_id=0, device=torch.device("cpu"))
    assert full["attention_mask"] is None and full["token_type_ids"].shape == (2, 3)
