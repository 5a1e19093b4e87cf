"""The encoder the pictures look into: found inside any task model, or loaded from any checkpoint directory."""

from __future__ import annotations

import functools
from pathlib import Path

from bertkit.checkpoint.load import load_pretrained
from bertkit.model import BertModel, BertPreTrainedModel
from bertkit.tokenizer import WordPieceTokenizer


def encoder_of(model: BertPreTrainedModel) -> BertModel:
    """The bare encoder of any bertkit model (a task model keeps it as `.bert`)."""
    return model if isinstance(model, BertModel) else model.bert


def load_encoder(directory: str | Path) -> tuple[BertModel, WordPieceTokenizer]:
    """The encoder (eval mode) of the checkpoint in `directory`, whatever its heads, and its tokenizer. No
    picture uses the pooler, so none is built: a checkpoint without one (a causal LM, a tagger) loads
    without a "newly initialised" warning about it."""
    encoder = functools.partial(BertModel, add_pooling_layer=False)
    return load_pretrained(encoder, directory), WordPieceTokenizer.from_pretrained(directory)
