"""What the training loop trains: an objective gives the model, its batches and its metrics; the loop
(loop.py) does the rest: optimisation, accumulation, precision, checkpoints, resume, distribution, logging.

The loss is the model's: `model(**batch).loss`, which every bertkit model computes when the batch holds its
labels. Metrics are sums: each micro-batch gives a vector of counts (`measure`, in the order `counts` names
them), the loop adds the vectors over micro-batches, steps and processes (one all-reduce) and `metrics` turns
the totals into figures. So a figure is the same however batches and processes divide the data: a loss is
summed per token and divided once, not averaged per batch. Task metrics that sums cannot give (a rank
correlation, an entity F1) come from `validate`, which sees every prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import torch

from bertkit.model import BertPreTrainedModel, ModelOutput
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.distributed import Distributed

Batch = dict[str, torch.Tensor]
Validate = Callable[[BertPreTrainedModel, Distributed, torch.autocast], dict[str, float | None]]


class TrainingBatches(Protocol):
    """Endless batches, resumable from a saved position (`bertkit.data.epochs.EpochBatches` is one)."""

    def __iter__(self) -> Iterator[Batch]: ...
    def state_dict(self) -> dict[str, int]: ...
    def load_state_dict(self, state: dict[str, int]) -> None: ...


class EvaluationBatches(Protocol):
    """A fixed, finite set: the same batches at every call and as many in every process, each process its
    share of each global batch (a share may have 0 rows; the loop skips its forward pass, not the batch)."""

    def one_epoch(self) -> Iterator[Batch]: ...


@dataclass
class Objective:
    """A model and how to train and measure it. The loop wraps `model` (compile, DDP), saves it unwrapped in
    checkpoints and as RUN_DIR/final with `tokenizer`, and never looks inside a batch except to move it to
    the device and count its tokens (`attention_mask`)."""

    model: BertPreTrainedModel  # on the CPU, with the same weights in every process
    tokenizer: WordPieceTokenizer
    train: TrainingBatches
    heldout: EvaluationBatches | None  # None: no evaluation
    counts: tuple[str, ...]  # names of what `measure` counts, in its order
    # A micro-batch's counts: 1-D, float64, on its device.
    measure: Callable[[ModelOutput, Batch], torch.Tensor]
    metrics: Callable[[dict[str, float]], dict[str, float | None]]  # totals by name -> {"loss": ..., ...}
    # Optimizer steps in one pass over the training data (a fine-tuning epoch); None: no epochs, the run's
    # length is the config's. Epoch ends are evaluation and checkpoint points.
    steps_per_epoch: int | None = None
    # Figures that need every prediction at once (Spearman, F1, SQuAD's): validate(model, ctx, autocast) is
    # called in every process at each evaluation point, model in eval mode under inference, and returns the
    # figures of the whole validation set in every process (each predicts its share; they gather).
    validate: Validate | None = None
    # What is minimised, from the model's output; None: the model's own loss (`out.loss`).
    loss: Callable[[ModelOutput], torch.Tensor] | None = None


def stack_counts(*values: torch.Tensor | int) -> torch.Tensor:
    """One float64 vector of a micro-batch's counts (tensors on the batch's device, or Python numbers)."""
    device = next(v.device for v in values if isinstance(v, torch.Tensor))
    return torch.stack([torch.as_tensor(v, device=device).double() for v in values])


def ratio(totals: dict[str, float], numerator: str, denominator: str) -> float | None:
    """totals[numerator] / totals[denominator], or None when nothing was counted (every step skipped)."""
    return totals[numerator] / totals[denominator] if totals[denominator] > 0 else None
