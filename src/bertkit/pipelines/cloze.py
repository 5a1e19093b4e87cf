"""The cloze task (fill in `[MASK]`s) and next-sentence scores: what a pre-trained BERT answers directly.

`FillMaskPipeline` and `NextSentencePipeline` are the `bertkit.pipeline("fill-mask" | "next-sentence",
model=DIR)` objects, batched over many texts; `fill_mask` is the first on a loaded model and one text, with
the same records, and `next_sentence_probability` scores one pair with a loaded model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from bertkit.checks import check_int
from bertkit.errors import InvalidArgumentError
from bertkit.export.runtime import OnnxModel
from bertkit.model import BertForMaskedLM, BertForNextSentencePrediction, BertPreTrainedModel
from bertkit.pipelines.base import Pipeline, as_text
from bertkit.tokenizer import WordPieceTokenizer

logger = logging.getLogger(__name__)


def target_ids(tokenizer: WordPieceTokenizer, targets: str | Sequence[str]) -> list[int]:
    """The vocabulary ids `targets` (one token or a list) stand for, as transformers' fill-mask finds them: a
    word that is not itself a vocabulary token stands for its first WordPiece (with a warning, as there);
    duplicates count once. A target with no token at all is an error here (transformers drops it)."""
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, Sequence) or not targets:
        raise InvalidArgumentError(
            f"`targets` must be a token or a non-empty list of tokens, got {targets!r:.60}"
        )
    ids: dict[int, None] = {}
    for i, target in enumerate(targets):
        if not isinstance(target, str):
            raise InvalidArgumentError(
                f"`targets` item {i} must be a string, got {type(target).__name__}: {target!r:.40}"
            )
        token_id = tokenizer.vocab.get(target)
        if token_id is None:
            pieces = tokenizer.tokenize(target)
            if not pieces:
                raise InvalidArgumentError(
                    f"`targets` item {i} ({target!r:.40}) holds no token; give a word or vocabulary token"
                )
            token_id = tokenizer.vocab[pieces[0]]
            logger.warning(
                "The specified target token `%s` does not exist in the model vocabulary. Replacing with `%s`.",
                target,
                pieces[0],
            )
        ids[token_id] = None
    return list(ids)


def top_tokens(
    model: BertPreTrainedModel,
    batch: dict[str, Any],
    mask_id: int,
    top_k: int,
    targets: list[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(row of each [MASK], probabilities (n_masks, k), token ids (n_masks, k)), masks in reading order.

    With `targets` (token ids), only those compete, each with its probability over the whole vocabulary,
    as transformers scores them (they need not sum to 1).
    Only the [MASK] positions go through the MLM head: projecting every position onto the vocabulary, as
    a plain forward pass does, costs more than the encoder for a base-size model (an ONNX export's graph
    scores every position: its rows at the masks are taken)."""
    where = batch["input_ids"] == mask_id  # (B, T)
    if isinstance(model, OnnxModel):
        logits = model(**batch).mlm_logits[where]  # (n_masks, V)
    else:
        hidden = model.bert(**batch).last_hidden_state  # (B, T, H)
        logits = model.cls.predictions(hidden[where])  # (n_masks, V)
    probabilities = logits.float().softmax(dim=-1)
    if targets is not None:
        chosen = torch.tensor(targets, device=probabilities.device)
        probabilities = probabilities[:, chosen]  # (n_masks, n_targets)
    scores, ids = probabilities.topk(min(top_k, probabilities.shape[-1]), dim=-1)
    return where.nonzero()[:, 0], scores, ids if targets is None else chosen[ids]


def fill_mask(
    model: BertPreTrainedModel,
    tokenizer: WordPieceTokenizer,
    text: str,
    top_k: int = 5,
    targets: str | Sequence[str] | None = None,
) -> list[list[dict[str, Any]]]:
    """The fill-mask pipeline (FillMaskPipeline) on a loaded model, for one text: for each `[MASK]`, left to
    right, its `top_k` records best first (`{"score", "token" (id), "token_str", "sequence"}`, as transformers),
    one list per [MASK] also when there is one. `targets`: as the pipeline's. The model must have an MLM head
    (BertForMaskedLM or BertForPreTraining)."""
    records = FillMaskPipeline(model, tokenizer=tokenizer)(text, top_k=top_k, targets=targets)
    return records if isinstance(records[0], list) else [records]


