"""Which model each task trains, and loading one for a task from any BERT directory.

A directory may hold no task head (a pre-training run's final/, a Hugging Face encoder such as
all-MiniLM-L6-v2): fine-tuning then creates the task's head, said once by the checkpoint loader's "newly
initialised" line. It may hold the head of the same task (an earlier fine-tuned run, a Hugging Face fine-tuned
checkpoint): that head is trained further, if its labels (and pooling, when one is asked for) are the run's.
Or it may hold the head of another task, or of other labels, or on the other pooling: an error, unless
`reinit_head` replaces it with a fresh one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.checkpoint.load import load_weights
from bertkit.config import BertConfig
from bertkit.errors import CheckpointError
from bertkit.model import (
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertPreTrainedModel,
)

logger = logging.getLogger(__name__)

HEAD_CLASSES: dict[str, type[BertPreTrainedModel]] = {
    "classify": BertForSequenceClassification,
    "regress": BertForSequenceClassification,
    "choice": BertForMultipleChoice,
    "tag": BertForTokenClassification,
    "qa": BertForQuestionAnswering,
}
# Heads on one vector per sequence: [CLS]'s pooled one, or the tokens' mean (BertConfig.classifier_pooling).
POOLED_TASKS = ("classify", "regress", "choice")
_TASK_OF_ARCHITECTURE = {
    "BertForMultipleChoice": "choice",
    "BertForTokenClassification": "tag",
    "BertForQuestionAnswering": "qa",
}


def head_task(checkpoint: str | Path | Checkpoint) -> str | None:
    """The task whose head a checkpoint holds (from config.json's `architectures`, else its weights' names);
    None for a checkpoint without a task head. A sequence classifier with one output is `regress`."""
    checkpoint = Checkpoint.of(checkpoint)
    architecture = checkpoint.architecture
    if architecture == "BertForSequenceClassification":
        config = checkpoint.config
        return "regress" if config.num_labels == 1 or config.problem_type == "regression" else "classify"
    return _TASK_OF_ARCHITECTURE.get(architecture)


def head_settings(task: str, labels: list[str] | None) -> dict:
    """The config fields of a task's head: its label names (classify, tag), one output (regress)."""
    if task == "regress":
        return dict(num_labels=1, id2label=None, label2id=None, problem_type="regression")
    if task == "qa":
        return dict(num_labels=2, id2label=None, label2id=None)
    if labels is None:  # choice: one score per option, whatever the labels
        return {}
    settings = dict(
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    if task == "classify":
        settings["problem_type"] = "single_label_classification"
    return settings


def stored_label_names(config: BertConfig) -> list[str] | None:
    """A model's label names as its config stores them, in id order; None when they are Hugging Face's generated
    LABEL_i (bertkit.tasks.label_names gives a task file's)."""
    return None if config.id2label is None else [config.id2label[i] for i in range(config.num_labels)]


def model_labels(config: BertConfig) -> list[str]:
    """The labels a model predicts, in id order: its names, or for generated LABEL_i names the ids themselves
    ("0", "1", ...), which is what GLUE-style files with integer labels hold."""
    return stored_label_names(config) or [str(i) for i in range(config.num_labels)]


def load_for_finetuning(
    directory: str | Path | Checkpoint,
    task: str,
    labels: list[str] | None,
    reinit_head: bool = False,
    pooling: str | None = None,
    revision: str | None = None,
) -> BertPreTrainedModel:
    """The task's model from any BERT checkpoint (a directory, a Hub id at `revision`, or a Checkpoint), in
    training mode: its encoder, and its head when the checkpoint has this task's head for these `labels` (the
    training file's names; None for regress, choice, qa) on this `pooling` (classify, regress, choice: "cls" or
    "mean", BertConfig.classifier_pooling; None: the checkpoint's). A head the loader creates is initialised
    from torch's global generator: seed it first."""
    with opened(directory, revision) as checkpoint:
        settings = head_settings(task, labels)
        if pooling is not None:
            settings["classifier_pooling"] = pooling
        model_class = HEAD_CLASSES[task]
        conflict = _conflict(checkpoint, head_task(checkpoint), task, labels, pooling)
        if conflict is None:
            return model_class.from_pretrained(checkpoint, **settings).train()
        if not reinit_head:
            raise CheckpointError(f"{conflict}; pass `reinit_head` to train a new {task} head in its place")
        logger.warning("%s: %s; a new %s head replaces it (`reinit_head`)", checkpoint.path, conflict, task)
        model = model_class(checkpoint.config_with(**settings))  # fresh head; the encoder's weights come next
        load_weights(model.bert, checkpoint.weights, source=checkpoint.path)
        return model.train()


def _conflict(
    checkpoint: Checkpoint, found: str | None, task: str, labels: list[str] | None, pooling: str | None
) -> str | None:
    """Why the checkpoint's head cannot be trained further as `task` with `labels` and `pooling`; None when
    it can."""
    if found is None:
        return None
    directory, config = checkpoint.path, checkpoint.config
    if found != task:
        return f"{directory} holds a `{found}` head, not a `{task}` one"
    if pooling is not None and task in POOLED_TASKS and config.classifier_pooling != pooling:
        return (
            f"{directory} has a `{task}` head on `{config.classifier_pooling}` pooling, not `{pooling}` "
            "(BertConfig.classifier_pooling)"
        )
    if labels is None:
        return None
    theirs = stored_label_names(config)
    if theirs == labels or (theirs is None and config.num_labels == len(labels)):
        return None  # generated names (LABEL_i) take the training file's names in the same order
    shown = theirs if theirs is not None else f"{config.num_labels} unnamed labels"
    return f"{directory} has a `{task}` head for the labels {shown}, the training file has {labels}"


def load_for_task(
    directory: str | Path | Checkpoint, task: str, revision: str | None = None
) -> BertPreTrainedModel:
    """A fine-tuned model for evaluation or prediction (eval mode): the checkpoint (a directory, a Hub id at
    `revision`, or a Checkpoint) must hold `task`'s head."""
    with opened(directory, revision) as checkpoint:
        found = head_task(checkpoint)
        if found != task:
            held = "no task head" if found is None else f"a `{found}` head"
            raise CheckpointError(
                f"{checkpoint.path} holds {held}, not a `{task}` one; fine-tune it first "
                f"(bertkit finetune --task {task} --model {checkpoint.path} ...) or pass the `task` it was "
                "trained for"
            )
        return HEAD_CLASSES[task].from_pretrained(checkpoint).eval()
