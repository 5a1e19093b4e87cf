"""The arithmetic behind the vector pictures: cosine similarity and a 2-D PCA, in numpy."""

from __future__ import annotations

import numpy as np


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, n): entry (i, j) is cos(v_i, v_j) = v_i . v_j / (|v_i| |v_j|); a zero vector gives 0."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0.0, 1.0, norms)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (n, 2) coordinates of `vectors` (n, d) on their first two principal components, and the share of
    the variance each explains. Components beyond the data's rank (1 or 2 vectors) are zeros.

    Each axis's sign is fixed (its largest coordinate positive) so the same vectors always give the same
    picture; an SVD alone may flip it."""
    centred = np.asarray(vectors, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)  # u (n, k), s (k,)
    coords = np.zeros((len(centred), 2))
    k = min(2, len(s))
    coords[:, :k] = u[:, :k] * s[:k]
    for j in range(2):
        if coords[np.argmax(np.abs(coords[:, j])), j] < 0:
            coords[:, j] = -coords[:, j]
    total = float((s**2).sum())
    explained = np.zeros(2)
    if total > 0:
        explained[:k] = s[:k] ** 2 / total
    return coords, explained
