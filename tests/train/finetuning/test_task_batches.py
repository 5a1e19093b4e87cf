"""Fine-tuning batches (train/task_batches.py): whole steps, every feature each epoch, length groups, ranks."""

import numpy as np
import torch

from bertkit.tasks import Features
from bertkit.train.task_batches import FeaturePlan, feature_batches


def features(lengths: list[int]) -> Features:
    inputs = [
        {"input_ids": [i + 5] * n, "token_type_ids": [0] * n, "labels": i % 2} for i, n in enumerate(lengths)
    ]
    return Features("classify", inputs, list(range(len(lengths))))


LENGTHS = [3, 9, 4, 12, 5, 7, 2, 8, 6, 10, 11]  # 11 features


def plan(group_by_length=True, **sharding) -> FeaturePlan:
    settings = dict(grad_accum=1, batch_size=4, seed=0, rank=0, world_size=1) | sharding
    return FeaturePlan(features(LENGTHS), 0, group_by_length=group_by_length, **settings)


def test_an_epoch_is_every_feature_padded_to_whole_steps():
    p = plan(grad_accum=2)  # 8 features a step: 2 steps, 16 rows, 5 features seen twice
    assert p.steps_per_epoch == 2
    for grouped in (False, True):
        rows = plan(grouped, grad_accum=2).plan(0)
        assert len(rows) == 16 and set(rows) == set(range(11))
        assert np.bincount(rows).max() == 2
    assert not np.array_equal(p.plan(0), p.plan(1))  # a new order each epoch
    assert np.array_equal(p.plan(1), plan(grad_accum=2).plan(1))  # a function of (seed, epoch)


def test_length_groups_sort_each_steps_features_and_shuffle_the_steps():
    p = plan(grad_accum=1, batch_size=3)  # 3 features a step, 4 steps
    rows = p.plan(0).reshape(-1, 3)
    lengths = np.array(LENGTHS)[rows]
    assert all((np.diff(step) <= 0).all() for step in lengths)  # longest first within a step
    batch = p.make_batch(0, range(0, 3))
    assert batch["input_ids"].shape == (3, lengths[0].max())  # padded to its own longest feature
    assert torch.equal(batch["attention_mask"].sum(1), torch.tensor(lengths[0]))


def test_two_ranks_see_what_one_rank_accumulating_two_batches_sees():
    one = feature_batches(
        features(LENGTHS),
        "train.csv",
        0,
        grad_accum=2,
        group_by_length=True,
        batch_size=2,
        seed=1,
        rank=0,
        world_size=1,
    )
    ranks = [
        feature_batches(
            features(LENGTHS),
            "train.csv",
            0,
            grad_accum=1,
            group_by_length=True,
            batch_size=2,
            seed=1,
            rank=r,
            world_size=2,
        )
        for r in range(2)
    ]
    single = iter(one)
    shared = [iter(r) for r in ranks]
    for _ in range(7):  # across an epoch boundary (3 steps an epoch)
        for rank_batches in shared:
            assert torch.equal(next(single)["input_ids"], next(rank_batches)["input_ids"])
    # positions count each configuration's own batches: 6 micro-batches an epoch here, 3 global batches there
    assert one.state_dict() == {"epoch": 2, "batch_index": 2}
    assert ranks[0].state_dict() == ranks[1].state_dict() == {"epoch": 2, "batch_index": 1}
