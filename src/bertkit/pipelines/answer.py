"""`question-answering`: the answer to a question as a span of its context, as transformers' question-answering
pipeline gave it (removed in transformers 5): `{"answer", "score", "start", "end"}`, `start`/`end` character
positions in the context.

A context too long for one pass is read in overlapping windows, `[CLS] question [SEP] context[a:b] [SEP]`,
of at most `max_seq_len` tokens (default 384), each starting `doc_stride` tokens (default 128) before the
previous one ends, as tokenizers' overflowing tokens lay them out; a model `bertkit finetune` trained
reads the windows its training read (its `max_length` and `doc_stride`, kept in config.json). The span
search is `bertkit.tasks.spans`; an answer is widened to whole words (a span starting in `##ing` starts where
its word starts). Answers of all windows are ranked by score together. `handle_impossible_answer=True` (for SQuAD-2 models) adds the
empty answer `{"answer": "", "start": 0, "end": 0}`, scored by the [CLS] probabilities, to the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from bertkit.checks import check_int
from bertkit.constants import CONTINUATION
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForQuestionAnswering
from bertkit.pipelines.base import Pipeline, as_text
from bertkit.tasks.spans import MAX_ANSWER_LEN, best_spans
from bertkit.tasks.windows import windows
from bertkit.tokenizer.template import assemble

MAX_SEQ_LEN = 384  # transformers' defaults
DOC_STRIDE = 128


@dataclass
class Window:
    """One pass of the model over part of a context."""

    item: int  # which question
    ids: list[int]
    type_ids: list[int]
    first: int  # window position of the first context token
    context_start: int  # index of that token in the whole context's tokens
    length: int  # context tokens in the window


@dataclass
class Context:
    """A context's tokens: character offsets, and the token range of the word each token belongs to."""

    text: str
    offsets: list[tuple[int, int]]
    word_first: list[int]  # index of the first token of the token's word
    word_last: list[int]


def read_context(text: str, tokens: list[str], offsets: list[tuple[int, int]]) -> Context:
    """Words as tokenizers' BERT pre-tokenizer makes them: a `##` token continues the word before it."""
    first, starts = [], 0
    for i, token in enumerate(tokens):
        if not token.startswith(CONTINUATION):
            starts = i
        first.append(starts)
    last, ends = [0] * len(tokens), len(tokens) - 1
    for i in range(len(tokens) - 1, -1, -1):
        last[i] = ends
        if first[i] == i:
            ends = i - 1
    return Context(text, offsets, first, last)


def windows_of(
    item: int, question: list[int], context: list[int], max_seq_len: int, stride: int, cls: int, sep: int
) -> list[Window]:
    """The windows over `context`, laid out as fine-tuning lays them out (`bertkit.tasks.windows`)."""
    try:
        ranges = windows(len(question), len(context), max_seq_len, stride)
    except InvalidArgumentError as err:
        raise InvalidArgumentError(f"question {item}: {err}") from None
    out = []
    for start, end in ranges:
        ids, type_ids, _ = assemble(question, context[start:end], cls, sep)
        out.append(Window(item, ids, type_ids, len(question) + 2, start, end - start))
    return out