@torch.inference_mode()
def next_sentence_probability(
    model: BertPreTrainedModel, tokenizer: WordPieceTokenizer, first: str, second: str
) -> float:
    """The model's probability that `second` is the sentence that follows `first` (NSP class 0)."""
    batch = tokenizer([first], pairs=[second], padding=False, return_tensors="pt")
    nsp_logits = model(**batch).nsp_logits  # (1, 2)
    if nsp_logits is None:
        raise InvalidArgumentError(
            f"{type(model).__name__} has no next-sentence head; load BertForPreTraining"
        )
    return nsp_logits.float().softmax(dim=-1)[0, 0].item()


class FillMaskPipeline(Pipeline):
    """`fill-mask`: per text, the `top_k` predictions for its [MASK], as transformers' fill-mask pipeline:
    `{"score", "token" (id), "token_str", "sequence" (the text with the prediction in place)}`, best first;
    a text with several [MASK]s gets one such list per [MASK], left to right. `targets` (a token or a list)
    limits the predictions to those tokens (target_ids), and `top_k` to their number."""

    task = "fill-mask"
    heads = ("BertForMaskedLM", "BertForPreTraining")
    model_class = BertForMaskedLM
    defaults = {"top_k": 5, "targets": None}

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        top_k, targets = options["top_k"], options["targets"]
        check_int("`top_k`", top_k)
        targets = None if targets is None else target_ids(self.tokenizer, targets)
        texts = [as_text(f"text {i}", t) for i, t in enumerate(items)]
        encodings = self.encode(texts)
        mask_id = self.tokenizer.mask_token_id
        for i, e in enumerate(encodings):
            if mask_id not in e.ids:
                raise InvalidArgumentError(
                    f"text {i} has no [MASK] token to fill (within the first {self.max_length} tokens): "
                    f"{texts[i]!r:.80}"
                )
        results: list[Any] = [None] * len(texts)
        for rows, batch in self.batches(encodings):
            mask_rows, scores, ids = top_tokens(self.model, batch, mask_id, top_k, targets)
            per_row: dict[int, list] = {}
            for row, row_scores, row_ids in zip(
                mask_rows.tolist(), scores.tolist(), ids.tolist(), strict=True
            ):
                per_row.setdefault(row, []).append((row_scores, row_ids))
            for row, masks in per_row.items():
                results[rows[row]] = self._records(encodings[rows[row]].ids, masks)
        return results

    def _records(self, ids: list[int], masks: list[tuple[list[float], list[int]]]) -> list:
        """transformers' records: `sequence` leaves out special tokens, except with several [MASK]s, where
        the others must stay visible."""
        single = len(masks) == 1
        positions = [p for p, i in enumerate(ids) if i == self.tokenizer.mask_token_id]
        decode = self.tokenizer.decode
        out = []
        for position, (scores, predicted) in zip(positions, masks, strict=True):
            records = []
            for score, token in zip(scores, predicted, strict=True):
                filled = ids[:position] + [token] + ids[position + 1 :]
                records.append(
                    {
                        "score": score,
                        "token": token,
                        "token_str": decode([token], skip_special_tokens=False),
                        "sequence": decode(filled, skip_special_tokens=single),
                    }
                )
            out.append(records)
        return out[0] if single else out


class NextSentencePipeline(Pipeline):
    """`next-sentence`: for a (first, second) pair of texts, the probability that second follows first."""

    task = "next-sentence"
    heads = ("BertForPreTraining", "BertForNextSentencePrediction")
    model_class = BertForNextSentencePrediction

    def is_single(self, inputs: Any) -> bool:
        return isinstance(inputs, tuple | dict)

    def _run(self, items: list[Any], options: dict[str, Any]) -> list[float]:
        pairs = [pair_of(i, item) for i, item in enumerate(items)]
        encodings = self.encode(pairs)
        results: list[float] = [0.0] * len(pairs)
        for rows, batch in self.batches(encodings):
            probabilities = self.model(**batch).nsp_logits.float().softmax(dim=-1)[:, 0].tolist()
            for row, p in zip(rows, probabilities, strict=True):
                results[row] = p
        return results


def pair_of(i: int, item: Any) -> tuple[str, str]:
    """(text, pair) from a tuple or list of two texts, or transformers' {"text": ..., "text_pair": ...}."""
    if isinstance(item, dict) and set(item) == {"text", "text_pair"}:
        item = (item["text"], item["text_pair"])
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise InvalidArgumentError(
            f"input {i} must be a pair of texts, (text, pair) or {{'text': ..., 'text_pair': ...}}, "
            f"got {item!r:.80}"
        )
    return as_text(f"input {i}'s first text", item[0]), as_text(f"input {i}'s second text", item[1])
