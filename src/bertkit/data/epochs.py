"""Endless, resumable batches split across ranks: the machinery every batch source shares (MLM pairs in
loader.py, causal-LM documents in lm_loader.py).

An epoch is a plan made and shuffled with a generator seeded by (seed, epoch) alone, so every rank computes
the same plan, and the plan gives the epoch's rows (NSP instances; windows of the documents laid end to end).
Global batch k of the epoch is rows [k*B*W, (k+1)*B*W) (B = batch_size, W = world_size) and rank r takes the
r-th B of them: ranks see disjoint rows, and together exactly the batch one process with batch_size B*W
sees. Whatever randomness a row needs (a mask, a truncation) comes from a generator seeded by (seed, epoch,
its position in the epoch), the same on any rank and in any worker. So a batch is a pure function of (seed, epoch, batch index, rank, world_size),
and resuming needs only (epoch, batch index).

Batches are made in background processes by a torch DataLoader (`num_workers`; 0 makes them in the caller's
thread), a few batches ahead of the training loop.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bertkit.checks import check_choice, check_int
from bertkit.data.split import SPLITS, SplitIndex
from bertkit.errors import InvalidArgumentError, TrainingError

_PLAN_STREAM, _ROW_STREAM = 0, 1  # keeps the plan's and the rows' random streams apart
# Rows of similar length are batched together within groups of this many batches (Hugging Face's
# group_by_length), so batches padded to their longest row are padded little and the batch order stays random.
LENGTH_GROUP_BATCHES = 50


def group_by_length(plan: np.ndarray, lengths: np.ndarray, group: int) -> np.ndarray:
    """The shuffled `plan` with each run of `group` rows sorted longest first (ties keep their random order),
    so that consecutive batches of a group hold rows of similar `lengths`."""
    plan = plan.copy()
    for g in range(0, len(plan), group):
        plan[g : g + group] = plan[g : g + group][np.argsort(-lengths[g : g + group], kind="stable")]
    return plan


class EpochPlan(ABC):
    """Makes batch (epoch, index) of one rank; keeps the plans of the two latest epochs it was asked about.
    A subclass says what an epoch's plan is (`make_plan`, `count_rows`) and how rows become a batch
    (`make_batch`)."""

    def __init__(
        self, index: SplitIndex | None, *, batch_size: int, seed: int, rank: int, world_size: int
    ) -> None:
        self.index, self.batch_size, self.seed = index, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self._plans: dict[int, np.ndarray] = {}
        self._rows: dict[int, int] = {}

    @abstractmethod
    def make_plan(self, rng: np.random.Generator) -> np.ndarray:
        """One epoch's plan, shuffled: all its randomness drawn from `rng`."""

    def count_rows(self, plan: np.ndarray) -> int:
        """How many rows a plan makes: one per entry, unless a subclass cuts its entries otherwise."""
        return len(plan)

    @abstractmethod
    def make_batch(self, epoch: int, positions: range) -> dict[str, torch.Tensor]:
        """The batch of the epoch's rows at `positions`, which may be empty (a batch of 0 rows)."""

    def row_rng(self, epoch: int, position: int) -> np.random.Generator:
        """The generator of the row at `position` of the epoch."""
        return np.random.default_rng([self.seed, epoch, _ROW_STREAM, position])

    def plan(self, epoch: int) -> np.ndarray:
        """The epoch's plan: the same on every rank."""
        if epoch not in self._plans:
            # Two epochs are live at a boundary: the loop finishing one while the prefetcher starts the next.
            for old in sorted(self._plans)[:-1]:
                del self._plans[old]
            self._plans[epoch] = self.make_plan(np.random.default_rng([self.seed, epoch, _PLAN_STREAM]))
            self._rows[epoch] = self.count_rows(self._plans[epoch])
        return self._plans[epoch]

    def rows_in_epoch(self, epoch: int) -> int:
        """Rows of the epoch (remembered after its plan is dropped)."""
        if epoch not in self._rows:
            self.plan(epoch)
        return self._rows[epoch]

    def batches_in_epoch(self, epoch: int, partial: bool = False) -> int:
        """Full global batches in the epoch (with `partial`, counting a last incomplete one too)."""
        global_batch = self.batch_size * self.world_size
        n = self.rows_in_epoch(epoch)
        return -(-n // global_batch) if partial else n // global_batch

    def batch(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        """This rank's share of global batch `index`: fewer rows in the epoch's last, partial global batch, and
        none (tensors of 0 rows) when the epoch's rows run out before this rank's share begins."""
        first = (index * self.world_size + self.rank) * self.batch_size
        last = min(first + self.batch_size, self.rows_in_epoch(epoch))
        return self.make_batch(epoch, range(first, max(first, last)))


class _Batches(Dataset):
    """Batch (epoch, index) for a DataLoader running with batch_size=None."""

    def __init__(self, maker: EpochPlan) -> None:
        self.maker = maker

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        return self.maker.batch(*key)


class _Positions(Sampler):
    """(epoch, index) from a start position: forever, or through the end of one epoch."""

    def __init__(self, maker: EpochPlan, epoch: int, index: int, single_epoch: bool = False) -> None:
        self.maker, self.epoch, self.index, self.single_epoch = maker, epoch, index, single_epoch

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, index = self.epoch, self.index
        while True:
            for i in range(index, self.maker.batches_in_epoch(epoch, partial=self.single_epoch)):
                yield epoch, i
            if self.single_epoch:
                return
            epoch, index = epoch + 1, 0


class EpochBatches:
    """Iterating yields batches (dicts of torch tensors) endlessly, epoch after epoch, from the position
    `state_dict()` describes; `load_state_dict()` of a saved position makes the next batches exactly those
    that followed it. `one_epoch()` is a fixed, finite set for evaluation."""

    def __init__(self, maker: EpochPlan, data_dir: Path, split: str, num_workers: int) -> None:
        self.maker, self.data_dir, self.split, self.num_workers = maker, data_dir, split, num_workers
        self.epoch, self.batch_index = 0, 0
        self.maker.plan(0)  # fail now on text that cannot make rows
        if split == "train":
            self._check_full_batches()

    def _check_full_batches(self) -> None:
        """Endless iteration needs one full global batch per epoch; a small held-out split may only have
        the partial batch `one_epoch` gives."""
        if self.maker.batches_in_epoch(self.epoch) == 0:
            m = self.maker
            raise TrainingError(
                f"{self.data_dir}: the {self.split} split makes {m.rows_in_epoch(self.epoch)} sequences per "
                f"epoch, fewer than one global batch (batch_size {m.batch_size} x world_size {m.world_size}); "
                "use a smaller batch or more text"
            )

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        self._check_full_batches()
        for batch in self._loader(_Positions(self.maker, self.epoch, self.batch_index)):
            self.batch_index += 1
            # `while`: an epoch's row count may vary, and one short of a global batch has no batch to stop at.
            while self.batch_index >= self.maker.batches_in_epoch(self.epoch):
                self.epoch, self.batch_index = self.epoch + 1, 0
            yield batch

    def one_epoch(self, epoch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """One epoch's batches, the last possibly smaller, without moving the position: a fixed
        evaluation set for the held-out split.

        Every rank yields the same number of batches, its share of each global batch, so ranks that take the
        first k batches cover the same global batches and make the same number of collective calls. With
        several ranks, a share of the last global batch may be empty (0 rows): callers skip its forward pass,
        not the batch."""
        yield from self._loader(_Positions(self.maker, epoch, 0, single_epoch=True))

    def _loader(self, positions: _Positions) -> DataLoader:
        return DataLoader(
            _Batches(self.maker),
            sampler=positions,
            batch_size=None,
            num_workers=self.num_workers,
            prefetch_factor=4 if self.num_workers else None,
            pin_memory=torch.cuda.is_available(),
        )

    def batches_in_epoch(self, epoch: int = 0) -> int:
        return self.maker.batches_in_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        """The position of the next batch; all ranks are at the same position."""
        return {"epoch": self.epoch, "batch_index": self.batch_index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.batch_index = int(state["epoch"]), int(state["batch_index"])


def check_sharding(batch_size: int, split: str, rank: int, world_size: int, num_workers: int) -> None:
    """The arguments every batch source takes, one rule each."""
    check_int("`batch_size`", batch_size)
    check_choice("`split`", split, SPLITS)
    check_int("`world_size`", world_size)
    if not 0 <= rank < world_size:
        raise InvalidArgumentError(f"rank={rank}, world_size={world_size}: need 0 <= rank < world_size")
    check_int("`num_workers`", num_workers, minimum=0)
