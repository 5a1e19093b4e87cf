"""`evaluate` and `predict`: a fine-tuned model (a run's final/, or a Hugging Face fine-tuned checkpoint) over a
task file, giving the task's metrics or one prediction per example (`bertkit evaluate`, `bertkit predict`).

The task and the reading options default to those the model was fine-tuned with (settings.py), so a file is
read as training read it; what a caller gives wins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.config import BertConfig
from bertkit.errors import InvalidArgumentError
from bertkit.files import atomic_path
from bertkit.tasks.examples import TaskData
from bertkit.tasks.features import Features, encode
from bertkit.tasks.inference import default_device, run_model
from bertkit.tasks.models import head_task, load_for_task, model_labels
from bertkit.tasks.predictions import predictions, score
from bertkit.tasks.settings import ReadingOptions, saved_settings
from bertkit.tokenizer import WordPieceTokenizer


def evaluate(
    model: str | Path | Checkpoint,
    task: str | None,
    data: str | Path,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    revision: str | None = None,
    **reading: Any,
) -> dict[str, Any]:
    """The task's metrics of the fine-tuned `model` directory on the labelled file `data`: classify
    accuracy/macro_f1/mcc, regress pearson/spearman/mse, choice accuracy, tag precision/recall/f1/accuracy,
    qa exact/f1 (SQuAD v2: and the has/no-answer breakdown, best thresholds); plus `examples`.
    `model`: a directory, a Hub id at `revision`, or a Checkpoint.
    task None: the one the model was fine-tuned for. `reading`: ReadingOptions' fields (format, columns,
    label_names, max_length, doc_stride); those not given are the model's fine-tuning settings."""
    options = ReadingOptions(**reading)
    with opened(model, revision) as checkpoint:
        predicted, examples = _run(checkpoint, task, data, True, batch_size, device, options)
    return score(examples, predicted)


def predict(
    model: str | Path | Checkpoint,
    task: str | None,
    input: str | Path,
    output: str | Path | None = None,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    revision: str | None = None,
    **reading: Any,
) -> list[dict[str, Any]]:
    """One prediction record per example of `input`, in its order (labels in the file are not needed, and
    ignored); with `output`, also written there as JSON lines (atomically). Record shapes: predictions.py.
    model, revision, task and `reading` as for `evaluate`."""
    options = ReadingOptions(**reading)
    with opened(model, revision) as checkpoint:
        predicted, _ = _run(checkpoint, task, input, False, batch_size, device, options)
    if output is not None:
        with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for record in predicted.records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return predicted.records


def _run(
    checkpoint: Checkpoint,
    task: str | None,
    path: str | Path,
    labelled: bool,
    batch_size: int,
    device: str | torch.device | None,
    options: ReadingOptions,
):
    task, options = _task_and_options(checkpoint, task, options, labelled)
    model = load_for_task(checkpoint, task).to(
        torch.device(device) if device is not None else default_device()
    )
    tokenizer = checkpoint.tokenizer()
    data = options.read(path, task, require_labels=labelled)
    features = encode_for_model(data, tokenizer, model.config, options)
    outputs = run_model(model, features, tokenizer.pad_token_id, batch_size=batch_size)
    return predictions(data, features, outputs, model.config), data


def _task_and_options(
    checkpoint: Checkpoint, task: str | None, options: ReadingOptions, labelled: bool
) -> tuple[str, ReadingOptions]:
    """The task (given, else the one the model was fine-tuned for, else the one its head does) and the
    reading options, those not given taken from the model's fine-tuning settings for that task."""
    saved = saved_settings(checkpoint.config)
    if task is None:
        task = saved.task if saved is not None else head_task(checkpoint)
    if task is None:
        raise InvalidArgumentError(
            f"{checkpoint.path} holds no task head; pass the `task` and a fine-tuned model directory"
        )
    return task, options.under(saved if saved is not None and saved.task == task else None, labels=labelled)


def encode_for_model(
    data: TaskData, tokenizer: WordPieceTokenizer, config: BertConfig, options: ReadingOptions
) -> Features:
    """`data`'s features with the model's label ids (a label the model does not know is an error)."""
    labels = model_labels(config) if data.task in ("classify", "tag") else None
    return encode(
        data,
        tokenizer,
        max_length=options.length,
        doc_stride=options.doc_stride,
        label2id=None if labels is None else {name: i for i, name in enumerate(labels)},
    )
