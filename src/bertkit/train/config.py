"""Run settings from a TOML file and/or command-line flags: TrainConfig, what the training loop reads, and
PretrainConfig, a pre-training run (the loop's settings plus the objective, data and model)."""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from bertkit.checks import check_choice, check_int, check_probability
from bertkit.config import CLASSIFIER_POOLINGS, PRESETS
from bertkit.data.instances import NEGATIVES, PAIRS
from bertkit.data.loader import check_data_settings
from bertkit.errors import FileFormatError, InvalidArgumentError
from bertkit.files import read_settings
from bertkit.tasks.examples import TASKS
from bertkit.tasks.models import POOLED_TASKS
from bertkit.tasks.settings import MAX_LENGTH
from bertkit.train.schedule import Schedule

OPTIMIZERS = ("adamw", "lamb")
SCHEDULES = ("linear", "cosine")
REPORT_TO = ("none", "tensorboard")
DEFAULT_MAX_STEPS = 1000  # a pre-training run's length when neither `max_steps` nor `max_minutes` is given
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
    clip_norm: float = 1.0  # 0 turns clipping off

    # The run's length: `max_steps` optimizer steps (None: 1000 for pre-training, `epochs` for fine-tuning),
    # or `max_minutes` of training time, Cramming's budget: the schedule follows the fraction of it spent, and
    # evaluation and checkpoints do not count. One or the other. The warm-up is `warmup_steps`, or
    # `warmup_ratio` of the run (of its steps, or of its time budget).
    max_steps: int | None = None
    max_minutes: float | None = None
    warmup_steps: int | None = None
    warmup_ratio: float = 0.1

    # Bookkeeping: logging, held-out evaluation, checkpoints (every N optimizer steps).
    log_every: int = 10
    eval_every: int = 500  # 0 turns evaluation off
    eval_batches: int = 10  # held-out batches per process, the same ones at every evaluation
    save_every: int = 500
    keep: int = 3
    resume: bool = False
    seed: int = 0
    report_to: str | None = None  # "tensorboard": metrics.jsonl's figures also as RUN_DIR/tensorboard/ events

    # Hardware: bf16 None = on where the device multiplies bf16 fast (a GPU with bf16, a CPU with AMX or
    # AVX512-BF16: bertkit.precision), off elsewhere; compile = torch.compile the model;
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
        for name in ("batch_size", "grad_accum", "log_every", "eval_batches", "save_every", "keep"):
            check_int(f"`{name}`", getattr(self, name))
        check_int("`eval_every`", self.eval_every, minimum=0)
        check_choice("`optimizer`", self.optimizer, OPTIMIZERS)
        check_choice("`schedule`", self.schedule, SCHEDULES)
        if self.report_to is not None:
            check_choice("`report_to`", self.report_to, REPORT_TO)
        if not self.lr > 0:
            raise InvalidArgumentError(f"`lr` must be > 0, got {self.lr!r}")
        for name in ("clip_norm", "weight_decay"):
            if not getattr(self, name) >= 0:
                raise InvalidArgumentError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        for name in ("beta1", "beta2"):
            check_probability(f"`{name}`", getattr(self, name))
        self.run_schedule(steps_per_epoch=1)  # reject a bad length or warm-up now

    def run_schedule(self, steps_per_epoch: int | None) -> Schedule:
        """The run's length and learning-rate curve. The loop asks once the objective has said how many steps
        make one pass over its data (None: it does not count epochs)."""
        if not 0 <= self.warmup_ratio <= 1:
            raise InvalidArgumentError(f"`warmup_ratio` must be between 0 and 1, got {self.warmup_ratio!r}")
        if self.max_minutes is not None:
            if not (self.max_minutes > 0 and math.isfinite(self.max_minutes)):
                raise InvalidArgumentError(
                    f"`max_minutes` must be a positive number of minutes, got {self.max_minutes!r}"
                )
            if self.max_steps is not None:
                raise InvalidArgumentError(
                    f"`max_steps` ({self.max_steps}) and `max_minutes` ({self.max_minutes}) both end the run; "
                    "give one: `max_minutes` lays the learning-rate schedule over the time budget, "
                    "`max_steps` over steps"
                )
            if self.warmup_steps is not None:
                raise InvalidArgumentError(
                    "`warmup_steps` counts steps, but `max_minutes` lays the schedule over time: "
                    "give the warm-up as `warmup_ratio`, a fraction of the budget"
                )
            return Schedule(self.schedule, seconds=60.0 * self.max_minutes, warmup_fraction=self.warmup_ratio)
        if self.max_steps is not None:
            check_int("`max_steps`", self.max_steps)
        if self.warmup_steps is not None:
            check_int("`warmup_steps`", self.warmup_steps, minimum=0)
        max_steps = self.max_steps if self.max_steps is not None else self.default_max_steps(steps_per_epoch)
        warmup = self.warmup_steps
        if warmup is None:
            warmup = math.ceil(self.warmup_ratio * max_steps)  # rounded up, as Hugging Face's Trainer does
        if warmup > max_steps:
            raise InvalidArgumentError(f"`warmup_steps` ({warmup}) exceeds `max_steps` ({max_steps})")
        return Schedule(self.schedule, max_steps=max_steps, warmup_steps=warmup)

    def default_max_steps(self, steps_per_epoch: int | None) -> int:
        """The run's steps when neither `max_steps` nor `max_minutes` says."""
        return DEFAULT_MAX_STEPS

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

    # The model: a Google BERT size; dropout None keeps the preset's 0.1 (0 is what Cramming recommends);
    # initializer_range None keeps BERT's 0.02 (the std of the initial weights: a tiny model learns faster
    # from a larger one, docs/benchmarks.md "The demo: time to quality").
    preset: str = "tiny"
    dropout: float | None = None
    initializer_range: float | None = None

    # The data: for mlm, instances as Google's create_pretraining_data.py builds them, masked afresh every
    # epoch (`nsp_negatives` "matched": random segments B of the true ones' form; `nsp_pairs` "sentences":
    # every sentence with its next one instead of Google's chunks of sentences; bertkit.data.instances);
    # for clm, documents cut into rows of seq_len: laid end to end (`packing`), or each document starting its
    # own row (no packing: what a model that continues a text from its start needs), and the mlm settings
    # unused.
    seq_len: int = 128
    packing: bool = True
    mlm_probability: float = 0.15
    max_predictions_per_seq: int = 20
    short_seq_prob: float = 0.1
    nsp_negatives: str = "google"
    nsp_pairs: str = "segments"
    nsp_weight: float = 1.0  # loss = MLM loss + nsp_weight x NSP loss (1: BERT's sum)
    whole_word_mask: bool = False
    # mlm: batch instances of similar length, each batch padded to its longest (short sentence pairs)
    group_by_length: bool = False
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
        check_choice("`nsp_negatives`", self.nsp_negatives, NEGATIVES)
        check_choice("`nsp_pairs`", self.nsp_pairs, PAIRS)
        if not (math.isfinite(self.nsp_weight) and self.nsp_weight >= 0):
            raise InvalidArgumentError(f"`nsp_weight` must be a finite number >= 0, got {self.nsp_weight!r}")
        check_choice("`preset`", self.preset, tuple(PRESETS))
        if self.dropout is not None:
            check_probability("`dropout`", self.dropout)
        if self.initializer_range is not None and not 0 < self.initializer_range < 1:
            raise InvalidArgumentError(
                f"`initializer_range` must be a standard deviation in (0, 1), got {self.initializer_range!r}"
            )


