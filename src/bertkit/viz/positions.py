"""The position picture: the table the embeddings layer adds to each token for its position (learned rows,
or the vanilla Transformer's fixed sinusoids when `BertConfig.position_embedding` is "sinusoidal"), and how
alike the positions are (cosine similarity of every pair).

Learned positions show how far training reached: rows past the longest sequence the model was trained on
stay at their random start and look like noise; sinusoidal positions have a cosine that depends only on
the distance between two positions (bands parallel to the diagonal).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bertkit.checks import check_int
from bertkit.model import BertPreTrainedModel, encoder_of
from bertkit.viz.encoder import load_encoder
from bertkit.viz.figure import drawing, heatmap, model_name, save_figure
from bertkit.viz.vectors import cosine_matrix


@torch.inference_mode()
def position_encodings(model: BertPreTrainedModel) -> np.ndarray:
    """The (max_position_embeddings, hidden_size) table added to the token embeddings, position by position
    (before the embeddings' LayerNorm), as float32."""
    embeddings = encoder_of(model).embeddings
    if model.config.position_embedding == "learned":
        table = embeddings.position_embeddings.weight
    else:
        table = embeddings.sinusoid
    return table.float().cpu().numpy()


def draw_positions(
    table: np.ndarray, out: str | Path, kind: str = "learned", title: str | None = None
) -> Path:
    """Two panels: `table` (positions x channels) as a heatmap, and the cosine similarity of its rows;
    returns the picture's path."""
    P, H = table.shape
    # A few large entries would wash the rest out to white: the scale ends at the 99th percentile.
    limit = float(np.percentile(np.abs(table), 99)) or 1.0
    with drawing([]) as figure:
        fig = figure(figsize=(13, 6), layout="constrained")
        left, right = fig.subplots(1, 2)
        heatmap(left, table, cmap="RdBu_r", vmin=-limit, vmax=limit, colorbar=True, aspect="auto")
        left.set(
            xlabel="channel (hidden dimension)",
            ylabel="position",
            title=f"{kind} position encodings ({P} x {H})",
        )
        heatmap(right, cosine_matrix(table), cmap="RdBu_r", vmin=-1.0, vmax=1.0, colorbar=True)
        right.set(xlabel="position", ylabel="position", title="cosine similarity of positions")
        fig.suptitle(title or f"{kind} position encodings")
        return save_figure(fig, out)


def positions_picture(
    model_dir: str | Path, out: str | Path = "positions.png", max_positions: int | None = None
) -> Path:
    """The position encodings of the model saved in `model_dir` (the first `max_positions` of them, default
    all), drawn (see draw_positions); returns the picture's path."""
    if max_positions is not None:
        check_int("`max_positions`", max_positions)
    model, _ = load_encoder(model_dir)
    table = position_encodings(model)[:max_positions]
    kind = model.config.position_embedding
    return draw_positions(
        table, out, kind=kind, title=f"{kind} position encodings of {model_name(model_dir)}"
    )
