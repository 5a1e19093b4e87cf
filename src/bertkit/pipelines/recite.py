"""Continue a text with a causal language model: the tutorial's student reciting a poem from its start, and
(`recite_explained`) the candidates it chose from at each step."""

from __future__ import annotations

from typing import Any

import torch

from bertkit.checks import check_int
from bertkit.constants import SPECIAL_TOKENS
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertLMHeadModel, BertPreTrainedModel
from bertkit.pipelines.load import NO_CAUSAL_HEAD
from bertkit.pipelines.score import ranked_tokens, token_log_probs, unknown_characters
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.tokenizer.decode import decode_cjk

# A default long enough for the longest poem of the Tang corpus; recite caps it by the model's positions.
RECITE_MAX_NEW_TOKENS = 400


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
    prompt_ids, new_ids = _recite_ids(
        model, tokenizer, prompt, max_new_tokens, do_sample, temperature, top_k, top_p, seed
    )
    return continuation(tokenizer, prompt, prompt_ids, new_ids)


@torch.inference_mode()
def recite_explained(
    model: BertPreTrainedModel,
    tokenizer: WordPieceTokenizer,
    prompt: str,
    candidates: int = 5,
    **options: Any,
) -> dict[str, Any]:
    """`recite` (same options), with the student's choice at each step: `{"prompt", "text", "steps"}`, a step per
    token recited (the closing [SEP] included, when reached) as `{"token", "token_str", "score"}` (the token
    chosen and its probability) with `candidates`, the model's `candidates` most likely tokens there, best
    first. The probabilities are the model's own, before any sampling temperature or filter."""
    check_int("`candidates`", candidates)
    prompt_ids, new_ids = _recite_ids(model, tokenizer, prompt, **options)
    if tokenizer.sep_token_id in new_ids:
        new_ids = new_ids[: new_ids.index(tokenizer.sep_token_id) + 1]
    ids = [tokenizer.cls_token_id, *prompt_ids, *new_ids]
    # One pass over the whole recital gives every step's distribution: a causal model's position t sees
    # exactly the tokens the generation loop had fed it when it chose token t + 1.
    hidden = model.bert(torch.tensor([ids[:-1]])).last_hidden_state[0]  # (T - 1, H)
    start = len(prompt_ids)  # the position that chose the first new token
    chosen, (scores, best) = token_log_probs(
        model.cls.predictions, hidden[start:], torch.tensor(new_ids, device=hidden.device), candidates
    )
    steps = [
        {**ranked_tokens(tokenizer, [p], [token])[0], "candidates": ranked_tokens(tokenizer, s, i)}
        for token, p, s, i in zip(new_ids, chosen.exp().tolist(), scores.tolist(), best.tolist(), strict=True)
    ]
    return {"prompt": prompt, "text": continuation(tokenizer, prompt, prompt_ids, new_ids), "steps": steps}


def _recite_ids(
    model: BertPreTrainedModel,
    tokenizer: WordPieceTokenizer,
    prompt: str,
    max_new_tokens: int | None = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> tuple[list[int], list[int]]:
    """(the prompt's ids, without [CLS]; the ids generated after it)."""
    if not isinstance(model, BertLMHeadModel):
        raise InvalidArgumentError(f"{type(model).__name__} {NO_CAUSAL_HEAD}")
    if not do_sample and (temperature != 1.0 or top_k is not None or top_p is not None):
        raise InvalidArgumentError("`temperature`, `top_k` and `top_p` shape sampling; add `do_sample`")
    encoding = tokenizer.encode(prompt, add_special_tokens=False)
    if not encoding.ids:
        raise InvalidArgumentError(
            f"the prompt {prompt!r} holds no text; give the first characters of what to recite, e.g. 床前"
        )
    unknown = unknown_characters(tokenizer, prompt, encoding)
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
    return encoding.ids, generated[len(ids) :].tolist()


def continuation(
    tokenizer: WordPieceTokenizer, prompt: str, prompt_ids: list[int], new_ids: list[int]
) -> str:
    """`prompt` (whose tokens are `prompt_ids`, no [CLS]) followed by the text of `new_ids` up to the first
    [SEP], special tokens dropped. Chinese comes back without spaces between characters."""
    if tokenizer.sep_token_id in new_ids:
        new_ids = new_ids[: new_ids.index(tokenizer.sep_token_id)]

    def readable(token_ids: list[int]) -> list[str]:
        return [t for t in tokenizer.convert_ids_to_tokens(token_ids) if t not in SPECIAL_TOKENS]

    prompt_tokens = readable(prompt_ids)
    # Decoding the prompt's tokens with the new ones puts the right space (or none) where they meet.
    joined = decode_cjk(prompt_tokens + readable(new_ids))
    return prompt + joined[len(decode_cjk(prompt_tokens)) :]
