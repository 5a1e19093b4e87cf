"""What every picture shares: a matplotlib figure set up for its labels' script, the labelled heatmap, and
the atomic write of the image file.

Figures are made with `matplotlib.figure.Figure`, not pyplot: no global backend is switched and no figure is
left registered in pyplot's state, so a notebook's own figures and backend are left as they were.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bertkit.errors import InvalidArgumentError
from bertkit.files import atomic_path
from bertkit.viz.fonts import font_families

DPI = 100
SMOOTH_ABOVE = 128  # rows or columns


@contextlib.contextmanager
def drawing(texts: Sequence[str]) -> Iterator[Callable[..., Any]]:
    """Yields a Figure factory for a picture labelled with `texts`: CJK labels get a CJK font as fallback.
    Make and save the figure inside the block (text is laid out when saved)."""
    try:  # an optional extra: the model must not need a plotting library
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as e:
        raise InvalidArgumentError("pictures need matplotlib: pip install 'bertkit[plot]'") from e
    families = font_families(list(texts))
    rc = {"font.family": families} if families else {}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        if families is None:  # already warned once, naming what to install; not once per character
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield Figure


def panel_size(n: int, large: bool = False) -> float:
    """Inches for a square heatmap of n x n labelled cells: room for each label, within bounds."""
    if large:
        return float(np.clip(0.4 * n + 1.5, 4.0, 14.0))
    return float(np.clip(0.16 * n + 0.8, 1.8, 6.0))


def label_size(n: int, inches: float) -> float:
    """A font size (points) at which n labels fit along `inches`."""
    return float(np.clip(inches * 72 / max(n, 1) * 0.6, 4.0, 10.0))


def heatmap(
    ax: Any,
    matrix: np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = False,
    annotate: bool = False,
    aspect: str = "equal",
) -> None:
    """`matrix` drawn on `ax`, a cell per entry. Labels: a name per row/column, None for matplotlib's numeric
    ticks, an empty list for none. annotate: write each value in its cell (small matrices)."""
    # Cells of a small matrix are drawn crisp; a large one (512 positions) is smoothed where several cells
    # share a pixel, instead of showing whichever cell the pixel happens to hit.
    smooth = max(matrix.shape) > SMOOTH_ABOVE
    interpolation = "antialiased" if smooth else "nearest"
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, interpolation=interpolation, aspect=aspect)
    box = ax.get_position()  # the panel's share of the figure
    width, height = ax.figure.get_size_inches() * (box.width, box.height)
    for labels, set_ticks, inches in (
        (row_labels, ax.set_yticks, height),
        (col_labels, ax.set_xticks, width),
    ):
        if labels is not None:
            set_ticks(range(len(labels)), labels, fontsize=label_size(len(labels), inches))
    if col_labels and max(map(len, col_labels)) > 2:  # single characters (月) stay upright
        ax.tick_params(axis="x", labelrotation=90)
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if annotate:
        for (i, j), value in np.ndenumerate(matrix):
            red, green, blue, _ = image.cmap(image.norm(value))
            dark_cell = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # perceived brightness
            color = "white" if dark_cell else "black"
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=color)


def save_figure(fig: Any, out: str | Path) -> Path:
    """Write `fig` to `out` (the format from its suffix: .png, .svg, .pdf, ...) in one step; returns the path."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise InvalidArgumentError(
            f"`out` {out}: cannot write a picture as {out.suffix or 'a file without a suffix'}; "
            f"use one of .{', .'.join(sorted(supported))}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight")
    return out


def model_name(model_dir: str | Path) -> str:
    """A model directory as a title names it: its last two parts (runs/demo/final -> demo/final)."""
    return "/".join(Path(model_dir).resolve().parts[-2:])
