"""Learning-rate schedules: linear warm-up, then linear (BERT) or cosine decay to zero at the end of the run,
the run measured in optimizer steps or, for a time budget, in the fraction of the budget spent."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bertkit.errors import InvalidArgumentError


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, kind: str = "linear") -> float:
    """The multiplier on the peak learning rate for optimizer step `step` (0-based).

    Warm-up climbs to 1 over `warmup_steps` (Adam's second moment is noise at first; big early steps wreck
    the embeddings), then the factor decays to 0 at `max_steps`, linearly as in BERT or along a half cosine.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return _decay((step - warmup_steps) / max(1, max_steps - warmup_steps), kind)


def time_lr_factor(fraction: float, *, warmup_fraction: float, kind: str = "linear") -> float:
    """The multiplier when `fraction` of a time budget is spent: the same curve as `lr_factor`, its warm-up
    and decay laid out over the budget (Geiping & Goldstein, "Cramming", 2022), because how many steps fit
    in 10 minutes is not known in advance. The factor is 0 at the very start of a warm-up."""
    if fraction < warmup_fraction:
        return fraction / warmup_fraction
    if warmup_fraction >= 1:
        return 0.0  # a warm-up as long as the budget: the budget is spent
    return _decay((fraction - warmup_fraction) / (1.0 - warmup_fraction), kind)


def _decay(progress: float, kind: str) -> float:
    """From 1 at the peak (progress 0) to 0 at the end of the run (progress 1, and after)."""
    progress = min(1.0, progress)
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise InvalidArgumentError(f"unknown learning-rate schedule {kind!r}; choose linear or cosine")


@dataclass(frozen=True)
class Schedule:
    """How long a run lasts and the learning-rate factor at each of its steps: `max_steps` optimizer steps,
    or a budget of `seconds` of training time (exactly one of the two is set)."""

    kind: str = "linear"
    max_steps: int | None = None
    warmup_steps: int = 0
    seconds: float | None = None
    warmup_fraction: float = 0.0

    def factor(self, step: int, seconds: float) -> float:
        """The factor of optimizer step `step` (0-based), which starts when `seconds` of training are spent."""
        if self.seconds is None:
            return lr_factor(step, warmup_steps=self.warmup_steps, max_steps=self.max_steps, kind=self.kind)
        return time_lr_factor(seconds / self.seconds, warmup_fraction=self.warmup_fraction, kind=self.kind)

    def ended(self, steps: int, seconds: float) -> bool:
        """Whether a run that has done `steps` steps in `seconds` of training is over."""
        return steps >= self.max_steps if self.seconds is None else seconds >= self.seconds

    @property
    def limit(self) -> str:
        """The setting that ends the run, as the config names it."""
        return "max_steps" if self.seconds is None else "max_minutes"
