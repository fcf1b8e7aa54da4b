"""Cosine contrastive loss over the pairs of a whole batch, or over the pairs a miner picks."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from toolkit.api import EmbeddedBatch, Loss, Miner, ToolkitError


class MinedCosineLoss(Loss):
    """``1 − s`` for same-class pairs and ``max(s − margin, 0)`` for the others, ``s`` the cosine similarity.

    Takes plain labelled batches. Without a miner every pair of the batch counts; with the recipe's ``[miner]``
    only the pairs it picks do. Each of the two sums is averaged over its own pairs.

    Args:
        margin: similarity below which different-class pairs cost nothing (between -1 and 1).
        miner: built from the recipe's ``[miner]`` section.
    """

    batch_kind = "labels"

    def __init__(self, *, margin: float = 0.3, miner: Miner | None = None):
        super().__init__()
        if not -1.0 <= margin < 1.0:
            raise ValueError(f"margin must be in [-1, 1), got {margin}")
        self.margin, self.miner = margin, miner

    def forward(self, batch: EmbeddedBatch) -> torch.Tensor:
        embeddings, labels = batch.embeddings[:, 0], batch.labels[:, 0]
        mined = self._pairs(embeddings, labels)
        if len(mined) != 4:
            raise ToolkitError(f"the mined_cosine loss takes pairs, but the miner returned {len(mined)} index tensors "
                               "(triplets). Choose a [miner] that picks pairs.")
        anchor, positive, anchor_negative, negative = mined
        normed = F.normalize(embeddings, dim=1)
        pulled = (1.0 - (normed[anchor] * normed[positive]).sum(1)).mean() if len(anchor) else embeddings.sum() * 0
        similarity = (normed[anchor_negative] * normed[negative]).sum(1)
        pushed = torch.relu(similarity - self.margin).mean() if len(negative) else embeddings.sum() * 0
        return pulled + pushed

    def _pairs(self, embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.miner is not None:
            return self.miner(embeddings, labels)
        same = labels[:, None] == labels[None, :]
        upper = torch.ones_like(same).triu(diagonal=1)
        return (*torch.nonzero(same & upper, as_tuple=True), *torch.nonzero(~same & upper, as_tuple=True))
