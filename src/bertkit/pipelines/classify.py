"""Labels for whole texts: `text-classification` (a text or a pair of texts) and `multiple-choice`."""

from __future__ import annotations

from typing import Any

import torch

from bertkit.checks import check_choice, check_int
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMultipleChoice, BertForSequenceClassification
from bertkit.pipelines.base import Pipeline, as_text, tensor_batch
from bertkit.pipelines.cloze import pair_of

FUNCTIONS = ("default", "softmax", "sigmoid", "none")
_ALL = object()  # top_k not given: transformers' one-best record, not a list


def class_scores(logits: torch.Tensor, function: str, config) -> torch.Tensor:
    """Scores from logits (B, C) as transformers' text-classification pipeline picks them: none for
    regression, sigmoid for multi-label or a single label, softmax otherwise (or as `function` says)."""
    if function == "default":
        if config.problem_type == "regression":
            function = "none"
        elif config.problem_type == "multi_label_classification" or config.num_labels == 1:
            function = "sigmoid"
        else:
            function = "softmax"
    logits = logits.float()
    if function == "softmax":
        return logits.softmax(dim=-1)
    return logits.sigmoid() if function == "sigmoid" else logits


class TextClassificationPipeline(Pipeline):
    """`text-classification`: `{"label", "score"}` of the best label per input; with `top_k` a list of them,
    best first (`top_k=None`: every label). An input is a text, a (text, pair) tuple or transformers'
    `{"text": ..., "text_pair": ...}`. `function_to_apply`: default, softmax, sigmoid or none."""

    task = "text-classification"
    heads = ("BertForSequenceClassification",)
    model_class = BertForSequenceClassification
    finetuned_as = ("classify", "regress")
    defaults = {"top_k": _ALL, "function_to_apply": "default"}

    def is_single(self, inputs: Any) -> bool:
        return isinstance(inputs, str | tuple | dict)

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        top_k, function = options["top_k"], options["function_to_apply"]
        check_choice("`function_to_apply`", function, FUNCTIONS)
        if top_k is not _ALL and top_k is not None:
            check_int("`top_k`", top_k)
        inputs = [
            as_text(f"text {i}", item) if isinstance(item, str) else pair_of(i, item)
            for i, item in enumerate(items)
        ]
        labels = self.model.config.id2label or {}
        names = [labels.get(i, f"LABEL_{i}") for i in range(self.model.config.num_labels)]
        results: list[Any] = [None] * len(inputs)
        for rows, batch in self.batches(self.encode(inputs)):
            # cls_only: the classifier reads [CLS] alone, so the last layer skips the other positions' work.
            logits = self.model(**batch, cls_only=True).logits  # (B, num_labels)
            scores = class_scores(logits, function, self.model.config)
            if top_k is _ALL:
                best, index = scores.max(dim=-1)
                for row, s, i in zip(rows, best.tolist(), index.tolist(), strict=True):
                    results[row] = {"label": names[i], "score": s}
                continue
            k = scores.shape[-1] if top_k is None else min(top_k, scores.shape[-1])
            # A stable sort, as transformers' list.sort: equal scores keep the label order.
            ordered, index = scores.sort(dim=-1, descending=True, stable=True)
            for row, s, i in zip(rows, ordered[:, :k].tolist(), index[:, :k].tolist(), strict=True):
                results[row] = [{"label": names[j], "score": v} for j, v in zip(i, s, strict=True)]
        return results


class MultipleChoicePipeline(Pipeline):
    """`multiple-choice`: for a text and its candidate endings, `{"choice": index of the best, "scores": the
    softmax over the candidates}`. An input is `(text, [choice, ...])` or `{"text": ..., "choices": [...]}`;
    each candidate is read as the pair `[CLS] text [SEP] choice [SEP]`, as SWAG-style models are trained."""

    task = "multiple-choice"
    heads = ("BertForMultipleChoice",)
    model_class = BertForMultipleChoice
    finetuned_as = ("choice",)

    def is_single(self, inputs: Any) -> bool:
        return isinstance(inputs, tuple | dict)

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[dict[str, Any]]:
        questions = [self._question(i, item) for i, item in enumerate(items)]
        results: list[dict[str, Any]] = []
        # Questions with the same number of choices could share a batch; one question per pass keeps the
        # (questions, choices, T) shape simple, and a question's choices already make a batch.
        for text, choices in questions:
            encodings = self.encode([(text, c) for c in choices])
            batch = tensor_batch(encodings, self.tokenizer.pad_token_id, self.device)
            flat = {k: None if v is None else v[None] for k, v in batch.items()}  # (1, C, T)
            scores = self.model(**flat, cls_only=True).logits.float().softmax(dim=-1)[0]
            results.append({"choice": int(scores.argmax()), "scores": scores.tolist()})
        return results

    @staticmethod
    def _question(i: int, item: Any) -> tuple[str, list[str]]:
        if isinstance(item, dict) and set(item) == {"text", "choices"}:
            item = (item["text"], item["choices"])
        if not isinstance(item, tuple | list) or len(item) != 2 or not isinstance(item[1], list | tuple):
            raise InvalidArgumentError(
                f"input {i} must be (text, [choice, ...]) or {{'text': ..., 'choices': [...]}}, got {item!r:.80}"
            )
        text, choices = item
        if len(choices) < 2:
            raise InvalidArgumentError(f"input {i} has {len(choices)} choices; give at least two")
        return as_text(f"input {i}'s text", text), [
            as_text(f"input {i}'s choice {j}", c) for j, c in enumerate(choices)
        ]
