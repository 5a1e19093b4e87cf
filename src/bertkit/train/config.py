"""Run settings from a TOML file and/or command-line flags: TrainConfig, what the training loop reads, and
PretrainConfig, a pre-training run (the loop's settings plus the objective, data and model)."""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from bertkit.checks import check_choice, check_int, check_probability
from bertkit.config import PRESETS
from bertkit.data.loader import check_data_settings
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import read_settings

OPTIMIZERS = ("adamw", "lamb")
SCHEDULES = ("linear", "cosine")
OBJECTIVES = ("mlm", "clm")


@dataclass
class TrainConfig:
    """What the training loop reads, whatever the objective: a run's optimisation, bookkeeping and hardware.
    A TOML file uses these names as keys; command-line flags are the same names with dashes."""

    command: ClassVar[str] = "train"  # the progress bar's and the log lines' label
    out: str = ""

    # The batch: per process and per micro-batch; the global batch is batch_size x grad_accum x processes.
    batch_size: int = 32
    grad_accum: int = 1

    # Optimisation: BERT's recipe (AdamW, lr 1e-4, warm-up then linear decay to zero, weight decay 0.01).
    optimizer: str = "adamw"
    lr: float = 1e-4
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-6
    schedule: str = "linear"
    warmup_steps: int = 100
    max_steps: int = 1000
    clip_norm: float = 1.0  # 0 turns clipping off

    # Bookkeeping: logging, held-out evaluation, checkpoints (every N optimizer steps).
    log_every: int = 10
    eval_every: int = 500  # 0 turns evaluation off
    eval_batches: int = 10  # held-out batches per process, the same ones at every evaluation
    save_every: int = 500
    keep: int = 3
    resume: bool = False
    seed: int = 0

    # Hardware: bf16 None = on where the GPU supports it, off on CPU; compile = torch.compile the model;
    # gradient checkpointing recomputes each block in backward (less memory, ~30% more time).
    device: str = "auto"
    bf16: bool | None = None
    compile: bool = False
    gradient_checkpointing: bool = False
    skip_nonfinite: bool = False  # skip an update whose loss or gradient is NaN/inf instead of stopping

    def __post_init__(self) -> None:
        if isinstance(self.out, os.PathLike):
            self.out = os.fspath(self.out)
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name])
        if not self.out:
            raise InvalidArgumentError("`out` is required")
        for name in (
            "batch_size",
            "grad_accum",
            "max_steps",
            "log_every",
            "eval_batches",
            "save_every",
            "keep",
        ):
            check_int(f"`{name}`", getattr(self, name))
        for name in ("warmup_steps", "eval_every"):
            check_int(f"`{name}`", getattr(self, name), minimum=0)
        check_choice("`optimizer`", self.optimizer, OPTIMIZERS)
        check_choice("`schedule`", self.schedule, SCHEDULES)
        if not self.lr > 0:
            raise InvalidArgumentError(f"`lr` must be > 0, got {self.lr!r}")
        for name in ("clip_norm", "weight_decay"):
            if not getattr(self, name) >= 0:
                raise InvalidArgumentError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        for name in ("beta1", "beta2"):
            check_probability(f"`{name}`", getattr(self, name))
        if self.warmup_steps > self.max_steps:
            raise InvalidArgumentError(
                f"`warmup_steps` ({self.warmup_steps}) exceeds `max_steps` ({self.max_steps})"
            )

    @classmethod
    def from_toml(cls, path: str | Path | None = None, **overrides: Any) -> Self:
        """Fields from the TOML file at `path` (flat keys, this class's field names), then `overrides` on top."""
        fields: dict[str, Any] = {}
        if path is not None:
            fields = read_settings(path)
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(fields) - known)
            if unknown:
                raise FileFormatError(
                    f"{path}: unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(sorted(known))}"
                )
        return cls(**(fields | overrides))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PretrainConfig(TrainConfig):
    """A pre-training run: the loop's settings (TrainConfig), and what it trains on and how."""

    command: ClassVar[str] = "pretrain"

    # What to learn: "mlm" = masked language model + next sentence prediction (BERT's), "clm" = causal
    # language model (each token predicted from the ones before it).
    objective: str = "mlm"

    # Where things are: the prepared data (`bertkit prepare`) and the tokenizer it was prepared with.
    data: str = ""
    tokenizer: str = ""

    # The model: a Google BERT size; dropout None keeps the preset's 0.1 (0 is what Cramming recommends).
    preset: str = "tiny"
    dropout: float | None = None

    # The data: for mlm, instances as Google's create_pretraining_data.py builds them, masked afresh every
    # epoch; for clm, each document a sequence (split into windows of seq_len), and the mlm settings unused.
    seq_len: int = 128
    mlm_probability: float = 0.15
    max_predictions_per_seq: int = 20
    short_seq_prob: float = 0.1
    whole_word_mask: bool = False
    num_workers: int = 1

    def __post_init__(self) -> None:
        for name in ("data", "tokenizer"):
            if isinstance(getattr(self, name), os.PathLike):
                setattr(self, name, os.fspath(getattr(self, name)))
        super().__post_init__()
        for name in ("data", "tokenizer"):
            if not getattr(self, name):
                raise InvalidArgumentError(f"`{name}` is required")
        check_int("`seq_len`", self.seq_len)
        check_int("`num_workers`", self.num_workers, minimum=0)
        check_data_settings(self.mlm_probability, self.max_predictions_per_seq, self.short_seq_prob)
        check_choice("`objective`", self.objective, OBJECTIVES)
        check_choice("`preset`", self.preset, tuple(PRESETS))
        if self.dropout is not None:
            check_probability("`dropout`", self.dropout)


def _check_type(name: str, value: Any, hint: Any) -> None:
    """TOML values arrive untyped: reject `lr = "fast"` here, with the key's name, not deep inside the loop."""
    allowed = typing.get_args(hint) or (hint,)  # `float | None` -> (float, NoneType)
    if float in allowed:
        allowed += (int,)  # `lr = 1` in TOML is an int
    if type(value) not in allowed:  # exact type: a bool is not an int here
        names = " or ".join("none" if t is type(None) else t.__name__ for t in allowed)
        raise InvalidArgumentError(f"`{name}` must be {names}, got {value!r}")
