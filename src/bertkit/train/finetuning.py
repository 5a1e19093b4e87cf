"""Fine-tuning objectives: a task's head (and its BERT) trained on a labelled file by the one training loop.

The objective reads the training file (and the validation file), names the labels, loads the task's model
from any BERT directory (tasks/models.py: a missing head is created, another task's head is an error unless
`reinit_head`), keeps the task and reading settings in the model's config (tasks/settings.py: `evaluate`,
`predict` and the pipelines then read inputs as training did), encodes the examples and hands the loop
length-grouped batches of them. Training figures are
sums, as every objective's: the loss per example (tag: per labelled token) and the accuracy of the argmax.
Validation at each epoch's end predicts every validation example (each process its share, gathered) and
scores the predictions with the task's metrics: Spearman, MCC, entity F1 and SQuAD's need all of them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bertkit.checkpoint.load import read_config
from bertkit.constants import IGNORE_INDEX
from bertkit.errors import TrainingError
from bertkit.model import BertPreTrainedModel, ModelOutput
from bertkit.tasks.examples import TaskData
from bertkit.tasks.features import Features
from bertkit.tasks.inference import run_model
from bertkit.tasks.models import load_for_finetuning
from bertkit.tasks.predict import encode_for_model
from bertkit.tasks.predictions import predictions, score
from bertkit.tasks.readers import label_names
from bertkit.tasks.settings import ReadingOptions, TaskSettings, saved_settings
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.config import FinetuneConfig
from bertkit.train.distributed import Distributed, gather_to_main
from bertkit.train.loop import train
from bertkit.train.objective import Batch, Objective, ratio, stack_counts
from bertkit.train.state import checkpoint_dirs
from bertkit.train.task_batches import feature_batches

COUNTS = ("loss", "correct", "units")  # units: examples, or labelled tokens for `tag`
UNSCORED = ("regress", "qa")  # no training accuracy: a number, a pair of positions


def finetune(config: FinetuneConfig | str | Path | None = None, /, **settings: Any) -> Path | None:
    """Fine-tune `task`'s head on `train` from the BERT directory `model`; returns RUN_DIR/final (None in
    torchrun's other processes). `config`: a FinetuneConfig, or a TOML file whose settings `settings` override;
    or no config and FinetuneConfig's fields as keywords:

        finetune(task="classify", model="runs/tang/final", train="train.csv", validation="dev.csv", out="runs/cls")
    """
    if isinstance(config, FinetuneConfig):
        cfg = dataclasses.replace(config, **settings)
    else:
        cfg = FinetuneConfig.from_toml(config, **settings)
    return train(cfg, partial(finetuning_objective, cfg))


def finetuning_objective(cfg: FinetuneConfig, ctx: Distributed) -> Objective:
    """The task's model, tokenizer, this process's share of the training batches, and the validation hook."""
    options = ReadingOptions(
        format=cfg.format,
        text_column=cfg.text_column,
        pair_column=cfg.pair_column,
        label_column=cfg.label_column,
        label_names=cfg.label_names,
        max_length=cfg.max_length,
        doc_stride=cfg.doc_stride,
    )
    with _quiet_unless(ctx.is_main):  # warnings (a new head, truncated texts) said once, not once per process
        train_data = options.read(cfg.train, cfg.task)
        validation = options.read(cfg.validation, cfg.task) if cfg.validation else None
        tokenizer = WordPieceTokenizer.from_pretrained(cfg.model)
        torch.manual_seed(cfg.seed)  # a new head gets the same weights in every process
        model = load_for_finetuning(
            cfg.model, cfg.task, label_names(train_data), cfg.reinit_head, cfg.pooling
        )
        # In the config, the settings go into every save of the model: checkpoints, final/, a resumed run's.
        task_settings = TaskSettings.of_run(cfg.task, options, train_data)
        if cfg.resume:
            _check_resumed_settings(Path(cfg.out), task_settings)
        task_settings.save_in(model.config)
        train_features = encode_for_model(train_data, tokenizer, model.config, options)
        validation_features = (
            encode_for_model(validation, tokenizer, model.config, options) if validation else None
        )
    batches = feature_batches(
        train_features,
        cfg.train,
        tokenizer.pad_token_id,
        num_workers=cfg.num_workers,
        grad_accum=cfg.grad_accum,
        group_by_length=cfg.group_by_length,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        rank=ctx.rank,
        world_size=ctx.world_size,
    )
    validate = (
        partial(_validate, validation, validation_features, tokenizer.pad_token_id, cfg.batch_size)
        if validation is not None
        else None
    )
    return Objective(
        model=model,
        tokenizer=tokenizer,
        train=batches,
        heldout=None,
        counts=COUNTS,
        measure=partial(_measure, cfg.task),
        metrics=partial(_metrics, cfg.task),
        steps_per_epoch=batches.maker.steps_per_epoch,
        validate=validate,
    )


def _check_resumed_settings(run_dir: Path, settings: TaskSettings) -> None:
    """A resumed run reads its files as the run it continues did (a different `max_length` would train the
    rest of the run, and export a model, unlike its first part); a TrainingError says which setting differs."""
    found = checkpoint_dirs(run_dir)
    saved = saved_settings(read_config(found[-1])) if found else None  # none: the loop says so
    if saved is None or saved == settings:
        return
    ours, theirs = settings.to_dict(), saved.to_dict()
    changed = ", ".join(f"`{k}` {theirs[k]!r} (now {ours[k]!r})" for k in ours if ours[k] != theirs[k])
    raise TrainingError(f"{found[-1]} was trained with {changed}; resume with the run's own settings")


@contextmanager
def _quiet_unless(speak: bool) -> Iterator[None]:
    """bertkit's warnings off in this block unless `speak` (torchrun's other processes repeat rank 0's)."""
    logger = logging.getLogger("bertkit")
    level = logger.level
    if not speak:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _measure(task: str, out: ModelOutput, batch: Batch) -> torch.Tensor:
    """COUNTS of one micro-batch: the loss times its units (the model's loss is their mean), correct argmaxes."""
    if task == "qa":
        units = batch["start_positions"].numel()
        return stack_counts(out.loss.double() * units, 0, units)
    labels = batch["labels"]
    if task == "regress":
        return stack_counts(out.loss.double() * labels.numel(), 0, labels.numel())
    predicted = out.logits.argmax(-1)
    if task == "tag":
        labelled = labels != IGNORE_INDEX
        units, correct = labelled.sum(), ((predicted == labels) & labelled).sum()
    else:
        units, correct = labels.numel(), (predicted == labels).sum()
    return stack_counts(out.loss.double() * units, correct, units)


def _metrics(task: str, totals: dict[str, float]) -> dict[str, float | None]:
    """loss per unit, and for classify/choice/tag the training accuracy (tag: over first sub-tokens)."""
    figures = {"loss": ratio(totals, "loss", "units")}
    if task not in UNSCORED:
        figures["accuracy"] = ratio(totals, "correct", "units")
    return figures


def _validate(
    data: TaskData,
    features: Features,
    pad_id: int,
    batch_size: int,
    model: BertPreTrainedModel,
    ctx: Distributed,
    autocast: torch.autocast,
) -> dict[str, float | None]:
    """The task's metrics on the validation file: each process predicts a contiguous share of the features,
    and every process puts the shares together in order and scores them."""
    share = np.array_split(np.arange(len(features)), ctx.world_size)[ctx.rank]
    outputs = run_model(
        model, features, pad_id, rows=share.tolist(), batch_size=batch_size, autocast=autocast
    )
    gathered = [o for part in gather_to_main(outputs, ctx) for o in part]
    return score(data, predictions(data, features, gathered, model.config))
