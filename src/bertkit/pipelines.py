"""Inference on raw text: fill in `[MASK]`s (the cloze task) and score whether B follows A.

A pipeline is a model and its tokenizer, loaded from one Hugging Face-layout directory, in eval mode.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMaskedLM, BertPreTrainedModel
from bertkit.tokenizer import WordPieceTokenizer


def load_for_inference(
    directory: str | Path, model_class: type[BertPreTrainedModel] = BertForMaskedLM
) -> tuple[BertPreTrainedModel, WordPieceTokenizer]:
    """The model (eval mode) and the tokenizer saved together in `directory` (e.g. a run's `final/`)."""
    model = model_class.from_pretrained(directory).eval()
    return model, WordPieceTokenizer.from_pretrained(directory)


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
