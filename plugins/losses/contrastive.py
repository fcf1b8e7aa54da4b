"""Contrastive loss on the Euclidean distance of a pair's embeddings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
import torch
import torch.nn.functional as F

from toolkit.api import EmbeddedBatch, Loss


class ContrastiveLoss(Loss):
    """Pulls same-class pairs together and pushes other pairs at least ``margin`` apart.

    With ``y = 1`` for a same-class pair and ``D`` the Euclidean distance:
    ``L = scale · [y · D² + (1 − y) · max(margin − D, 0)²]``, averaged over the batch.

    Articles write ``y`` two ways. ``same_label = 1`` is the convention above (Hadsell et al., the MNIST and
    Fashion-MNIST articles); ``same_label = 0`` is the face article's, where ``label = 1`` means *different*
    and the formula reads ``(1 − label) · D² + label · max(margin − D, 0)²``. Batches carry
    same/different explicitly, so both settings give the same loss: the key only records which way the
    recipe's source writes it, so copying an article's formula can never flip the loss.

    Args:
        margin: distance beyond which different-class pairs cost nothing.
        same_label: which value of the pair label means "same class" in the source's formula (0 or 1).
        scale: factor in front of both terms (0.5 in the MNIST MLP article, 1 in the others).
    """

    batch_kind = "pairs"

    def __init__(self, *, margin: Annotated[float, Field(gt=0)] = 1.0, same_label: Literal[0, 1] = 1,
                 scale: Annotated[float, Field(gt=0)] = 1.0):
        super().__init__()
        self.margin, self.same_label, self.scale = margin, same_label, scale

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        distance = F.pairwise_distance(batch.embeddings[:, 0], batch.embeddings[:, 1])
        same = batch.same.float()
        hinge = torch.clamp(self.margin - distance, min=0.0)
        return self.scale * (same * distance.pow(2) + (1.0 - same) * hinge.pow(2)).mean()
