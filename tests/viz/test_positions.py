"""The positions picture: the table is the one the embeddings layer adds (learned rows, or the sinusoids a
config selects), its cosine similarity is right, and the PNG is written."""

import numpy as np
import pytest
import torch

from bertkit import BertModel, InvalidArgumentError
from bertkit.cli import main
from bertkit.model.embeddings import sinusoidal_table
from bertkit.pipelines import load_for_inference
from bertkit.viz import cosine_matrix, position_encodings, positions_picture


def test_learned_table_is_the_position_embeddings(mlm_dir):
    model, _ = load_for_inference(mlm_dir)
    table = position_encodings(model)
    assert model.config.position_embedding == "learned" and table.shape == (40, 32)
    np.testing.assert_array_equal(table, model.bert.embeddings.position_embeddings.weight.detach().numpy())


def test_sinusoidal_table_and_its_similarity(sinusoidal_dir):
    model, _ = load_for_inference(sinusoidal_dir, BertModel)
    table = position_encodings(model)
    assert model.config.position_embedding == "sinusoidal"
    np.testing.assert_array_equal(table, sinusoidal_table(40, 32).numpy())
    # sin/cos pairs: the dot product of two positions depends only on their distance and every row has the
    # same length, so the cosine is constant along each diagonal.
    cos = cosine_matrix(table)
    for offset in range(1, 40):
        diagonal = np.diagonal(cos, offset)
        np.testing.assert_allclose(diagonal, diagonal[0], atol=1e-5)
    np.testing.assert_allclose(np.diagonal(cos), 1.0, atol=1e-6)


def test_pictures(mlm_dir, sinusoidal_dir, causal_dir, tmp_path, png_size):
    for name, directory in (("learned", mlm_dir), ("sinusoidal", sinusoidal_dir), ("causal", causal_dir)):
        out = positions_picture(directory, tmp_path / f"{name}.png")
        width, height = png_size(out)
        assert width > height  # the table beside the similarity matrix
    png_size(positions_picture(mlm_dir, tmp_path / "first.png", max_positions=8))


def test_bad_max_positions(mlm_dir, tmp_path):
    with pytest.raises(InvalidArgumentError, match="`max_positions` must be a positive integer, got 0"):
        positions_picture(mlm_dir, tmp_path / "p.png", max_positions=0)


def test_cli(sinusoidal_dir, tmp_path, capsys, png_size):
    out = tmp_path / "positions.png"
    assert main(["show", "positions", "--model", str(sinusoidal_dir), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    png_size(out)


def test_cosine_matrix_is_the_direct_computation():
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(5, 7, generator=g)
    vectors[3] = 0.0
    direct = torch.nn.functional.cosine_similarity(vectors[:, None], vectors[None], dim=-1)
    direct[3, 3] = 0.0  # torch clamps the zero norm; cosine_matrix says 0 for a zero vector
    np.testing.assert_allclose(cosine_matrix(vectors.numpy()), direct.numpy(), atol=1e-6)
