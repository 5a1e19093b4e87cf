"""Loading a model and its tokenizer for inference: one Hugging Face-layout directory, in eval mode, in the
precision asked for (`dtype`: float32, bfloat16, int8 or auto; bertkit.precision resolves auto and converts
the model: with_dtype, Int8Linear)."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.checkpoint.load import load_pretrained
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMaskedLM, BertLMHeadModel, BertModel, BertPreTrainedModel
from bertkit.precision import Int8Linear, with_dtype  # noqa: F401  (their home is bertkit.precision)
from bertkit.tokenizer import WordPieceTokenizer

NO_CAUSAL_HEAD = "has no causal language-model head; train one with `bertkit pretrain --objective clm`"


def load_for_inference(
    directory: str | Path | Checkpoint,
    model_class: type[BertPreTrainedModel] = BertForMaskedLM,
    dtype: str = "float32",
    revision: str | None = None,
) -> tuple[BertPreTrainedModel, WordPieceTokenizer]:
    """The model (eval mode) and the tokenizer saved together in a checkpoint (e.g. a run's `final/`, a Hub id
    at `revision`, or a Checkpoint)."""
    with opened(directory, revision) as checkpoint:
        model = with_dtype(model_class.from_pretrained(checkpoint).eval(), dtype)
        return model, checkpoint.tokenizer()


def load_bare_encoder(
    directory: str | Path | Checkpoint, device: str | torch.device | None = None, revision: str | None = None
) -> BertModel:
    """The encoder (eval mode) of any checkpoint, whatever its heads, without the pooler: token vectors and
    sentence poolings never use it, and a checkpoint without one (a causal LM, a tagger) then loads without a
    "newly initialised" warning about it."""
    return load_pretrained(
        functools.partial(BertModel, add_pooling_layer=False), directory, device=device, revision=revision
    )


def load_causal_lm(
    directory: str | Path | Checkpoint, dtype: str = "float32", revision: str | None = None
) -> tuple[BertLMHeadModel, WordPieceTokenizer]:
    """load_for_inference for `recite`: the checkpoint must hold a causal model (`is_decoder: true`)."""
    with opened(directory, revision) as checkpoint:
        if not checkpoint.config.causal:
            raise InvalidArgumentError(
                f"{checkpoint.path} {NO_CAUSAL_HEAD} (its config.json is not is_decoder: true)"
            )
        return load_for_inference(checkpoint, BertLMHeadModel, dtype)
