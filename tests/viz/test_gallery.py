"""The demo's pictures: every picture of both models written into one folder."""

from bertkit.viz import demo_pictures


def test_demo_pictures(mlm_dir, causal_dir, tmp_path, png_size):
    paths = demo_pictures(mlm_dir, tmp_path, lm_dir=causal_dir)
    names = ["attention.png", "positions.png", "embeddings.png", "lm-attention.png", "lm-positions.png"]
    assert paths == [tmp_path / n for n in names]
    for path in paths:
        png_size(path)
