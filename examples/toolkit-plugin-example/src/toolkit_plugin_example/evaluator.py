"""Nearest-centroid accuracy: each test image gets the class whose mean training embedding is closest."""

from __future__ import annotations

import torch

from toolkit.api import EvalContext, Evaluator, write_json


class CentroidEvaluator(Evaluator):
    """Accuracy of classifying ``query`` images by the nearest class centroid of the ``gallery`` embeddings.

    Writes the per-class accuracy to ``filename`` in the run folder and announces it as the ``per_class``
    artifact.

    Args:
        query: split whose images are classified.
        gallery: split whose embeddings give the class centroids.
        filename: file name of the per-class accuracies in the run folder.
    """

    def __init__(self, *, query: str = "test", gallery: str = "train", filename: str = "centroid_accuracy.json"):
        self.query, self.gallery, self.filename = query, gallery, filename
        self.splits = [query, gallery]

    def evaluate(self, context: EvalContext) -> dict[str, float]:
        gallery, gallery_labels = context.embed(self.gallery)
        query, query_labels = context.embed(self.query)
        classes = gallery_labels.unique()
        centroids = torch.stack([gallery[gallery_labels == c].mean(0) for c in classes])
        predicted = classes[torch.cdist(query, centroids).argmin(1)]
        right = predicted == query_labels
        per_class = {int(c): float(right[query_labels == c].float().mean()) for c in query_labels.unique()}
        write_json(context.out_dir / self.filename, per_class)
        context.add_artifact("per_class", self.filename)
        return {"accuracy": float(right.float().mean())}
