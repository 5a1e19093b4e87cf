"""The word picture: how alike the model finds some words (their cosine-similarity matrix) and where their
vectors lie relative to each other (a 2-D PCA projection).

Which vector a word gets (`vectors`):
- "contextual" (the default): the word alone as a text, `[CLS] word [SEP]`, through the whole encoder, its
  output vectors averaged over every token (mean pooling). This is what sentence-transformers' `encode`
  gives for a one-word text on a mean-pooling model such as all-MiniLM-L6-v2 (the tutorial's cherry /
  digital / information example), and it is the encoder's own reading of the word, so a word split into
  several WordPieces still gets one vector composed by the model, not an average of unrelated pieces.
- "input": the rows of the input embedding table for the word's WordPieces, averaged: what the model looks
  up before any layer has run, the static "word embedding".

A word the vocabulary lacks is split into WordPieces (or becomes [UNK]); that is not an error: `notes` says
how each such word was split, and the picture shows it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from bertkit.checks import check_choice
from bertkit.constants import UNK
from bertkit.errors import InvalidArgumentError
from bertkit.model import BertPreTrainedModel, encoder_of
from bertkit.model.pooling import mean_pool
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.viz.encoder import load_encoder
from bertkit.viz.figure import drawing, heatmap, model_name, save_figure
from bertkit.viz.vectors import cosine_matrix, pca_2d

VECTORS = ("contextual", "input")
ANNOTATE_UP_TO = 16  # words; past that the values no longer fit in the cells


@dataclasses.dataclass
class WordVectors:
    """Words, the WordPieces each became, and one vector per word."""

    words: list[str]
    pieces: list[list[str]]  # each word's WordPieces, without [CLS]/[SEP]
    vectors: np.ndarray  # (words, hidden), float32
    kind: str  # "contextual" or "input": see the module docstring

    @property
    def notes(self) -> list[str]:
        """One line per word that is not a single vocabulary entry: how the tokenizer split it."""
        return [
            _note(w, p) for w, p in zip(self.words, self.pieces, strict=True) if len(p) != 1 or p[0] == UNK
        ]

    def cosine(self) -> np.ndarray:
        """(words, words): the cosine similarity of every pair of words."""
        return cosine_matrix(self.vectors)


@torch.inference_mode()
def word_vectors(
    model: BertPreTrainedModel, tokenizer: WordPieceTokenizer, words: list[str], vectors: str = "contextual"
) -> WordVectors:
    """One vector per word, `vectors` "contextual" or "input" (see the module docstring)."""
    check_choice("`vectors`", vectors, VECTORS)
    if isinstance(words, str) or not words:
        raise InvalidArgumentError("`words` must be a list of at least one word")
    pieces = [tokenizer.tokenize(_check_word(i, w)) for i, w in enumerate(words)]
    for i, (word, p) in enumerate(zip(words, pieces, strict=True)):
        if not p:
            raise InvalidArgumentError(
                f"`words` item {i} ({word!r}) has no tokens (only spaces or control characters)"
            )
    encoder = encoder_of(model)
    device = next(encoder.parameters()).device
    if vectors == "input":
        table = encoder.embeddings.word_embeddings.weight
        ids = [tokenizer.convert_tokens_to_ids(p) for p in pieces]
        rows = [table[torch.tensor(i, device=device)].mean(dim=0) for i in ids]  # (H,) each
        out = torch.stack(rows)
    else:
        batch = tokenizer(list(words), padding=True, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        hidden = encoder(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        ).last_hidden_state
        out = mean_pool(hidden, batch["attention_mask"])  # (words, H)
    return WordVectors(list(words), pieces, out.float().cpu().numpy(), vectors)


def _check_word(i: int, word: object) -> str:
    if not isinstance(word, str):
        raise InvalidArgumentError(f"`words` item {i} must be a string, got {type(word).__name__}")
    return word


def draw_embeddings(words: WordVectors, out: str | Path, model_dir: str | Path | None = None) -> Path:
    """Two panels: the words' cosine-similarity matrix, and their vectors projected on the first two principal
    components; below them, how any word outside the vocabulary was split. The title names `model_dir` when
    given. Returns the picture's path."""
    n = len(words.words)
    labels = [_label(w, p) for w, p in zip(words.words, words.pieces, strict=True)]
    coords, explained = pca_2d(words.vectors)
    side = float(np.clip(0.45 * n + 2.5, 4.5, 12.0))
    with drawing(labels + words.notes) as figure:
        fig = figure(figsize=(2 * side + 1.5, side + 0.6 + 0.25 * len(words.notes)), layout="constrained")
        left, right = fig.subplots(1, 2)
        heatmap(
            left,
            words.cosine(),
            labels,
            words.words,
            cmap="RdBu_r",
            vmin=-1.0,
            vmax=1.0,
            colorbar=True,
            annotate=n <= ANNOTATE_UP_TO,
            title="cosine similarity",
        )
        right.scatter(coords[:, 0], coords[:, 1], color="tab:blue")
        for (x, y), label in zip(coords, labels, strict=True):
            right.annotate(label, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=10)
        right.set(
            title="PCA of the vectors",
            xlabel=f"PC1 ({explained[0]:.0%} of the variance)",
            ylabel=f"PC2 ({explained[1]:.0%} of the variance)",
        )
        right.margins(0.2)
        right.grid(alpha=0.3)
        source = f" of {model_name(model_dir)}" if model_dir is not None else ""
        fig.suptitle(f"{words.kind} word vectors{source}")
        if words.notes:
            fig.supxlabel("\n".join(words.notes), fontsize=9, ha="left", x=0.01)
        return save_figure(fig, out)


def _note(word: str, pieces: list[str]) -> str:
    if UNK in pieces:
        return (
            f"{word!r} is not in the vocabulary, nor are pieces that make it up: read as {' '.join(pieces)}"
        )
    return f"{word!r} is not in the vocabulary; split into {' '.join(pieces)}"


def _label(word: str, pieces: list[str]) -> str:
    """The word, and its pieces when it was split (`unaffable (una ##ffa ##ble)`)."""
    return word if len(pieces) == 1 and pieces[0] != UNK else f"{word} ({' '.join(pieces)})"


def embeddings_picture(
    model_dir: str | Path, words: list[str], out: str | Path = "embeddings.png", vectors: str = "contextual"
) -> Path:
    """The `vectors` of `words` in the model saved in `model_dir`, drawn (see draw_embeddings); returns the
    picture's path."""
    model, tokenizer = load_encoder(model_dir)
    found = word_vectors(model, tokenizer, words, vectors)
    return draw_embeddings(found, out, model_dir)
