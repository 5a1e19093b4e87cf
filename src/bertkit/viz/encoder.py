"""The encoder the pictures look into, loaded from any checkpoint directory."""

from __future__ import annotations

from pathlib import Path

from bertkit.checkpoint.checkpoint import Checkpoint, opened
from bertkit.model import BertModel
from bertkit.pipelines.load import load_bare_encoder
from bertkit.tokenizer import WordPieceTokenizer


def load_encoder(
    directory: str | Path | Checkpoint, revision: str | None = None
) -> tuple[BertModel, WordPieceTokenizer]:
    """The encoder (eval mode, no pooler: no picture uses it) of a checkpoint (a directory, a Hub id at
    `revision`, or a Checkpoint), whatever its heads, and its tokenizer."""
    with opened(directory, revision) as checkpoint:
        return load_bare_encoder(checkpoint), checkpoint.tokenizer()
