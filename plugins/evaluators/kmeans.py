"""Clustering accuracy: k-means on the embeddings, clusters matched to classes."""

from __future__ import annotations

from typing import Literal

import numpy as np

from toolkit.api import EvalContext


def cluster(embeddings: np.ndarray, clusters: int, *, seed: int, backend: str = "faiss", iterations: int = 50,
            restarts: int = 10) -> np.ndarray:
    """Cluster id of every row, from k-means with ``restarts`` initialisations (the best inertia wins)."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if backend == "faiss":
        import faiss

        kmeans = faiss.Kmeans(x.shape[1], clusters, niter=iterations, nredo=restarts, seed=seed, verbose=False)
        kmeans.train(x)
        return kmeans.index.search(x, 1)[1].ravel()
    from sklearn.cluster import KMeans

    return KMeans(clusters, n_init=restarts, max_iter=iterations, random_state=seed).fit_predict(x)


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


class KMeansEvaluator:
    """k-means clustering accuracy (Hungarian and majority-vote matching), NMI and AMI on one split.

    Args:
        split: split to cluster.
        clusters: number of clusters (default: the number of classes in the split).
        backend: ``faiss`` or ``sklearn`` k-means.
        iterations: k-means iterations.
        restarts: initialisations; the one with the lowest inertia is kept.
    """

    def __init__(self, *, split: str = "test", clusters: int | None = None, backend: Literal["faiss", "sklearn"] = "faiss",
                 iterations: int = 50, restarts: int = 10):
        if clusters is not None and clusters < 2:
            raise ValueError(f"clusters must be at least 2, got {clusters}")
        if iterations < 1 or restarts < 1:
            raise ValueError(f"iterations and restarts must be at least 1, got {iterations} and {restarts}")
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
