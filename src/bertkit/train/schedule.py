"""Learning-rate schedules: linear warm-up, then linear (BERT) or cosine decay to zero at the last step."""

from __future__ import annotations

import functools
import math

import torch

from bertkit.errors import InvalidArgumentError


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, kind: str = "linear") -> float:
    """The multiplier on the peak learning rate for optimizer step `step` (0-based).

    Warm-up climbs to 1 over `warmup_steps` (Adam's second moment is noise at first; big early steps wreck
    the embeddings), then the factor decays to 0 at `max_steps`, linearly as in BERT or along a half cosine.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise InvalidArgumentError(f"unknown learning-rate schedule {kind!r}; choose linear or cosine")


def build_scheduler(
    optimizer: torch.optim.Optimizer, *, warmup_steps: int, max_steps: int, kind: str = "linear"
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR over `lr_factor`; its state_dict (step counter, base lrs) is plain numbers."""
    lr_factor(0, warmup_steps=warmup_steps, max_steps=max_steps, kind=kind)  # reject an unknown kind now
    schedule = functools.partial(lr_factor, warmup_steps=warmup_steps, max_steps=max_steps, kind=kind)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
