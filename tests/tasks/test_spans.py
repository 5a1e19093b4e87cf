"""The QA span search against transformers' own functions (its document-QA pipeline keeps the removed QA
pipeline's `select_starts_ends`), on random logits."""

import numpy as np
import pytest
import torch

from bertkit import InvalidArgumentError
from bertkit.tasks.spans import MAX_ANSWER_LEN, Span, best_spans, span_probabilities

dqa = pytest.importorskip("transformers.pipelines.document_question_answering")


def window(seed: int, T: int = 40, question: int = 6, padding: int = 5):
    """Logits of a window [CLS] question [SEP] context [SEP] [PAD]..., and its context mask."""
    g = torch.Generator().manual_seed(seed)
    start, end = torch.randn(T, generator=g) * 3, torch.randn(T, generator=g) * 3
    context = torch.zeros(T, dtype=torch.bool)
    context[question + 2 : T - padding - 1] = True
    return start, end, context, T - padding


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("top_k", [1, 3, 10])
def test_spans_equal_transformers(seed, top_k):
    start, end, context, length = window(seed)
    p_mask = (~context).long().numpy()
    p_mask[0] = 0  # the pipeline keeps [CLS] unmasked
    attention = (torch.arange(len(start)) < length).long().numpy()
    starts, ends, scores, null = dqa.select_starts_ends(
        start[None].numpy(), end[None].numpy(), p_mask[None], attention[None], top_k=top_k,
        handle_impossible_answer=True, max_answer_len=MAX_ANSWER_LEN,
    )  # fmt: skip
    spans, null_span = best_spans(start, end, context, top_k=top_k)
    assert [(s.start, s.end) for s in spans] == list(zip(starts.tolist(), ends.tolist(), strict=True))
    np.testing.assert_allclose([s.score for s in spans], scores, rtol=1e-5, atol=1e-9)
    assert null_span.start == null_span.end == 0 and null_span.score == pytest.approx(null, rel=1e-5)
    assert all(s.logit == pytest.approx((start[s.start] + end[s.end]).item(), abs=1e-6) for s in spans)


def test_span_rules():
    start, end, context, _ = window(7)
    spans, _ = best_spans(start, end, context, top_k=10_000, max_answer_len=4)
    assert spans and all(context[s.start] and context[s.end] and 0 <= s.end - s.start < 4 for s in spans)
    assert len(spans) == len({(s.start, s.end) for s in spans})
    assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)
    # Within one window, the product of probabilities ranks spans as the sum of logits does.
    assert [s.logit for s in spans[:5]] == sorted((s.logit for s in spans[:5]), reverse=True)
    p_start, p_end = span_probabilities(start, end, context)
    assert p_start[~context][1:].sum() == 0 and p_start[0] > 0 and p_start.sum() == pytest.approx(1.0)


def test_null_answer_and_empty_context():
    T = 8
    start, end = torch.zeros(T), torch.zeros(T)
    start[0] = end[0] = 20.0  # a SQuAD-2 model sure there is no answer
    context = torch.zeros(T, dtype=torch.bool)
    context[4:7] = True
    spans, null = best_spans(start, end, context, top_k=2)
    assert null == Span(0, 0, pytest.approx(1.0), 40.0) and spans[0].score < 1e-8
    assert best_spans(start, end, torch.zeros(T, dtype=torch.bool))[0] == []


def test_bad_arguments():
    start, end, context, _ = window(0)
    with pytest.raises(InvalidArgumentError, match="`top_k` must be a positive integer"):
        best_spans(start, end, context, top_k=0)
    with pytest.raises(InvalidArgumentError, match="same shape"):
        best_spans(start[None], end[None], context[None])
