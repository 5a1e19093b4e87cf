"""The demo's pictures: what `make demo` draws of the models it trains, beside the loss curves."""

from __future__ import annotations

from pathlib import Path

from bertkit.viz.attention import attention_picture
from bertkit.viz.embeddings import embeddings_picture
from bertkit.viz.positions import positions_picture

DEMO_TEXT = "床前明月光，疑是地上霜。"
# Pairs a reader of Tang poems expects near each other: sun and moon, mountain and water, spring and autumn,
# wind and rain.
DEMO_WORDS = ("日", "月", "山", "水", "春", "秋", "风", "雨")


def demo_pictures(
    model_dir: str | Path,
    out_dir: str | Path,
    lm_dir: str | Path | None = None,
    text: str = DEMO_TEXT,
    words: tuple[str, ...] = DEMO_WORDS,
) -> list[Path]:
    """Into `out_dir`: the attention of `text` (attention.png), the position encodings (positions.png) and
    the vectors of `words` (embeddings.png) of the model in `model_dir`; with a causal language model in
    `lm_dir`, its attention and positions too (lm-attention.png, lm-positions.png). Returns the paths."""
    out_dir = Path(out_dir)
    paths = [
        attention_picture(model_dir, text, out_dir / "attention.png"),
        positions_picture(model_dir, out_dir / "positions.png"),
        embeddings_picture(model_dir, list(words), out_dir / "embeddings.png"),
    ]
    if lm_dir is not None:
        paths += [
            attention_picture(lm_dir, text, out_dir / "lm-attention.png"),
            positions_picture(lm_dir, out_dir / "lm-positions.png"),
        ]
    return paths
