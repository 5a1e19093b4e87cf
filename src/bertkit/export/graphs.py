"""What an exported graph computes, per task: the bertkit class it runs, its inputs' dynamic axes and its outputs,
under the names `optimum`'s ORTModelFor... classes read (input_ids, attention_mask, token_type_ids ->
last_hidden_state, logits, start_logits / end_logits), so one ONNX file serves bertkit, optimum and
sentence-transformers alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from bertkit.errors import CheckpointError, InvalidArgumentError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TOKEN_AXES = ("batch_size", "sequence_length")
CHOICE_AXES = ("batch_size", "num_choices", "sequence_length")


@dataclass(frozen=True)
class Output:
    """One output of a graph: the ModelOutput field it fills, how many leading input axes it keeps (dynamic),
    and the config field its last axis must equal (None: no axis of its own)."""

    field: str
    axes: int
    size: str | None = None


@dataclass(frozen=True)
class Graph:
    task: str  # the pipeline task and optimum's task name: ORTModelFor<...> of it loads the file
    architecture: str  # the bertkit (and transformers) class it computes: config.json's `architectures`
    outputs: dict[str, Output]  # ONNX output name -> what it holds
    input_axes: tuple[str, ...] = TOKEN_AXES

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        """torch.onnx.export's dynamic_axes: every input axis, and each output's leading ones."""
        axes = {name: dict(enumerate(self.input_axes)) for name in INPUTS}
        for name, out in self.outputs.items():
            axes[name] = dict(enumerate(self.input_axes[: out.axes]))
        return axes


GRAPHS = {
    g.task: g
    for g in (
        Graph(
            "feature-extraction",
            "BertModel",
            {"last_hidden_state": Output("last_hidden_state", 2, "hidden_size")},
        ),
        Graph(
            "text-classification",
            "BertForSequenceClassification",
            {"logits": Output("logits", 1, "num_labels")},
        ),
        Graph(
            "token-classification",
            "BertForTokenClassification",
            {"logits": Output("logits", 2, "num_labels")},
        ),
        Graph(
            "question-answering",
            "BertForQuestionAnswering",
            {"start_logits": Output("start_logits", 2), "end_logits": Output("end_logits", 2)},
        ),
        Graph("fill-mask", "BertForMaskedLM", {"logits": Output("mlm_logits", 2, "vocab_size")}),
        Graph("multiple-choice", "BertForMultipleChoice", {"logits": Output("logits", 2)}, CHOICE_AXES),
    )
}
# A checkpoint's class -> the task its export computes by default. BertForPreTraining exports its MLM head:
# optimum has no next-sentence task to load the NSP head with.
TASK_OF = {g.architecture: g.task for g in GRAPHS.values()} | {"BertForPreTraining": "fill-mask"}
# What bertkit cannot export, and why; their encoder exports all the same (`task="feature-extraction"`).
NOT_EXPORTABLE = {
    "BertLMHeadModel": "a causal language model generates token by token from a key/value cache, which the "
    "exported graph does not carry (optimum's ORTModelForCausalLM needs past_key_values inputs and outputs)",
    "BertForNextSentencePrediction": "no onnxruntime class (optimum's ORTModelFor...) runs a next-sentence head",
}


def graph_for(architecture: str, task: str | None, where: str) -> Graph:
    """The graph to export of a checkpoint of `architecture`: its head's (task None), or the one `task` names,
    which must be that head's or the encoder's (feature-extraction, from any checkpoint)."""
    if task is not None and task not in GRAPHS:
        raise InvalidArgumentError(f"`task` must be one of {', '.join(GRAPHS)}, got {task!r}")
    if task == "feature-extraction":
        return GRAPHS[task]
    if architecture in NOT_EXPORTABLE:
        raise CheckpointError(
            f"{where}: a {architecture} cannot be exported to ONNX: {NOT_EXPORTABLE[architecture]}; "
            "export its encoder with task feature-extraction"
        )
    if architecture not in TASK_OF:
        raise CheckpointError(
            f"{where}: architecture {architecture} is not one bertkit exports ({', '.join(TASK_OF)})"
        )
    if task is not None and task != TASK_OF[architecture]:
        raise InvalidArgumentError(
            f"`task` {task!r} needs another head: {where} holds a {architecture}, which exports as "
            f"{TASK_OF[architecture]!r} (or feature-extraction, its encoder)"
        )
    return GRAPHS[TASK_OF[architecture]]
