"""Embeddings in two dimensions for a scatter plot."""

from __future__ import annotations

from typing import Literal

import numpy as np


def project_2d(points: np.ndarray, *, method: Literal["pca", "tsne"] = "pca", seed: int = 0) -> np.ndarray:
    """``points`` ``(N, D)`` as ``(N, 2)``: the points themselves up to two dimensions (a zero column added to 1-D
    points), else their first two principal components (``pca``) or a t-SNE map (``tsne``, slower, seeded)."""
    points = np.asarray(points)
    if points.shape[1] <= 2:
        return np.hstack([points, np.zeros((len(points), 2 - points.shape[1]), dtype=points.dtype)])
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(points) - 1) / 3))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points)
    from sklearn.decomposition import PCA

    return PCA(2, svd_solver="full").fit_transform(points)
