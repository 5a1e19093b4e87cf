"""Fine-tuning batches: a task file's features in epochs, length-grouped, on data/epochs.py's machinery (the
one that pre-training's batches use), so ranks, resuming and the data position work the same way.

An epoch is a fresh permutation of the features, repeated cyclically up to a whole number of optimizer steps
(batch_size x processes x grad_accum features), as torch's DistributedSampler pads to a whole number of
processes: every batch is full, no feature is dropped, and an epoch is an exact number of steps. With
`group_by_length`, the permutation is cut into megabatches of 50 steps' features, each sorted by length (the
rule of Hugging Face's LengthGroupedSampler), and the steps are then shuffled: a batch pads to the longest of
similar lengths, and the order of long and short batches stays random. Grouping by optimizer step (not by
micro-batch) makes 2 processes see what 1 process with grad_accum 2 sees. `collate` pads each batch
to its own longest feature (dynamic padding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bertkit.data.epochs import EpochBatches, EpochPlan
from bertkit.tasks.features import Features, collate

MEGABATCH = 50  # steps' features sorted together, as Hugging Face's LengthGroupedSampler sorts 50 batches


class FeaturePlan(EpochPlan):
    """Each epoch's order of the features; rows are features, a batch is `collate` of its rows."""

    def __init__(
        self,
        features: Features,
        pad_id: int,
        *,
        grad_accum: int,
        group_by_length: bool,
        batch_size: int,
        seed: int,
        rank: int,
        world_size: int,
    ) -> None:
        super().__init__(None, batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        self.features, self.pad_id, self.group_by_length = features, pad_id, group_by_length
        self.lengths = np.asarray(features.lengths())
        self.per_step = batch_size * world_size * grad_accum
        self.steps_per_epoch = -(-len(features) // self.per_step)

    def make_plan(self, rng: np.random.Generator) -> np.ndarray:
        order = np.resize(rng.permutation(len(self.features)), self.steps_per_epoch * self.per_step)
        if not self.group_by_length:
            return order
        size = MEGABATCH * self.per_step
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            order[start : start + size] = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
        steps = order.reshape(-1, self.per_step)
        return steps[rng.permutation(len(steps))].reshape(-1)

    def make_batch(self, epoch: int, positions: range) -> dict[str, torch.Tensor]:
        rows = self.plan(epoch)[positions.start : positions.stop]
        return collate([self.features.inputs[i] for i in rows], self.pad_id)


def feature_batches(
    features: Features, source: str | Path, pad_id: int, num_workers: int = 0, **settings
) -> EpochBatches:
    """Endless, resumable batches of `features` (read from `source`, named in messages), made by
    `num_workers` background processes (0: in the loop's thread); `settings`: FeaturePlan's (grad_accum,
    group_by_length, batch_size, seed, rank, world_size)."""
    plan = FeaturePlan(features, pad_id, **settings)
    return EpochBatches(plan, Path(source), "train", num_workers=num_workers)
