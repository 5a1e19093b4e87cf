"""Examples to model inputs, with Hugging Face's example scripts' conventions, and batches of them.

- classify/regress (run_glue): text (and pair) in BERT's template, `longest_first` truncation to `max_length`.
- choice (run_swag): one (context, option) pair per option, each truncated `longest_first`: (n_options, T).
- tag (run_ner): the words' sub-tokens, the tag's id on each word's FIRST sub-token and IGNORE_INDEX (-100) on
  the others and on [CLS]/[SEP]; `word_ids` keeps each token's word so predictions map back to one per word.
- qa (run_qa): windows.py's `doc_stride` windows over the context, answer spans through character offsets.

Inputs are Python lists (no padding); `collate` pads a batch to its longest feature, so batches of short
texts stay short. Texts are tokenized in one batched call per field, and truncation is reported once, as a
summary warning, rather than per example.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bertkit.checks import check_int
from bertkit.constants import IGNORE_INDEX
from bertkit.errors import InvalidArgumentError
from bertkit.tasks.examples import TaskData
from bertkit.tasks.readers import check_labels, label_names
from bertkit.tasks.settings import MAX_LENGTH
from bertkit.tasks.windows import encode_qa
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.encoding import truncate
from bertkit.tokenizer.template import assemble, pair_template

logger = logging.getLogger(__name__)


@dataclass
class Features:
    """Model inputs of a task file, one entry per feature (a QA example may give several windows).

    inputs[i] holds `input_ids` and `token_type_ids` (lists; for choice, one list per option) and, for
    labelled data (all of its features, or none), `labels` (classify/choice: an int; regress: a float; tag: one per token) or
    `start_positions`/`end_positions` (qa: token indices, 0 = [CLS] when the window holds no answer)."""

    task: str
    inputs: list[dict[str, Any]]
    example_index: list[int]  # the example of each feature, an index into TaskData.examples
    word_ids: list[list[int | None]] | None = None  # tag: each token's word (None: [CLS], [SEP])
    offsets: list[list[tuple[int, int] | None]] | None = (
        None  # qa: context character span per token, else None
    )
    truncated: int = 0  # examples cut to fit `max_length` (qa: contexts split into more than one window)

    def __len__(self) -> int:
        return len(self.inputs)

    def lengths(self) -> list[int]:
        """Tokens per feature (choice: its longest option), for batches grouped by length."""
        if self.task == "choice":
            return [max(map(len, f["input_ids"])) for f in self.inputs]
        return [len(f["input_ids"]) for f in self.inputs]


def encode(
    data: TaskData,
    tokenizer: WordPieceTokenizer,
    *,
    max_length: int = MAX_LENGTH,
    doc_stride: int | None = None,
    label2id: Mapping[str, int] | None = None,
) -> Features:
    """The model inputs of every example of `data`, in order.

    label2id maps classify labels / tag names to ids: the training file's (`label_names`) or the model's;
    None derives it from `data` itself (a training file). Labels it lacks are a FileFormatError naming file,
    line and label. doc_stride (qa): tokens shared by consecutive windows of a long context (Hugging Face's
    `stride`; default max_length // 3, which is run_qa's 128 at its 384 tokens)."""
    check_int("`max_length`", max_length, minimum=8)
    if data.task in ("classify", "tag") and data.labelled:
        label2id = label2id if label2id is not None else _ids(label_names(data))
        check_labels(data, label2id)
    if data.task == "qa":
        stride = max_length // 3 if doc_stride is None else doc_stride
        check_int("`doc_stride`", stride, minimum=0)
        inputs, example_index, offsets, split = encode_qa(data, tokenizer, max_length, stride)
        if split:
            logger.info(
                "%s: %d contexts longer than `max_length`=%d split into windows", data.path, split, max_length
            )
        return Features("qa", inputs, example_index, offsets=offsets, truncated=split)
    encoder = {
        "classify": _encode_texts,
        "regress": _encode_texts,
        "choice": _encode_choices,
        "tag": _encode_tags,
    }
    features = encoder[data.task](data, tokenizer, max_length, label2id)
    if features.truncated:
        logger.warning(
            "%s: %d of %d examples are longer than `max_length`=%d tokens and were truncated",
            data.path,
            features.truncated,
            len(data),
            max_length,
        )
    return features


def _ids(names: list[str] | None) -> dict[str, int]:
    return {name: i for i, name in enumerate(names or ())}


def _pairs(
    tokenizer: WordPieceTokenizer, texts: list[str], pairs: list[str] | None, max_length: int
) -> tuple[list[tuple[list[int], list[int]]], list[bool]]:
    """(input_ids, token_type_ids) of each text (and pair) truncated `longest_first`, and whether it was cut."""
    firsts = tokenizer.tokenize_to_ids(texts)
    seconds = tokenizer.tokenize_to_ids(pairs) if pairs is not None else [None] * len(texts)
    out, cut = [], []
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for first, second in zip(firsts, seconds, strict=True):
        n = pair_template(len(first), None if second is None else len(second)).length
        if n > max_length:
            first, second = truncate(first, second, max_length, "longest_first", True)
        ids, type_ids, _ = assemble(first, second, cls, sep)
        out.append((ids, type_ids))
        cut.append(n > max_length)
    return out, cut


def _encode_texts(
    data: TaskData, tokenizer: WordPieceTokenizer, max_length: int, label2id: Mapping[str, int] | None
) -> Features:
    examples = data.examples
    with_pairs = any(e.pair is not None for e in examples)
    if with_pairs and any(e.pair is None for e in examples):
        raise InvalidArgumentError(f"{data.path}: some examples have a pair and some do not")
    encoded, cut = _pairs(
        tokenizer, [e.text for e in examples], [e.pair for e in examples] if with_pairs else None, max_length
    )
    inputs = []
    for example, (ids, type_ids) in zip(examples, encoded, strict=True):
        feature: dict[str, Any] = {"input_ids": ids, "token_type_ids": type_ids}
        if data.labelled:
            feature["labels"] = float(example.label) if data.task == "regress" else label2id[example.label]
        inputs.append(feature)
    return Features(data.task, inputs, list(range(len(examples))), truncated=sum(cut))


def _encode_choices(
    data: TaskData, tokenizer: WordPieceTokenizer, max_length: int, label2id: Mapping[str, int] | None
) -> Features:
    examples = data.examples
    contexts = [e.context for e in examples for _ in e.choices]
    encoded, cut = _pairs(tokenizer, contexts, [c for e in examples for c in e.choices], max_length)
    inputs, truncated, at = [], 0, 0
    for example in examples:
        n = len(example.choices)
        options = encoded[at : at + n]
        truncated += any(cut[at : at + n])
        at += n
        feature: dict[str, Any] = {
            "input_ids": [o[0] for o in options],
            "token_type_ids": [o[1] for o in options],
        }
        if data.labelled:
            feature["labels"] = example.label
        inputs.append(feature)
    return Features("choice", inputs, list(range(len(examples))), truncated=truncated)


def _encode_tags(
    data: TaskData, tokenizer: WordPieceTokenizer, max_length: int, label2id: Mapping[str, int] | None
) -> Features:
    """Each word tokenized on its own, as `is_split_into_words=True` does (a word whose text normalises to
    nothing gets no token, as there)."""
    examples = data.examples
    pieces = iter(tokenizer.tokenize_to_ids([w for e in examples for w in e.tokens]))
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    inputs, all_word_ids, truncated = [], [], 0
    for example in examples:
        ids: list[int] = [cls]
        word_ids: list[int | None] = [None]
        labels = [IGNORE_INDEX]
        tag_ids = [label2id[t] for t in example.tags] if data.labelled else None
        for w in range(len(example.tokens)):
            word = next(pieces)
            ids += word
            word_ids += [w] * len(word)
            if tag_ids is not None and word:
                labels += [tag_ids[w]] + [IGNORE_INDEX] * (len(word) - 1)
        if len(ids) + 1 > max_length:
            truncated += 1
            del ids[max_length - 1 :], word_ids[max_length - 1 :], labels[max_length - 1 :]
        ids.append(sep)
        word_ids.append(None)
        labels.append(IGNORE_INDEX)
        feature: dict[str, Any] = {"input_ids": ids, "token_type_ids": [0] * len(ids)}
        if tag_ids is not None:
            feature["labels"] = labels
        inputs.append(feature)
        all_word_ids.append(word_ids)
    return Features("tag", inputs, list(range(len(examples))), word_ids=all_word_ids, truncated=truncated)


def word_values(word_ids: Sequence[int | None], token_values: Sequence, n_words: int, missing: Any) -> list:
    """One value per input word: the value at the word's first sub-token (where its label was trained), and
    `missing` for a word left without tokens (truncated away, or text that normalises to nothing)."""
    out = [missing] * n_words
    seen = set()
    for w, value in zip(word_ids, token_values, strict=False):
        if w is not None and w not in seen:
            seen.add(w)
            out[w] = value
    return out


def collate(inputs: Sequence[Mapping[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """A batch of features as tensors, padded on the right to its longest feature: input_ids with `pad_id`,
    token_type_ids with 0, attention_mask 1 on real tokens, token labels with IGNORE_INDEX. Choice features
    give (B, n_options, T); classify/choice labels are int64, regress labels float32."""
    if not inputs:
        raise InvalidArgumentError("collate needs at least one feature")
    first = inputs[0]["input_ids"]
    nested = bool(first) and isinstance(first[0], list)
    rows = [r for f in inputs for r in f["input_ids"]] if nested else [f["input_ids"] for f in inputs]
    width = max(map(len, rows))
    shape = (len(inputs), len(first), width) if nested else (len(inputs), width)
    batch = {
        "input_ids": _padded(rows, width, pad_id).reshape(shape),
        "token_type_ids": _padded(
            [r for f in inputs for r in f["token_type_ids"]]
            if nested
            else [f["token_type_ids"] for f in inputs],
            width,
            0,
        ).reshape(shape),
    }
    batch["attention_mask"] = _padded([[1] * len(r) for r in rows], width, 0).reshape(shape)
    if "labels" in _keys(inputs):
        labels = [f["labels"] for f in inputs]
        if isinstance(labels[0], list):
            batch["labels"] = _padded(labels, width, IGNORE_INDEX)
        else:
            batch["labels"] = np.array(labels, dtype=np.float32 if isinstance(labels[0], float) else np.int64)
    for key in ("start_positions", "end_positions"):
        if key in inputs[0]:
            batch[key] = np.array([f[key] for f in inputs], dtype=np.int64)
    return {k: torch.from_numpy(v) for k, v in batch.items()}


def _keys(inputs: Sequence[Mapping[str, Any]]) -> set[str]:
    """The keys every feature of the batch has (an unlabelled feature in a labelled batch is a bug)."""
    keys = set(inputs[0])
    if any(set(f) != keys for f in inputs):
        raise InvalidArgumentError("collate: the features of a batch must all be labelled or all unlabelled")
    return keys


def _padded(rows: Sequence[Sequence[int]], width: int, value: int) -> np.ndarray:
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