class QuestionAnsweringPipeline(Pipeline):
    """`question-answering`: call with `question=..., context=...` (two texts, or two lists of equal length),
    or with `{"question": ..., "context": ...}` records. One answer per question, or with `top_k` > 1 a list,
    best first. Options: top_k, max_answer_len, max_seq_len, doc_stride, handle_impossible_answer."""

    task = "question-answering"
    heads = ("BertForQuestionAnswering",)
    model_class = BertForQuestionAnswering
    finetuned_as = ("qa",)
    defaults = {
        "top_k": 1,
        "max_answer_len": MAX_ANSWER_LEN,
        "max_seq_len": None,
        "doc_stride": None,
        "handle_impossible_answer": False,
    }

    def __call__(
        self, inputs: Any = None, *, question: Any = None, context: Any = None, **options: Any
    ) -> Any:
        if inputs is None:
            if question is None or context is None:
                raise InvalidArgumentError("question-answering needs `question` and `context`")
            if isinstance(question, str) != isinstance(context, str):
                raise InvalidArgumentError("`question` and `context` must both be texts or both be lists")
            if isinstance(question, str):
                inputs = {"question": question, "context": context}
            else:
                if len(question) != len(context):
                    raise InvalidArgumentError(
                        f"`question` has {len(question)} texts but `context` has {len(context)}"
                    )
                inputs = [{"question": q, "context": c} for q, c in zip(question, context, strict=True)]
        return super().__call__(inputs, **options)

    def is_single(self, inputs: Any) -> bool:
        return isinstance(inputs, dict)

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        top_k, max_answer_len = options["top_k"], options["max_answer_len"]
        check_int("`top_k`", top_k)
        check_int("`max_answer_len`", max_answer_len)
        # A model bertkit fine-tuned reads windows as its training did (self.max_length is its max_length).
        trained = self.trained if options["max_seq_len"] is None else None
        max_seq_len = options["max_seq_len"] or (
            self.max_length if trained else min(MAX_SEQ_LEN, self.max_length)
        )
        check_int("`max_seq_len`", max_seq_len)
        if max_seq_len > self.model.config.max_position_embeddings:
            raise InvalidArgumentError(
                f"`max_seq_len` ({max_seq_len}) is more than the model's "
                f"{self.model.config.max_position_embeddings} positions"
            )
        stride = options["doc_stride"]
        if stride is None and trained is not None:  # None: training's windows, a third of max_length apart
            stride = trained.doc_stride if trained.doc_stride is not None else max_seq_len // 3
        if stride is None:
            stride = min(max_seq_len // 2, DOC_STRIDE)
        check_int("`doc_stride`", stride, minimum=0)

        contexts, windows = [], []
        for i, item in enumerate(items):
            question, context = self._record(i, item)
            q = self.tokenizer.encode(question, add_special_tokens=False)
            c = self.tokenizer.encode(context, add_special_tokens=False)
            if not c.ids:
                raise InvalidArgumentError(f"the context of question {i} holds no text: {context!r:.60}")
            contexts.append(read_context(context, c.tokens, c.offsets))
            windows += windows_of(
                i, q.ids, c.ids, max_seq_len, stride, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
            )

        logits: list[Any] = [None] * len(windows)
        for rows, batch in self.batches(windows):
            out = self.model(**batch)
            for row, start, end in zip(
                rows, out.start_logits.float().cpu(), out.end_logits.float().cpu(), strict=True
            ):
                logits[row] = (start, end)

        candidates: list[list[dict[str, Any]]] = [[] for _ in items]
        null_scores = [1.0e6] * len(items)  # transformers' "no null answer seen yet"
        for window, (start, end) in zip(windows, logits, strict=True):
            T = len(window.ids)
            mask = torch.zeros(T, dtype=torch.bool)
            mask[window.first : window.first + window.length] = True
            spans, null = best_spans(start[:T], end[:T], mask, top_k, max_answer_len)
            null_scores[window.item] = min(null_scores[window.item], null.score)
            context = contexts[window.item]
            for span in spans:
                s = context.word_first[span.start - window.first + window.context_start]
                e = context.word_last[span.end - window.first + window.context_start]
                a, b = context.offsets[s][0], context.offsets[e][1]
                candidates[window.item].append(
                    {"score": span.score, "start": a, "end": b, "answer": context.text[a:b]}
                )
        results = []
        for answers, null_score in zip(candidates, null_scores, strict=True):
            if options["handle_impossible_answer"]:
                answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
            answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
            results.append(answers[0] if top_k == 1 else answers)
        return results

    @staticmethod
    def _record(i: int, item: Any) -> tuple[str, str]:
        if not isinstance(item, dict) or set(item) != {"question", "context"}:
            raise InvalidArgumentError(
                f"input {i} must be {{'question': ..., 'context': ...}}, got {item!r:.80}"
            )
        if not isinstance(item["context"], str) or not item["context"].strip():
            raise InvalidArgumentError(
                f"the context of question {i} is empty; give the text in which to find the answer"
            )
        return as_text(f"question {i}", item["question"]), item["context"]
