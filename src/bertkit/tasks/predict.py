"""`evaluate` and `predict`: a fine-tuned model (a run's final/, or a Hugging Face fine-tuned checkpoint) over a
task file, giving the task's metrics or one prediction per example (`bertkit evaluate`, `bertkit predict`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bertkit.config import BertConfig
from bertkit.files import atomic_path
from bertkit.tasks.examples import TaskData
from bertkit.tasks.features import Features, encode
from bertkit.tasks.heads import load_for_task, model_labels
from bertkit.tasks.inference import default_device, run_model
from bertkit.tasks.predictions import predictions, score
from bertkit.tasks.readers import read_task_file
from bertkit.tokenizer import WordPieceTokenizer


@dataclass
class ReadingOptions:
    """How a task file is read and encoded, as for fine-tuning (see `bertkit.tasks.read_task_file`)."""

    format: str | None = None
    text_column: str | None = None
    pair_column: str | None = None
    label_column: str | None = None
    max_length: int = 128
    doc_stride: int | None = None  # qa; None: max_length // 3

    def read(self, path: str | Path, task: str, require_labels: bool = True) -> TaskData:
        """`path` read as a `task` file with these options' format and columns."""
        return read_task_file(
            path,
            task,
            format=self.format,
            text_column=self.text_column,
            pair_column=self.pair_column,
            label_column=self.label_column,
            require_labels=require_labels,
        )


def evaluate(
    model: str | Path,
    task: str,
    data: str | Path,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    **reading: Any,
) -> dict[str, Any]:
    """The task's metrics of the fine-tuned `model` directory on the labelled file `data`: classify
    accuracy/macro_f1/mcc, regress pearson/spearman/mse, choice accuracy, tag precision/recall/f1/accuracy,
    qa exact/f1 (SQuAD v2: and the has/no-answer breakdown, best thresholds); plus `examples`.
    `reading`: ReadingOptions' fields (format, columns, max_length, doc_stride)."""
    predicted, examples = _run(model, task, data, True, batch_size, device, ReadingOptions(**reading))
    return score(examples, predicted)


def predict(
    model: str | Path,
    task: str,
    input: str | Path,
    output: str | Path | None = None,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    **reading: Any,
) -> list[dict[str, Any]]:
    """One prediction record per example of `input`, in its order (labels in the file are not needed, and
    ignored); with `output`, also written there as JSON lines (atomically). Record shapes: predictions.py."""
    predicted, _ = _run(model, task, input, False, batch_size, device, ReadingOptions(**reading))
    if output is not None:
        with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for record in predicted.records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return predicted.records


def _run(
    model_dir: str | Path,
    task: str,
    path: str | Path,
    labelled: bool,
    batch_size: int,
    device: str | torch.device | None,
    options: ReadingOptions,
):
    model = load_for_task(model_dir, task).to(
        torch.device(device) if device is not None else default_device()
    )
    tokenizer = WordPieceTokenizer.from_pretrained(model_dir)
    data = options.read(path, task, require_labels=labelled)
    features = encode_for_model(data, tokenizer, model.config, options)
    outputs = run_model(model, features, tokenizer.pad_token_id, batch_size=batch_size)
    return predictions(data, features, outputs, model.config), data


def encode_for_model(
    data: TaskData, tokenizer: WordPieceTokenizer, config: BertConfig, options: ReadingOptions
) -> Features:
    """`data`'s features with the model's label ids (a label the model does not know is an error)."""
    labels = model_labels(config) if data.task in ("classify", "tag") else None
    return encode(
        data,
        tokenizer,
        max_length=options.max_length,
        doc_stride=options.doc_stride,
        label2id=None if labels is None else {name: i for i, name in enumerate(labels)},
    )
