"""Contrastive loss on cosine similarity."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from toolkit.api import EmbeddedBatch, Loss


class CosineContrastiveLoss(Loss):
    """Same-class pairs towards cosine similarity 1, other pairs below ``margin``.

    With ``s`` the cosine similarity of a pair and ``y = 1`` for a same-class pair:
    ``L = y · (1 − s) + (1 − y) · max(s − margin, 0)``, averaged over the batch.

    Args:
        margin: similarity below which different-class pairs cost nothing (between -1 and 1).
    """

    batch_kind = "pairs"

    def __init__(self, *, margin: float = 0.5):
        super().__init__()
        if not -1.0 <= margin < 1.0:
            raise ValueError(f"margin must be in [-1, 1), got {margin}")
        self.margin = margin

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        similarity = F.cosine_similarity(batch.embeddings[:, 0], batch.embeddings[:, 1], dim=1)
        same = batch.same.float()
        return (same * (1.0 - similarity) + (1.0 - same) * torch.relu(similarity - self.margin)).mean()
