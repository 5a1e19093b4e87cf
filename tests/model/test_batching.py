import pytest
import torch

from bertkit import BertConfig, BertModel, InvalidArgumentError, ModelOutput
from bertkit.model.batching import length_buckets


def test_length_buckets_longest_first_within_a_token_budget():
    assert length_buckets([3, 9, 5, 9, 1], max_tokens=18) == [[1, 3], [2, 0, 4]]
    assert length_buckets([3, 9, 5, 9, 1], max_tokens=5) == [
        [1],
        [3],
        [2],
        [0],
        [4],
    ]  # a long row stands alone
    with pytest.raises(InvalidArgumentError, match="max_tokens"):
        length_buckets([3], max_tokens=0)


@torch.no_grad()
def test_bucketed_outputs_equal_padded_outputs():
    torch.manual_seed(0)
    model = BertModel(BertConfig.preset("tiny", vocab_size=200, max_position_embeddings=64)).eval()
    lengths = torch.tensor([5, 40, 12, 7, 33, 2, 19, 40, 9])
    T = int(lengths.max())
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    ids = torch.randint(1, 200, (len(lengths), T)) * mask
    types = (torch.arange(T)[None, :] >= lengths[:, None] // 2).long() * mask
    padded = model(ids, mask, types)
    bucketed = model.encode_bucketed(ids, mask, types, max_tokens=100)  # several buckets
    assert isinstance(bucketed, ModelOutput)
    real = mask.bool()
    assert (bucketed.last_hidden_state[real] - padded.last_hidden_state[real]).abs().max() < 1e-5
    assert (bucketed.last_hidden_state[~real] == 0).all()
    assert (bucketed.pooler_output - padded.pooler_output).abs().max() < 1e-5


def test_bucketing_refuses_left_padding_and_empty_batches():
    model = BertModel(BertConfig.preset("tiny", vocab_size=50))
    mask = torch.tensor([[0, 1, 1], [1, 1, 1]])
    with pytest.raises(InvalidArgumentError, match="right padding"):
        model.encode_bucketed(torch.ones(2, 3, dtype=torch.long), mask)
    with pytest.raises(InvalidArgumentError, match="empty"):
        model.encode_bucketed(torch.ones(0, 3, dtype=torch.long), mask[:0])
