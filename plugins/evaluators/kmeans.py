"""Clustering accuracy: k-means on the embeddings, clusters matched to classes."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from toolkit.api import EvalContext, Evaluator


def cluster(embeddings: np.ndarray, clusters: int, *, seed: int, backend: str = "faiss", iterations: int = 50,
            restarts: int = 10) -> np.ndarray:
    """Cluster id of every row, from k-means with ``restarts`` initialisations (the best inertia wins)."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if backend == "faiss":
        return faiss_kmeans(x, clusters, seed=seed, iterations=iterations, restarts=restarts).index.search(x, 1)[1].ravel()
    from sklearn.cluster import KMeans

    return KMeans(clusters, n_init=restarts, max_iter=iterations, random_state=seed).fit_predict(x)


def faiss_kmeans(x: np.ndarray, clusters: int, *, seed: int, iterations: int, restarts: int):
    """faiss k-means trained on every row of ``x`` (float32, C-contiguous)."""
    import faiss

    # every point trains the centroids: faiss would otherwise sample 256 per centroid, which widens the seed spread
    kmeans = faiss.Kmeans(x.shape[1], clusters, niter=iterations, nredo=restarts, seed=seed, verbose=False,
                          max_points_per_centroid=max(len(x), 1))
    kmeans.train(x)
    return kmeans


def clustering_scores(labels: np.ndarray, assigned: np.ndarray) -> dict[str, float]:
    """Accuracy under the best one-to-one cluster→class matching (Hungarian), under each cluster's
    majority class, and NMI/AMI."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_mutual_info_score, normalized_mutual_info_score  # lazy: slow to import, needed only when evaluating

    classes = np.unique(labels)
    label_index = np.searchsorted(classes, labels)
    contingency = np.zeros((assigned.max() + 1, len(classes)), dtype=np.int64)
    np.add.at(contingency, (assigned, label_index), 1)
    rows, cols = linear_sum_assignment(contingency, maximize=True)
    n = len(labels)
    return {
        "accuracy_hungarian": float(contingency[rows, cols].sum() / n),
        "accuracy_majority": float(contingency.max(axis=1).sum() / n),
        "nmi": float(normalized_mutual_info_score(labels, assigned)),
        "ami": float(adjusted_mutual_info_score(labels, assigned)),
    }


class KMeansEvaluator(Evaluator):
    """k-means clustering accuracy (Hungarian and majority-vote matching), NMI and AMI on one split.

    Args:
        split: split to cluster.
        clusters: number of clusters (default: the number of classes in the split).
        backend: ``faiss`` or ``sklearn`` k-means.
        iterations: k-means iterations.
        restarts: initialisations; the one with the lowest inertia is kept.
    """

    def __init__(self, *, split: str = "test", clusters: Annotated[int, Field(ge=2)] | None = None,
                 backend: Literal["faiss", "sklearn"] = "faiss", iterations: Annotated[int, Field(ge=1)] = 50,
                 restarts: Annotated[int, Field(ge=1)] = 10):
        self.split, self.clusters, self.backend = split, clusters, backend
        self.iterations, self.restarts = iterations, restarts
        self.splits = [split]

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        embeddings, labels = context.embed(self.split)
        labels = labels.numpy()
        k = self.clusters or len(np.unique(labels))
        assigned = cluster(embeddings.numpy(), k, seed=context.seed, backend=self.backend,
                           iterations=self.iterations, restarts=self.restarts)
        return clustering_scores(labels, assigned)
