"""k-nearest-neighbour retrieval metrics with faiss."""

from __future__ import annotations

from typing import Annotated, Literal

import faiss
import numpy as np
from pydantic import Field
import torch

from toolkit.api import EvalContext, Evaluator, IndexChoice, ToolkitError, build_index


def retrieval_metrics(query: np.ndarray, query_labels: np.ndarray, gallery: np.ndarray | None, gallery_labels: np.ndarray | None,
                      *, ks: list[int], map_at_r: bool = True, metric: str = "l2", chunk_size: int = 1000,
                      index: IndexChoice | None = None, device: torch.device | str = "cpu") -> dict[str, float]:
    """Precision@1, recall@k and MAP@R of each query against the gallery (``None``: the queries themselves,
    each query left out of its own results). Searches run in chunks of queries, so memory stays
    ``chunk_size × R`` rather than queries × gallery.

    recall@k is 1 for a query when any of its k nearest neighbours shares its class. MAP@R follows
    Musgrave et al., "A Metric Learning Reality Check": with R the number of gallery items of the query's
    class, ``MAP@R = 1/R · Σ_{i ≤ R} P(i) · rel(i)``.

    ``index`` picks the faiss index (default: exact search up to 250,000 gallery items, IVF above); with an
    approximate one, every metric is that of the neighbours it finds. On a CUDA ``device`` the search runs on
    the GPU when faiss was built with GPU support.
    """
    leave_one_out = gallery is None
    if leave_one_out:
        gallery, gallery_labels = query, query_labels
    query = np.ascontiguousarray(query, dtype=np.float32)
    gallery = np.ascontiguousarray(gallery, dtype=np.float32)
    if metric == "cosine":
        query = query.copy()
        faiss.normalize_L2(query)  # the gallery is normalised as it goes into the index
    searcher = build_index(gallery, index or IndexChoice(), metric=metric, device=device)  # GPU faiss on cuda

    classes, class_counts = np.unique(gallery_labels, return_counts=True)
    count_of = dict(zip(classes.tolist(), class_counts.tolist()))
    relevant = np.array([count_of.get(int(c), 0) for c in query_labels]) - int(leave_one_out)
    max_k = max(ks)
    depth = max(max_k, int(relevant.max()) if map_at_r and len(relevant) else 0)
    depth = min(depth + int(leave_one_out), len(gallery))

    hits_at = {k: 0.0 for k in ks}
    precision_at_1, average_precision = 0.0, 0.0
    for start in range(0, len(query), chunk_size):
        stop = min(start + chunk_size, len(query))
        _, neighbours = searcher.search(query[start:stop], depth)
        if leave_one_out:
            neighbours = _drop_self(neighbours, np.arange(start, stop))
        # an approximate index may find fewer neighbours than asked for; faiss marks the missing ones -1
        match = (gallery_labels[neighbours] == query_labels[start:stop, None]) & (neighbours >= 0)
        precision_at_1 += match[:, 0].sum()
        for k in ks:
            hits_at[k] += match[:, :k].any(axis=1).sum()
        if map_at_r:
            r = relevant[start:stop]
            within_r = np.arange(match.shape[1])[None, :] < r[:, None]
            rel = match & within_r
            precision_at_i = np.cumsum(rel, axis=1) / np.arange(1, match.shape[1] + 1)[None, :]
            average_precision += ((precision_at_i * rel).sum(axis=1) / np.maximum(r, 1)).sum()

    n = len(query)
    metrics = {"precision_at_1": float(precision_at_1 / n)}
    metrics.update({f"recall_at_{k}": float(hits_at[k] / n) for k in ks})
    if map_at_r:
        metrics["map_at_r"] = float(average_precision / n)
    return metrics


def _drop_self(neighbours: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Remove each query's own id from its row (or the last column when ties pushed it out)."""
    is_self = neighbours == ids[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), neighbours.shape[1] - 1)
    keep = np.ones_like(neighbours, dtype=bool)
    keep[np.arange(len(ids)), drop] = False
    return neighbours[keep].reshape(len(ids), -1)


class KNNEvaluator(Evaluator):
    """Retrieval quality with faiss: precision@1, recall@k and MAP@R, by exact search unless the gallery is large.

    Args:
        query: split whose images are the queries.
        gallery: split searched for neighbours; ``"query"`` searches the query split itself, leaving each query out.
        k: the values of k for recall@k.
        map_at_r: also compute MAP@R (searches R neighbours per query, R = class size in the gallery).
        metric: ``l2`` (Euclidean) or ``cosine``.
        chunk_size: queries searched at once (bounds memory).
        index: faiss index: ``flat`` (exact), ``ivf`` (k-means cells trained on a sample), ``hnsw`` (graph), or
            ``auto``: flat up to ``exact_up_to`` gallery items, ivf above.
        exact_up_to: largest gallery that ``auto`` searches exactly.
        nlist: IVF cells (default about 4·√gallery size).
        nprobe: IVF cells searched per query (more: slower, closer to exact).
        hnsw_m: HNSW links per vector.
        ef_search: HNSW candidates kept while searching (more: slower, closer to exact).
    """

    def __init__(self, *, query: str = "test", gallery: str = "train",
                 k: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] = [1, 5, 10],  # noqa: B006
                 map_at_r: bool = True, metric: Literal["l2", "cosine"] = "l2",
                 chunk_size: Annotated[int, Field(ge=1)] = 1000,
                 index: Literal["auto", "flat", "ivf", "hnsw"] = "auto", exact_up_to: int = 250_000,
                 nlist: int | None = None, nprobe: int = 16, hnsw_m: int = 32, ef_search: int = 128):
        self.query, self.gallery, self.ks = query, gallery, sorted(set(k))
        self.splits = [query] if gallery in ("query", query) else [query, gallery]
        self.map_at_r, self.metric, self.chunk_size = map_at_r, metric, chunk_size
        self.index = IndexChoice(index, exact_up_to, nlist, nprobe, hnsw_m, ef_search)

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        query, query_labels = context.embed(self.query)
        if self.gallery in ("query", self.query):
            gallery = gallery_labels = None
        else:
            gallery, gallery_labels = (t.numpy() for t in context.embed(self.gallery))
            query_labels = self._in_gallery_numbering(context, query_labels)
        return retrieval_metrics(query.numpy(), query_labels.numpy(), gallery, gallery_labels, ks=self.ks,
                                 map_at_r=self.map_at_r, metric=self.metric, chunk_size=self.chunk_size, index=self.index,
                                 device=context.device)

    def _in_gallery_numbering(self, context: EvalContext, labels: torch.Tensor) -> torch.Tensor:
        """Query labels renumbered as the gallery numbers the same class names (splits may number them apart)."""
        query_names = context.dataset.split(self.query).class_names
        gallery_names = context.dataset.split(self.gallery).class_names
        if not query_names or not gallery_names or query_names == gallery_names:
            return labels
        position = {name: i for i, name in enumerate(gallery_names)}
        if not set(query_names) & set(position):
            raise ToolkitError(
                f"evaluators: knn searches the {self.query!r} images among the {self.gallery!r} images, but the two "
                f"splits share no class ({', '.join(query_names[:3])}... against {', '.join(gallery_names[:3])}...), so "
                "no neighbour could ever be right. Set gallery = \"query\" to search the query images among themselves."
            )
        mapping = torch.tensor([position.get(name, -1) for name in query_names])
        return mapping[labels]
