"""A checkpoint directory opened once: `Checkpoint`, the one description every loader takes.

A local directory or a Hugging Face Hub id (at a revision) is resolved, its config.json read and parsed, and
its architecture told, once; the weights are opened when first needed, and then once. Loaders (models,
pipelines, tasks, the server, the pictures, export, convert, info) take a name or a Checkpoint and ask it,
rather than each reading config.json again to learn what the directory holds.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from bertkit.checkpoint.files import (
    CONFIG_FILE,
    SAFETENSORS_FILE,
    TORCH_FILE,
    WeightReader,
    checkpoint_directory,
)
from bertkit.checkpoint.names import canonical_names, head_modules
from bertkit.config import BertConfig
from bertkit.errors import CheckpointError, FileFormatError, InvalidArgumentError
from bertkit.files import read_settings
from bertkit.tokenizer import WordPieceTokenizer

# The key of config.json under which fine-tuning keeps its task and reading options (bertkit.tasks.settings).
TASK_SETTINGS_KEY = "bertkit_task"
# The files a tokenizer may be read from (bertkit.tokenizer.vocab), as a checkpoint lists what it has.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")

# A checkpoint without `architectures` in config.json: its model class told by the heads its weights have.
ARCHITECTURE_BY_HEADS = {
    frozenset(): "BertModel",
    frozenset({"cls.predictions", "cls.seq_relationship"}): "BertForPreTraining",
    frozenset({"cls.predictions"}): "BertForMaskedLM",
    frozenset({"cls.seq_relationship"}): "BertForNextSentencePrediction",
    frozenset({"qa_outputs"}): "BertForQuestionAnswering",
}


def architecture_from(settings: dict[str, Any], stored_names: list[str], where: Path) -> str:
    """The Hugging Face class a checkpoint was saved from: its config.json's (`settings`) `architectures`,
    else told by the heads among its weights' names. `where`: the config.json, for the error."""
    listed = settings.get("architectures") or []
    if listed:
        return listed[0]
    heads = head_modules(list(canonical_names(stored_names)))
    if heads == {"cls.predictions"} and settings.get("is_decoder"):
        return "BertLMHeadModel"  # the MLM head's weights, scoring the next token of a causal model
    if heads not in ARCHITECTURE_BY_HEADS:
        raise CheckpointError(
            f"{where}: no 'architectures' entry, and the weights' heads ({', '.join(sorted(heads))}) "
            'fit several models; add the class name, e.g. "architectures": '
            '["BertForSequenceClassification"]'
        )
    return ARCHITECTURE_BY_HEADS[heads]


class Checkpoint:
    """A Hugging Face BERT directory, or a Hub id's snapshot at `revision` (bertkit.hub), opened once.

    path: the local directory. settings: its config.json as read; config: the same as a BertConfig.
    architecture: the class it was saved as. task_settings: what bertkit's fine-tuning kept of its task (None
    for others). tokenizer_files: the tokenizer's files it has; tokenizer(): the tokenizer, read once.
    weights: the WeightReader, opened on first use and then kept open until `close()` (or the end of a `with`
    block), so that telling the architecture and loading the model read the files once.
    """

    def __init__(self, name_or_path: str | os.PathLike, revision: str | None = None):
        self.revision = revision
        self.path = checkpoint_directory(name_or_path, revision)
        self.config_path = self.path / CONFIG_FILE
        if not self.config_path.is_file():
            raise CheckpointError(
                f"{self.path}: no {CONFIG_FILE}; a Hugging Face BERT directory holds {CONFIG_FILE} "
                f"and {SAFETENSORS_FILE} (or {TORCH_FILE})"
            )
        self.settings = read_settings(self.config_path)
        try:
            self.config = BertConfig.from_dict(self.settings)
        except (TypeError, InvalidArgumentError) as e:
            raise FileFormatError(f"{self.config_path}: {e}") from e
        self._reader: WeightReader | None = None
        self._tokenizer: WordPieceTokenizer | None = None

    @classmethod
    def of(cls, model: str | os.PathLike | Checkpoint, revision: str | None = None) -> Checkpoint:
        """`model` itself when it is a Checkpoint already, else the directory or Hub id opened."""
        if isinstance(model, Checkpoint):
            if revision is not None and revision != model.revision:
                raise InvalidArgumentError(
                    f"`revision` {revision!r}: the Checkpoint given was opened at "
                    f"{model.revision or 'its default revision'}; open it at the revision wanted"
                )
            return model
        if not isinstance(model, str | os.PathLike):
            raise InvalidArgumentError(
                f"`model` must be a checkpoint directory, a Hub id or a Checkpoint, got {type(model).__name__}"
            )
        return cls(model, revision)

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r})"

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the weight files (and of a pytorch_model.bin's tensors); using `weights` again reopens them."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def weights(self) -> WeightReader:
        """The weights' reader, opened on first use."""
        if self._reader is None:
            self._reader = WeightReader(self.path)
        return self._reader

    @cached_property
    def architecture(self) -> str:
        """The class the checkpoint was saved as: config.json's `architectures`, else told by its heads (which
        opens the weights, for their names)."""
        if self.settings.get("architectures"):
            return architecture_from(self.settings, [], self.config_path)
        return architecture_from(self.settings, self.weights.keys(), self.config_path)

    @property
    def task_settings(self) -> dict[str, Any] | None:
        """config.json's `bertkit_task` as stored (bertkit.tasks.settings reads it), or None."""
        return self.config.extra.get(TASK_SETTINGS_KEY)

    @property
    def tokenizer_files(self) -> list[str]:
        """The tokenizer files the directory holds, of TOKENIZER_FILES."""
        return [name for name in TOKENIZER_FILES if (self.path / name).is_file()]

    def tokenizer(self) -> WordPieceTokenizer:
        """The tokenizer saved with the model, read on first use."""
        if self._tokenizer is None:
            self._tokenizer = WordPieceTokenizer.from_pretrained(self.path)
        return self._tokenizer

    def config_with(self, **overrides: Any) -> BertConfig:
        """A copy of the config for a model of its own, with `overrides` (e.g. num_labels=3) applied."""
        config = copy.deepcopy(self.config)
        if not overrides:
            return config
        if (
            overrides.get("num_labels", config.num_labels) != config.num_labels
            and "id2label" not in overrides
        ):
            overrides |= {
                "id2label": None,
                "label2id": None,
            }  # a new label count replaces the stored label names
        try:
            return dataclasses.replace(config, **overrides)
        except TypeError as e:
            raise InvalidArgumentError(f"from_pretrained: {e} (overrides must be BertConfig fields)") from e


@contextmanager
def opened(model: str | os.PathLike | Checkpoint, revision: str | None = None) -> Iterator[Checkpoint]:
    """The Checkpoint of `model` for the block: one opened here is closed at its end; one given stays open,
    its owner's to close."""
    checkpoint = Checkpoint.of(model, revision)
    try:
        yield checkpoint
    finally:
        if checkpoint is not model:
            checkpoint.close()