@dataclass
class FinetuneConfig(TrainConfig):
    """A fine-tuning run: a task's head trained with its BERT on a labelled file, by the same loop.

    An epoch is one pass over the training file; the run lasts `epochs` of them unless `max_steps` (or
    `max_minutes`) says otherwise. Warm-up is `warmup_ratio` of the run unless `warmup_steps` is given.
    Validation (task metrics on the `validation` file) and a checkpoint come at the end of every epoch, and
    every `eval_every` / `save_every` steps. Defaults are Hugging Face's Trainer's (lr 5e-5, Adam eps 1e-8, 3 epochs)."""

    command: ClassVar[str] = "finetune"

    # What to learn and from what: a task (classify, regress, choice, tag, qa), any BERT directory (a
    # pre-training run's final/, a Hugging Face checkpoint, an earlier fine-tuned run), the labelled files.
    task: str = ""
    model: str = ""
    train: str = ""
    validation: str | None = None
    reinit_head: bool = False  # replace a head the checkpoint has for another task (or other labels)
    # classify, regress, choice: what the head classifies, "cls" (the pooler on [CLS], BERT's) or "mean" (the
    # tokens' mean, no pooler: better from a masked-LM-only model; docs/finetuning.md#pooling). None: the
    # checkpoint's own (a fine-tuned head's, else "cls"); another than its head's needs `reinit_head`.
    pooling: str | None = None

    # Reading the files: `format` (csv, tsv, jsonl, parquet, datasets, conll, json) is guessed from the path
    # when None; the columns default to the usual names (text/sentence/sentence1, text_pair/sentence2, label).
    format: str | None = None
    text_column: str | None = None
    pair_column: str | None = None
    label_column: str | None = None
    label_names: str | list | None = None  # classify/tag: names of integer labels 0, 1, ... ("neg,pos")
    max_length: int = MAX_LENGTH  # tokens per sequence: longer texts are truncated (qa: split into windows)
    doc_stride: int | None = None  # qa: tokens shared by consecutive windows of a context (max_length // 3)
    # Batches of similar lengths (Hugging Face's group_by_length), padded to their own longest feature.
    group_by_length: bool = True

    # The schedule in epochs; max_steps / warmup_steps, when given, override the counts derived from them.
    epochs: int = 3
    lr: float = 5e-5
    eps: float = 1e-8
    eval_every: int = 0
    num_workers: int = 0  # batch-making processes; features are in memory, so the loop's thread is enough

    def __post_init__(self) -> None:
        for name in ("model", "train", "validation"):
            if isinstance(getattr(self, name), os.PathLike):
                setattr(self, name, os.fspath(getattr(self, name)))
        super().__post_init__()
        for name in ("task", "model", "train"):
            if not getattr(self, name):
                raise InvalidArgumentError(f"`{name}` is required")
        check_choice("`task`", self.task, TASKS)
        if self.pooling is not None:
            check_choice("`pooling`", self.pooling, CLASSIFIER_POOLINGS)
            if self.task not in POOLED_TASKS:
                raise InvalidArgumentError(
                    f"`pooling` is for the {', '.join(POOLED_TASKS)} heads; a `{self.task}` head has none"
                )
        check_int("`epochs`", self.epochs)
        check_int("`max_length`", self.max_length, minimum=8)
        check_int("`num_workers`", self.num_workers, minimum=0)
        if self.doc_stride is not None:
            check_int("`doc_stride`", self.doc_stride, minimum=0)

    def default_max_steps(self, steps_per_epoch: int | None) -> int:
        """`epochs` x the steps of one pass."""
        return self.epochs * (steps_per_epoch or 1)


def _check_type(name: str, value: Any, hint: Any) -> None:
    """TOML values arrive untyped: reject `lr = "fast"` here, with the key's name, not deep inside the loop."""
    allowed = typing.get_args(hint) or (hint,)  # `float | None` -> (float, NoneType)
    if float in allowed:
        allowed += (int,)  # `lr = 1` in TOML is an int
    if type(value) not in allowed:  # exact type: a bool is not an int here
        names = " or ".join("none" if t is type(None) else t.__name__ for t in allowed)
        raise InvalidArgumentError(f"`{name}` must be {names}, got {value!r}")
