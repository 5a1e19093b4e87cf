"""Extractive question answering: the best answer spans in one window of tokens, from the start and end logits.

The rule of transformers' question-answering pipeline (removed in transformers 5; the same functions,
`select_starts_ends` and `decode_spans`, live on in its document-question-answering pipeline), so that answers
and scores equal what it gave:

1. Only context tokens may start or end an answer; [CLS] (position 0) stays in the softmax, as the
   "no answer" candidate of SQuAD-2 models, but is never part of a span.
2. P(start) and P(end) are softmaxes over those positions (the others get logit -10000, i.e. probability 0).
3. A span (s, e) needs s <= e and at most `max_answer_len` tokens (e - s < max_answer_len); its score is
   P(start = s) x P(end = e). Within one window that ranks spans exactly as start_logit + end_logit does.
4. The null ("no answer") score is P(start = 0) x P(end = 0).

Scores are probabilities within one window: a long context split into several windows gets one softmax per
window, and transformers ranked the answers of all windows together by these scores. The logit sums are kept
too (`Span.logit`), the ranking the SQuAD evaluation scripts use across windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bertkit.checks import check_int
from bertkit.errors import InvalidArgumentError

MAX_ANSWER_LEN = 15  # transformers' default
MASKED_LOGIT = -10000.0  # what transformers gives positions outside the context: exp() of it is 0 in fp32


@dataclass(frozen=True)
class Span:
    """An answer candidate in one window: token positions `start`..`end` (both included)."""

    start: int
    end: int
    score: float  # P(start) x P(end): softmaxes over the window's context tokens and [CLS]
    logit: float  # start_logit + end_logit


def span_probabilities(
    start_logits: torch.Tensor, end_logits: torch.Tensor, context_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """P(start) and P(end), (T,) each: softmaxes over the context tokens and position 0 ([CLS])."""
    allowed = context_mask.clone()
    allowed[0] = True
    start = start_logits.float().masked_fill(~allowed, MASKED_LOGIT).softmax(dim=-1)
    end = end_logits.float().masked_fill(~allowed, MASKED_LOGIT).softmax(dim=-1)
    return start, end


def best_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    context_mask: torch.Tensor,
    top_k: int = 1,
    max_answer_len: int = MAX_ANSWER_LEN,
) -> tuple[list[Span], Span]:
    """The `top_k` best spans of one window, best first, and the null span (0, 0) with the "no answer" score.

    start_logits, end_logits: (T,) a QA model's outputs for one window ([CLS] question [SEP] context [SEP]).
    context_mask: (T,) bool, True at the tokens an answer may use: the context's tokens (not the question,
    not [SEP], not padding). Position 0 must be [CLS]; it is never part of a span.
    Fewer than `top_k` spans come back when the window has fewer valid spans.
    """
    check_int("`top_k`", top_k)
    check_int("`max_answer_len`", max_answer_len)
    if not (start_logits.shape == end_logits.shape == context_mask.shape) or start_logits.dim() != 1:
        raise InvalidArgumentError(
            "best_spans takes one window: start_logits, end_logits and context_mask of the same shape (T,), got "
            f"{tuple(start_logits.shape)}, {tuple(end_logits.shape)} and {tuple(context_mask.shape)}"
        )
    context = context_mask.bool().clone()
    context[0] = False
    p_start, p_end = span_probabilities(start_logits, end_logits, context)
    null = Span(0, 0, (p_start[0] * p_end[0]).item(), (start_logits[0] + end_logits[0]).item())

    T = context.shape[0]
    offsets = torch.arange(T)
    length = offsets[None, :] - offsets[:, None]  # (T, T): e - s
    valid = (length >= 0) & (length < max_answer_len) & context[:, None] & context[None, :]
    scores = (p_start[:, None] * p_end[None, :]).masked_fill(~valid, -1.0)  # (T, T), rows = starts
    k = min(top_k, int(valid.sum()))
    if k == 0:
        return [], null
    values, flat = scores.flatten().topk(k)
    starts, ends = (flat // T).tolist(), (flat % T).tolist()
    logits = (start_logits[starts] + end_logits[ends]).tolist()
    spans = [Span(*span) for span in zip(starts, ends, values.tolist(), logits, strict=True)]
    return spans, null
