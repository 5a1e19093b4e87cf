"""Process-group setup for `torchrun`: one process per device, gloo between CPUs, NCCL between GPUs.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK (and MASTER_ADDR/PORT); without them this is a single process and
nothing here talks to anything.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from bertkit.errors import InvalidArgumentError


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False  # joined here, so left here (a caller's own process group is left alone)

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, metrics and the final model."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def pick_device(requested: str, local_rank: int = 0) -> torch.device:
    """ "auto" is this process's GPU when there is one, else the CPU."""
    if requested == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as e:
        raise InvalidArgumentError(f"`device`: {e}") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError(f"`device` {requested}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def setup(requested_device: str = "auto") -> Distributed:
    """Join the process group torchrun describes in the environment (if any) and pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(requested_device, local_rank)
    owns_group = world_size > 1 and not dist.is_initialized()
    if owns_group:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world_size
        )
    return Distributed(
        rank=rank, world_size=world_size, local_rank=local_rank, device=device, owns_group=owns_group
    )


def teardown(ctx: Distributed, *, wait_for_all: bool) -> None:
    """Leave the process group. After a run that succeeded, first wait for every process: gloo aborts a process
    that tears down its connections while a peer (rank 0, still saving the final model) holds them open."""
    if ctx.owns_group:
        # DistributedDataParallel sits in reference cycles, so it (and the gloo work its reducer holds) would
        # otherwise be freed by a later collection, possibly during interpreter shutdown, after the group is
        # gone: free it now, while both are alive.
        gc.collect()
        if wait_for_all:
            dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, ctx: Distributed) -> torch.Tensor:
    """Sum a small tensor of counters over all processes (identity for one process)."""
    if ctx.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def gather_to_main(obj: Any, ctx: Distributed) -> list[Any]:
    """Every process's `obj`, in rank order (all ranks get the list; rank 0 is the one that uses it)."""
    if not ctx.enabled:
        return [obj]
    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, obj)
    return gathered
