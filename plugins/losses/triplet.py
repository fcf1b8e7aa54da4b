"""Triplet margin loss."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
import torch

from toolkit.api import EmbeddedBatch, Loss


class TripletLoss(Loss):
    """``L = max(d(a, p) − d(a, n) + margin, 0)``, averaged over the batch.

    Args:
        margin: how much farther the negative must be than the positive.
        distance: ``squared_euclidean`` (the MNIST triplet article) or ``euclidean``.
    """

    batch_kind = "triplets"

    def __init__(self, *, margin: Annotated[float, Field(gt=0)] = 1.0, distance: Literal["squared_euclidean", "euclidean"] = "squared_euclidean"):
        super().__init__()
        self.margin, self.distance = margin, distance

    def _distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        squared = (a - b).pow(2).sum(dim=1)
        return squared if self.distance == "squared_euclidean" else (squared + 1e-12).sqrt()

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        anchor, positive, negative = batch.embeddings.unbind(dim=1)
        return torch.relu(self._distance(anchor, positive) - self._distance(anchor, negative) + self.margin).mean()
