"""How a task file is read, and the settings a fine-tuned model keeps of it.

`bertkit finetune --max-length 64` followed by `bertkit predict` must read inputs as training did, or the
predictions differ from what validation measured. So fine-tuning writes its task and reading options into the
model's config.json, under the key `bertkit_task` (transformers keeps an unknown config key as a plain
attribute and ignores it), and `evaluate`, `predict`, the pipelines and the server take them as defaults; an
option given explicitly still wins. Living in config.json, the settings travel with every save of the model:
the run's final/, each checkpoint, and a re-save by transformers.

The file's format is not kept: a model trained on a CSV file predicts on a Parquet one alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bertkit.checkpoint.checkpoint import TASK_SETTINGS_KEY
from bertkit.checks import check_choice, check_int
from bertkit.config import BertConfig
from bertkit.errors import CheckpointError, InvalidArgumentError
from bertkit.tasks.examples import TASKS, TaskData
from bertkit.tasks.readers import FORMATS, read_task_file, split_label_names

CONFIG_KEY = TASK_SETTINGS_KEY
MAX_LENGTH = 128  # tokens per sequence when neither the caller nor the model says
AS_TRAINED = "default: as fine-tuned, else"


def _option(help: str) -> Any:
    """A reading option, None (not given) by default; `help` is its command-line flag's (cli/flags.py)."""
    return dataclasses.field(default=None, metadata={"help": help})


@dataclass(frozen=True)
class ReadingOptions:
    """How a task file is read and encoded (see `bertkit.tasks.read_task_file`). None: not given, so the
    model's saved setting, else the usual default (the usual column names, MAX_LENGTH tokens)."""

    format: str | None = _option(
        f"{', '.join(dict.fromkeys(f for fs in FORMATS.values() for f in fs))} (default: from the extension)"
    )
    text_column: str | None = _option(f"the text column ({AS_TRAINED} the usual names)")
    pair_column: str | None = _option(f"the pair column ({AS_TRAINED} the usual names)")
    label_column: str | None = _option(f"the label column ({AS_TRAINED} the usual names)")
    # classify/tag: the names of integer labels 0, 1, ...
    label_names: tuple[str, ...] | None = _option(
        f"names of integer labels 0, 1, ..., as A,B,.. ({AS_TRAINED} the labels as they are)"
    )
    max_length: int | None = _option(f"tokens per sequence ({AS_TRAINED} {MAX_LENGTH})")
    doc_stride: int | None = _option(f"qa: tokens shared by windows ({AS_TRAINED} max-length/3)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "label_names", split_label_names(self.label_names))
        if self.max_length is not None:
            check_int("`max_length`", self.max_length, minimum=8)
        if self.doc_stride is not None:
            check_int("`doc_stride`", self.doc_stride, minimum=0)

    @property
    def length(self) -> int:
        """Tokens per sequence: `max_length`, or MAX_LENGTH when nobody said."""
        return self.max_length if self.max_length is not None else MAX_LENGTH

    def read(self, path: str | Path, task: str, require_labels: bool = True) -> TaskData:
        """`path` read as a `task` file with these options' format, columns and label names."""
        return read_task_file(
            path,
            task,
            format=self.format,
            text_column=self.text_column,
            pair_column=self.pair_column,
            label_column=self.label_column,
            label_names=self.label_names,
            require_labels=require_labels,
        )

    def under(self, saved: TaskSettings | None, labels: bool = True) -> ReadingOptions:
        """These options, each one not given taken from the settings a model was fine-tuned with. labels=False
        (prediction inputs) leaves the saved label column and names out: an unlabelled file need not have
        that column, and labels a prediction ignores must not stop it."""
        if saved is None:
            return self
        kept = (
            saved.reading
            if labels
            else dataclasses.replace(saved.reading, label_column=None, label_names=None)
        )
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return dataclasses.replace(kept, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class TaskSettings:
    """What a model was fine-tuned for and how its files were read: kept in its config.json, so that using
    the model later reads inputs the same way."""

    task: str
    reading: ReadingOptions  # format None: a file's format is the file's own

    @classmethod
    def of_run(cls, task: str, options: ReadingOptions, train: TaskData) -> TaskSettings:
        """The settings of a fine-tuning run: its options as used (the doc stride qa's windows had; the label
        names the training file's integer labels took)."""
        stride = None
        if task == "qa":
            stride = options.doc_stride if options.doc_stride is not None else options.length // 3
        reading = dataclasses.replace(
            options, format=None, max_length=options.length, doc_stride=stride, label_names=train.label_names
        )
        return cls(task, reading)

    def to_dict(self) -> dict[str, Any]:
        reading = dataclasses.asdict(self.reading)
        reading.pop("format")
        if reading["label_names"] is not None:
            reading["label_names"] = list(reading["label_names"])
        return {"task": self.task, **reading}

    @classmethod
    def from_dict(cls, data: object) -> TaskSettings:
        """Settings read back from config.json; anything malformed is a CheckpointError naming the key."""
        where = f"config.json `{CONFIG_KEY}`"
        if not isinstance(data, dict):
            raise CheckpointError(f"{where} must be an object, got {type(data).__name__}")
        fields = {f.name for f in dataclasses.fields(ReadingOptions)} - {"format"}
        unknown = sorted(set(data) - fields - {"task"})
        if unknown:
            raise CheckpointError(f"{where} has unknown key(s) {', '.join(unknown)}")
        try:
            check_choice(f"{where}.task", data.get("task"), TASKS)
            return cls(data["task"], ReadingOptions(**{k: v for k, v in data.items() if k != "task"}))
        except (InvalidArgumentError, TypeError) as err:
            raise CheckpointError(f"{where}: {err}") from None

    def save_in(self, config: BertConfig) -> None:
        """Keep these settings in `config`, written to config.json by every save of its model."""
        config.extra[CONFIG_KEY] = self.to_dict()


def saved_settings(config: BertConfig, tasks: Sequence[str] = TASKS) -> TaskSettings | None:
    """The settings a model was fine-tuned with, when it was fine-tuned for one of `tasks`; else None (a
    pre-trained model, a Hugging Face checkpoint, or one fine-tuned for another task)."""
    if CONFIG_KEY not in config.extra:
        return None
    settings = TaskSettings.from_dict(config.extra[CONFIG_KEY])
    return settings if settings.task in tasks else None
