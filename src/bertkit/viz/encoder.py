"""The encoder the pictures look into, loaded from any checkpoint directory."""

from __future__ import annotations

from pathlib import Path

from bertkit.model import BertModel
from bertkit.pipelines.load import load_bare_encoder
from bertkit.tokenizer import WordPieceTokenizer


def load_encoder(directory: str | Path) -> tuple[BertModel, WordPieceTokenizer]:
    """The encoder (eval mode, no pooler: no picture uses it) of the checkpoint in `directory`, whatever its
    heads, and its tokenizer."""
    return load_bare_encoder(directory), WordPieceTokenizer.from_pretrained(directory)
