"""Inference on raw text: fill in `[MASK]`s (the cloze task), score whether B follows A, and continue a text
with a causal language model (`recite`).

A pipeline is a model and its tokenizer, loaded from one Hugging Face-layout directory, in eval mode.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bertkit.checkpoint.load import read_config
from bertkit.constants import SPECIAL_TOKENS
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMaskedLM, BertLMHeadModel, BertPreTrainedModel
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.decode import decode_cjk

# A default long enough for the longest poem of the Tang corpus; recite caps it by the model's positions.
RECITE_MAX_NEW_TOKENS = 400
NO_CAUSAL_HEAD = "has no causal language-model head; train one with `bertkit pretrain --objective clm`"


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


def load_causal_lm(directory: str | Path) -> tuple[BertLMHeadModel, WordPieceTokenizer]:
    """load_for_inference for `recite`: the directory must hold a causal model (`is_decoder: true`)."""
    if not read_config(directory).causal:
        raise InvalidArgumentError(f"{directory} {NO_CAUSAL_HEAD} (its config.json is not is_decoder: true)")
    return load_for_inference(directory, BertLMHeadModel)


@torch.inference_mode()
def recite(
    model: BertPreTrainedModel,
    tokenizer: WordPieceTokenizer,
    prompt: str,
    max_new_tokens: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> str:
    """`prompt` and the model's continuation of it, up to the first [SEP] (which ends every training document,
    `[CLS] text [SEP]`). The model reads `[CLS] prompt` (no [SEP]: the text is not over).

    max_new_tokens: default 400, or as many as the model's positions leave. Greedy unless do_sample;
    temperature, top_k and top_p shape the sampled distribution; seed makes the draws reproducible.
    Chinese comes back without spaces between characters.
    """
    if not isinstance(model, BertLMHeadModel):
        raise InvalidArgumentError(f"{type(model).__name__} {NO_CAUSAL_HEAD}")
    if not do_sample and (temperature != 1.0 or top_k is not None or top_p is not None):
        raise InvalidArgumentError("`temperature`, `top_k` and `top_p` shape sampling; add `do_sample`")
    encoding = tokenizer.encode(prompt, add_special_tokens=False)
    if not encoding.ids:
        raise InvalidArgumentError(
            f"the prompt {prompt!r} holds no text; give the first characters of what to recite, e.g. 床前"
        )
    unknown = [
        prompt[a:b]
        for i, (a, b) in zip(encoding.ids, encoding.offsets, strict=True)
        if i == tokenizer.unk_token_id
    ]
    if unknown:
        raise InvalidArgumentError(
            "the prompt has characters outside the model's vocabulary, which would become [UNK]: "
            + ", ".join(map(repr, unknown))
        )
    ids = [tokenizer.cls_token_id, *encoding.ids]
    if max_new_tokens is None:
        room = model.config.max_position_embeddings - len(ids)
        max_new_tokens = max(1, min(RECITE_MAX_NEW_TOKENS, room))  # a full prompt gets generate's error
    generated = model.generate(
        torch.tensor([ids]),
        max_new_tokens=max_new_tokens,
        do_sample=do_sample,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        eos_token_id=tokenizer.sep_token_id,
        generator=None if seed is None else torch.Generator().manual_seed(seed),
    )[0]

    def readable(token_ids) -> list[str]:
        return [t for t in tokenizer.convert_ids_to_tokens(token_ids) if t not in SPECIAL_TOKENS]

    prompt_tokens = readable(encoding.ids)
    # Decoding the prompt's tokens with the new ones puts the right space (or none) where they meet.
    joined = decode_cjk(prompt_tokens + readable(generated[len(ids) :]))
    return prompt + joined[len(decode_cjk(prompt_tokens)) :]
