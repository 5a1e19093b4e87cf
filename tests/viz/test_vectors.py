"""PCA in two dimensions: exact for points that span a plane, zeros past the data's rank, a fixed sign."""

import numpy as np

from bertkit.viz import pca_2d


def distances(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, None] - points[None], axis=-1)


def test_three_points_keep_their_distances():
    points = np.random.default_rng(0).normal(size=(3, 50))  # 3 points always lie in a plane
    coords, explained = pca_2d(points)
    np.testing.assert_allclose(distances(coords), distances(points), atol=1e-9)
    np.testing.assert_allclose(explained.sum(), 1.0)
    assert explained[0] >= explained[1] > 0


def test_the_first_axis_holds_the_most_variance():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(20, 6)) * [10.0, 3.0, 0.5, 0.1, 0.1, 0.1]
    coords, explained = pca_2d(points)
    assert coords[:, 0].var() > coords[:, 1].var() > 0
    np.testing.assert_allclose(explained, coords.var(axis=0) / (points - points.mean(0)).var(axis=0).sum())
    assert abs(coords[:, 0].max()) >= abs(coords[:, 0].min())  # the sign is fixed: the largest is positive
    np.testing.assert_allclose(pca_2d(points)[0], coords)


def test_fewer_points_than_axes():
    coords, explained = pca_2d(np.ones((1, 4)))
    assert coords.shape == (1, 2) and not coords.any() and not explained.any()
    coords, explained = pca_2d(np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(np.abs(coords[:, 0]), [2.5, 2.5])
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(explained, [1.0, 0.0], atol=1e-12)
