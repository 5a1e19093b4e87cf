"""Question answering inputs: `[CLS] question [SEP] context-window [SEP]`, a long context split into windows
that overlap by `doc_stride` tokens, and the answer's character span mapped to token positions.

The windows are Hugging Face tokenizers' overflow for `truncation="only_second"` with `stride`: each holds
max_length - len(question) - 3 context tokens, the next starts that many minus `stride` tokens later, and the
last is the first to reach the context's end. Positions follow run_qa's `prepare_train_features`: the first
and last window token covering the answer's characters, or [CLS] (0) when the window does not hold all of it.
(run_qa's search can run past the window into [SEP] when the answer starts in the window's last token; here
it stays inside the context.) Offsets are kept for context tokens only (None elsewhere), as its
`prepare_validation_features` does, so a predicted span maps back to text.
"""

from bisect import bisect_right
from typing import Any

from bertkit.errors import InvalidArgumentError
from bertkit.tasks.examples import QAExample, TaskData
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.template import assemble

SPECIALS = 3  # [CLS] question [SEP] context [SEP]


def windows(n_question: int, n_context: int, max_length: int, stride: int) -> list[tuple[int, int]]:
    """(start, end) context-token ranges of each window, as tokenizers' `Encoding.truncate` cuts them."""
    if n_question + n_context + SPECIALS <= max_length:
        return [(0, n_context)]
    size = max_length - n_question - SPECIALS
    if size <= 0:
        raise InvalidArgumentError(
            f"the question has {n_question} tokens, leaving no room for the context in `max_length`={max_length}"
        )
    if stride >= size:
        raise InvalidArgumentError(
            f"`doc_stride`={stride} must be smaller than the {size} context tokens a window holds "
            f"(`max_length`={max_length} minus the question's {n_question} tokens and 3 special tokens)"
        )
    return spans(n_context, size, stride)


def spans(n_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
    """(start, end) ranges of `size` tokens over `n_tokens`, each starting `size - stride` after the one before
    (0 <= stride < size), the last the first to reach the end: tokenizers' overflowing windows."""
    out, start = [], 0
    while True:
        end = min(start + size, n_tokens)
        out.append((start, end))
        if end == n_tokens:
            return out
        start += size - stride


def answer_positions(
    offsets: list[tuple[int, int]], start: int, end: int, answer: tuple[int, int] | None
) -> tuple[int, int] | None:
    """Context-token indices (first, last) in [start, end) covering the answer's characters [a, b), or None
    when the window does not hold the whole answer."""
    if answer is None or start == end:
        return None
    a, b = answer
    if not (offsets[start][0] <= a and offsets[end - 1][1] >= b):
        return None
    starts = [s for s, _ in offsets[start:end]]
    first = start + bisect_right(starts, a) - 1  # the last token starting at or before the answer
    last = start + next(i for i, (_, e) in enumerate(offsets[start:end]) if e >= b)
    return first, last


def encode_qa(
    data: TaskData, tokenizer: WordPieceTokenizer, max_length: int, stride: int
) -> tuple[list[dict[str, Any]], list[int], list[list[tuple[int, int] | None]], int]:
    """Inputs, example index and offsets of every window of every question, and how many contexts needed more
    than one window. Each distinct context is tokenized once (SQuAD asks several questions per paragraph)."""
    examples: list[QAExample] = data.examples
    contexts = list(dict.fromkeys(e.context for e in examples))
    context_encodings = dict(
        zip(contexts, tokenizer.encode_batch(contexts, add_special_tokens=False), strict=True)
    )
    # run_qa strips the questions' leading whitespace, which only moves the question's own offsets.
    questions = tokenizer.tokenize_to_ids([e.question.lstrip() for e in examples])
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    inputs, example_index, all_offsets, split = [], [], [], 0
    for i, (example, question) in enumerate(zip(examples, questions, strict=True)):
        encoding = context_encodings[example.context]
        context_ids, offsets = encoding.ids, encoding.offsets
        try:
            spans = windows(len(question), len(context_ids), max_length, stride)
        except InvalidArgumentError as err:
            raise InvalidArgumentError(f"{data.where(example)} (id {example.id}): {err}") from None
        split += len(spans) > 1
        answer = None
        if example.answers:
            first = example.answers[0]
            answer = (first.start, first.start + len(first.text))
        head = len(question) + 2  # [CLS] question [SEP]
        for start, end in spans:
            ids, type_ids, _ = assemble(question, context_ids[start:end], cls, sep)
            feature: dict[str, Any] = {"input_ids": ids, "token_type_ids": type_ids}
            if data.labelled:  # a question without answers is unanswerable: [CLS], as run_qa
                found = answer_positions(offsets, start, end, answer)
                feature["start_positions"], feature["end_positions"] = (
                    (head + found[0] - start, head + found[1] - start) if found else (0, 0)
                )
            inputs.append(feature)
            example_index.append(i)
            all_offsets.append([None] * head + list(offsets[start:end]) + [None])
    return inputs, example_index, all_offsets, split
