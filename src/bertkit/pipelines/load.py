"""Loading a model and its tokenizer for inference: one Hugging Face-layout directory, in eval mode."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from bertkit.checkpoint.load import load_pretrained, read_config
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertForMaskedLM, BertLMHeadModel, BertModel, BertPreTrainedModel
from bertkit.tokenizer import WordPieceTokenizer

NO_CAUSAL_HEAD = "has no causal language-model head; train one with `bertkit pretrain --objective clm`"


def load_for_inference(
    directory: str | Path, model_class: type[BertPreTrainedModel] = BertForMaskedLM
) -> tuple[BertPreTrainedModel, WordPieceTokenizer]:
    """The model (eval mode) and the tokenizer saved together in `directory` (e.g. a run's `final/`)."""
    model = model_class.from_pretrained(directory).eval()
    return model, WordPieceTokenizer.from_pretrained(directory)


def load_bare_encoder(directory: str | Path, device: str | torch.device | None = None) -> BertModel:
    """The encoder (eval mode) of any checkpoint, whatever its heads, without the pooler: token vectors and
    sentence poolings never use it, and a checkpoint without one (a causal LM, a tagger) then loads without a
    "newly initialised" warning about it."""
    return load_pretrained(functools.partial(BertModel, add_pooling_layer=False), directory, device=device)


def load_causal_lm(directory: str | Path) -> tuple[BertLMHeadModel, WordPieceTokenizer]:
    """load_for_inference for `recite`: the directory must hold a causal model (`is_decoder: true`)."""
    if not read_config(directory).causal:
        raise InvalidArgumentError(f"{directory} {NO_CAUSAL_HEAD} (its config.json is not is_decoder: true)")
    return load_for_inference(directory, BertLMHeadModel)
