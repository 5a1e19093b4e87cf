"""The cloze task (fill in `[MASK]`s) and next-sentence scores: what a pre-trained BERT answers directly."""

from __future__ import annotations

import torch

from bertkit.errors import InvalidArgumentError
from bertkit.model import BertPreTrainedModel
from bertkit.tokenizer import WordPieceTokenizer


@torch.inference_mode()
def fill_mask(
    model: BertPreTrainedModel, tokenizer: WordPieceTokenizer, text: str, top_k: int = 5
) -> list[list[dict[str, float | str]]]:
    """For each `[MASK]` in `text`, left to right, the `top_k` most likely tokens, best first.

    Each prediction is `{"token": str, "score": probability}`; the model must have an MLM head
    (BertForMaskedLM or BertForPreTraining).
    """
    if top_k < 1:
        raise InvalidArgumentError(f"top_k must be at least 1, got {top_k}")
    batch = tokenizer([text], padding=False, return_tensors="pt")
    positions = (batch["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
    if len(positions) == 0:
        raise InvalidArgumentError(f"text has no [MASK] token to fill: {text!r}")
    logits = model(**batch).mlm_logits[0, positions]  # (n_masks, V)
    scores, ids = logits.float().softmax(dim=-1).topk(min(top_k, logits.shape[-1]), dim=-1)
    return [
        [
            {"token": token, "score": score}
            for token, score in zip(tokenizer.convert_ids_to_tokens(row_ids), row_scores, strict=True)
        ]
        for row_ids, row_scores in zip(ids.tolist(), scores.tolist(), strict=True)
    ]


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
