import itertools

import numpy as np
import pytest
import torch

from bertkit.data.lm_loader import CausalLMData, count_windows, pack_documents
from bertkit.data.masking import IGNORE_INDEX
from bertkit.errors import InvalidArgumentError, TrainingError


def unpadded_rows(batches) -> list[list[int]]:
    return [
        ids[mask == 1].tolist()
        for b in batches
        for ids, mask in zip(b["input_ids"], b["attention_mask"], strict=True)
    ]


def test_an_epoch_is_the_shuffled_documents_end_to_end_each_token_a_target_once(
    tang_dir, tokenizer, documents_tokens
):
    data = CausalLMData(tang_dir, tokenizer, max_seq_length=48, batch_size=8, num_workers=0)
    rows = unpadded_rows(list(data.one_epoch()))  # every row, the last global batch partial
    for batch in data.one_epoch():
        ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
        assert ids.dtype == torch.long and ids.shape == mask.shape == labels.shape and ids.shape[1] == 48
        assert torch.equal(labels, ids.masked_fill(mask == 0, IGNORE_INDEX))  # the model shifts them
    assert all(len(row) == 48 for row in rows[:-1]) and 2 <= len(rows[-1]) <= 48  # only the last is padded
    # Consecutive rows share a token; joined without it, they are the documents as [CLS] tokens [SEP] in the
    # epoch's order: every document once, every token but the first a target once.
    stream = rows[0] + [t for row in rows[1:] for t in row[1:]]
    whole = [
        [tokenizer.cls_token_id, *t.tolist(), tokenizer.sep_token_id] for t, _ in documents_tokens(tang_dir)
    ]
    order = data.maker.plan(0)[:, 0]
    assert sorted(order) == list(range(len(whole))) and list(order) != sorted(order)
    assert stream == [t for d in order for t in whole[d]]
    assert all(a[-1] == b[0] for a, b in itertools.pairwise(rows))


def test_batches_are_deterministic_resumable_and_new_every_epoch(tang_dir, tokenizer, take, same):
    kw = {"max_seq_length": 128, "batch_size": 32}
    reference = take(CausalLMData(tang_dir, tokenizer, num_workers=0, **kw), 30)  # crosses epoch ends
    per_epoch = CausalLMData(tang_dir, tokenizer, num_workers=0, **kw).batches_in_epoch()
    assert 0 < per_epoch < 15
    assert not same(reference[:per_epoch], reference[per_epoch : 2 * per_epoch])  # another order each epoch
    assert not same(take(CausalLMData(tang_dir, tokenizer, num_workers=0, seed=1, **kw), 3), reference[:3])
    data = CausalLMData(tang_dir, tokenizer, num_workers=1, **kw)  # a worker process makes the same
    assert same(take(data, 7), reference[:7])
    resumed = CausalLMData(tang_dir, tokenizer, num_workers=1, **kw)
    resumed.load_state_dict(data.state_dict())
    assert same(take(resumed, 23), reference[7:])


def test_ranks_share_the_global_batch_of_a_single_process(tang_dir, tokenizer, take, same):
    kw = {"max_seq_length": 64, "num_workers": 0}
    single = take(CausalLMData(tang_dir, tokenizer, batch_size=16, **kw), 6)
    shares = [
        take(CausalLMData(tang_dir, tokenizer, batch_size=8, rank=r, world_size=2, **kw), 6) for r in (0, 1)
    ]
    joined = [{k: torch.cat([a[k], b[k]]) for k in a} for a, b in zip(*shares, strict=True)]
    assert same(single, joined)


