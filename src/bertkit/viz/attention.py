"""The attention picture: softmax(QK^T / sqrt(d_k)) of every layer and head, a heatmap per head with the
WordPiece tokens on both axes (row = the query token, column = the key token it attends to).

`attention_weights` is the data alone (the explorer page draws it itself); `draw_attention` draws data you
already have; `attention_picture` does both for a model directory.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from bertkit.errors import InvalidArgumentError
from bertkit.model import BertPreTrainedModel, encoder_of
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.viz.encoder import load_encoder
from bertkit.viz.figure import drawing, heatmap, model_name, panel_size, save_figure

# Past this many tokens per axis the labels would overlap: the weights are still drawn, without labels.
MAX_LABELLED_TOKENS = 48
MAX_COLUMNS = 6


@torch.inference_mode()
def attention_weights(
    model: BertPreTrainedModel, tokenizer: WordPieceTokenizer, text: str
) -> tuple[list[str], np.ndarray]:
    """`[CLS] text [SEP]`'s WordPiece tokens and the attention probabilities of every layer and head,
    float32 of shape (layers, heads, T, T): row i holds what token i attends to, each row sums to 1; a causal
    model's rows are zero above the diagonal. The model's own `output_attentions`, unchanged."""
    encoder = encoder_of(model)
    encoding = tokenizer.encode(text)
    limit = encoder.config.max_position_embeddings
    if len(encoding.ids) > limit:
        raise InvalidArgumentError(
            f"`text` is {len(encoding.ids)} tokens long with [CLS] and [SEP]; the model has {limit} positions"
        )
    device = next(encoder.parameters()).device
    ids = torch.tensor([encoding.ids], device=device)
    out = encoder(
        ids, token_type_ids=torch.tensor([encoding.type_ids], device=device), output_attentions=True
    )
    weights = torch.stack([a[0] for a in out.attentions])  # (layers, heads, T, T)
    return list(encoding.tokens), weights.float().cpu().numpy()


def pick(what: str, index: int | None, count: int) -> list[int]:
    """[index] checked against the model's `count` layers or heads (numbered from 0), or all of them."""
    if index is None:
        return list(range(count))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise InvalidArgumentError(
            f"`{what}` must be in 0..{count - 1} (the model has {count} {what}s, numbered from 0), got {index!r}"
        )
    return [index]


def _columns(n: int) -> int:
    """Columns for n panels: one row up to MAX_COLUMNS, else rows of nearly equal length."""
    return math.ceil(n / math.ceil(n / MAX_COLUMNS))


def draw_attention(
    tokens: list[str],
    weights: np.ndarray,
    out: str | Path,
    layer: int | None = None,
    head: int | None = None,
    title: str | None = None,
) -> Path:
    """Draw `weights` (layers, heads, T, T) as a grid of heatmaps, a row per layer and a column per head (only
    `layer` and/or `head` when given), each on its own 0..max colour scale; returns the PNG path."""
    layers = pick("layer", layer, weights.shape[0])
    heads = pick("head", head, weights.shape[1])
    T = len(tokens)
    if weights.shape[2:] != (T, T):
        raise InvalidArgumentError(f"`weights` has shape {weights.shape}, expected (layers, heads, {T}, {T})")
    panels = [(li, hi) for li in layers for hi in heads]
    # The whole model: a row per layer, a column per head. One layer's heads or one head's layers: wrapped
    # into rows of at most MAX_COLUMNS.
    columns = len(heads) if len(layers) > 1 and len(heads) > 1 else _columns(len(panels))
    rows = math.ceil(len(panels) / columns)
    single = len(panels) == 1
    labels = list(tokens) if T <= MAX_LABELLED_TOKENS else []
    size = panel_size(T, large=single)
    with drawing(tokens) as figure:
        fig = figure(figsize=(size * columns + 1.0, size * rows + 0.8), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for k, (li, hi) in enumerate(panels):
            heatmap(
                axes[k],
                weights[li, hi],
                row_labels=labels if k % columns == 0 else [],
                col_labels=labels if k + columns >= len(panels) else [],  # the lowest panel of its column
                title=f"layer {li} head {hi}",
                vmin=0.0,
                colorbar=single,
                annotate=single and T <= 16,
            )
        for ax in axes[len(panels) :]:
            ax.set_axis_off()
        if single:
            axes[0].set(ylabel="query (attends from)", xlabel="key (attends to)")
        fig.suptitle(title or "attention: softmax(QK^T / sqrt(d_k)); row = query, column = key")
        return save_figure(fig, out)


def attention_picture(
    model_dir: str | Path,
    text: str,
    out: str | Path = "attention.png",
    layer: int | None = None,
    head: int | None = None,
) -> Path:
    """The attention weights of `text` in the model saved in `model_dir`, drawn (see draw_attention);
    returns the PNG path."""
    model, tokenizer = load_encoder(model_dir)
    tokens, weights = attention_weights(model, tokenizer, text)
    kind = (
        "causal: each token sees itself and the tokens before it" if model.config.causal else "bidirectional"
    )
    title = f"attention in {model_name(model_dir)} ({kind}); row = query, column = key"
    return draw_attention(tokens, weights, out, layer=layer, head=head, title=title)
