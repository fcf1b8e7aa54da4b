"""A miner that keeps the hardest pairs of a batch by cosine similarity."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from toolkit.api import MinedPairs


class HardPairsMiner:
    """Keeps same-class pairs less similar than ``positive_below`` and other pairs more similar than ``negative_above``.

    Returns the pairs as toolkit's :class:`~toolkit.api.Miner` contract says: ``(anchor, positive,
    anchor_negative, negative)`` row indices.

    Args:
        positive_below: cosine similarity under which a same-class pair is kept.
        negative_above: cosine similarity over which a different-class pair is kept.
    """

    def __init__(self, *, positive_below: float = 0.9, negative_above: float = 0.0):
        self.positive_below, self.negative_above = positive_below, negative_above

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> MinedPairs:
        normed = F.normalize(embeddings.detach(), dim=1)
        similarity = normed @ normed.T
        same = labels[:, None] == labels[None, :]
        upper = torch.ones_like(same).triu(diagonal=1)
        anchor, positive = torch.nonzero(same & upper & (similarity < self.positive_below), as_tuple=True)
        anchor_negative, negative = torch.nonzero(~same & upper & (similarity > self.negative_above), as_tuple=True)
        return anchor, positive, anchor_negative, negative