def test_a_heldout_split_smaller_than_a_global_batch_gives_every_rank_a_batch(data_dir, tokenizer, same):
    kw = {"split": "heldout", "max_seq_length": 32, "num_workers": 0}
    (whole,) = CausalLMData(data_dir, tokenizer, batch_size=100_000, **kw).one_epoch()
    n = len(whole["input_ids"])
    assert 0 < n < 100_000
    shares = [
        list(CausalLMData(data_dir, tokenizer, batch_size=n, rank=r, world_size=2, **kw).one_epoch())
        for r in (0, 1)
    ]
    assert [len(s) for s in shares] == [1, 1]  # both ranks take part, rank 1's share empty
    assert shares[1][0]["input_ids"].shape == (0, 32)
    assert same(shares[0], [whole])
    with pytest.raises(TrainingError, match="fewer than one global batch"):
        next(iter(CausalLMData(data_dir, tokenizer, batch_size=100_000, **kw)))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"max_seq_length": 1}, "`max_seq_length` must be an integer >= 2, got 1"),
        ({"batch_size": 0}, "`batch_size` must be a positive integer, got 0"),
        ({"split": "test"}, "`split` must be one of train, heldout, got 'test'"),
        ({"rank": 1}, "rank=1, world_size=1"),
    ],
)
def test_bad_arguments_are_named(tang_dir, tokenizer, kw, message):
    with pytest.raises(InvalidArgumentError, match=message):
        CausalLMData(tang_dir, tokenizer, **kw)


def test_packing_and_windows():
    plan = pack_documents(np.array([3, 5, 2]), np.random.default_rng(0))
    assert sorted(plan[:, 0]) == [0, 1, 2] and plan[0, 1] == 0
    assert plan[1:, 1].tolist() == np.cumsum([[3, 5, 2][d] for d in plan[:-1, 0]]).tolist()
    # A stream of n tokens in windows of L sharing one token at each cut: ceil((n - 1) / (L - 1)) of them.
    assert [count_windows(n, 5) for n in (2, 5, 6, 9, 10)] == [1, 1, 2, 2, 3]


def test_separate_documents_each_start_a_row_at_position_0(tang_dir, tokenizer, documents_tokens):
    data = CausalLMData(tang_dir, tokenizer, max_seq_length=48, batch_size=8, num_workers=0, packing=False)
    batches = list(data.one_epoch())
    rows = unpadded_rows(batches)
    for batch in batches:
        mask = batch["attention_mask"]
        assert mask[:, -1].any()  # padded to the batch's longest row, no further
        assert torch.equal(batch["labels"], batch["input_ids"].masked_fill(mask == 0, IGNORE_INDEX))
    # Windows of one document share a token at each cut; together they are [CLS] document [SEP].
    whole = [
        [tokenizer.cls_token_id, *t.tolist(), tokenizer.sep_token_id] for t, _ in documents_tokens(tang_dir)
    ]
    plan = data.maker.plan(0)
    rebuilt = {}
    for (document, start), row in sorted(zip(plan.tolist(), rows, strict=True)):
        rebuilt[document] = rebuilt.get(document, [])[:start] + row
    assert [rebuilt[d] for d in range(len(whole))] == whole
    assert sum(r[0] == tokenizer.cls_token_id for r in rows) == len(whole)  # each document's first row
    # Rows are grouped by length: longest first within each group of batches.
    lengths = [len(r) for r in rows]
    assert lengths[: 8 * 50] == sorted(lengths[: 8 * 50], reverse=True)


def test_separate_documents_are_shared_by_ranks_and_resumable(tang_dir, tokenizer, take, same):
    kw = {"max_seq_length": 64, "num_workers": 0, "packing": False}
    single = unpadded_rows(take(CausalLMData(tang_dir, tokenizer, batch_size=16, **kw), 6))
    shares = [
        take(CausalLMData(tang_dir, tokenizer, batch_size=8, rank=r, world_size=2, **kw), 6) for r in (0, 1)
    ]
    joined = [row for a, b in zip(*shares, strict=True) for row in unpadded_rows([a]) + unpadded_rows([b])]
    assert joined == single
    data = CausalLMData(tang_dir, tokenizer, batch_size=16, **kw)
    first = take(data, 3)
    resumed = CausalLMData(tang_dir, tokenizer, batch_size=16, **kw)
    resumed.load_state_dict(data.state_dict())
    assert same(take(resumed, 3), take(CausalLMData(tang_dir, tokenizer, batch_size=16, **kw), 6)[3:])
    assert not same(first, take(resumed, 3))
