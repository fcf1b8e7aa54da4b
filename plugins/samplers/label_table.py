"""Label → indices tables, built once per epoch, for drawing same-class and other-class partners."""

from __future__ import annotations

import torch

from toolkit.api import ToolkitError


class LabelTable:
    """Indices sorted by class, so that partners of many anchors are drawn in one vectorised step.

    ``order`` lists all indices grouped by class; class ``c`` occupies ``order[start[c] : start[c] + count[c]]``.
    """

    def __init__(self, labels: torch.Tensor):
        self.labels = labels.long()
        self.order = torch.argsort(self.labels, stable=True)
        classes = int(self.labels.max()) + 1 if len(labels) else 0
        self.count = torch.bincount(self.labels, minlength=classes)
        self.start = torch.cumsum(self.count, 0) - self.count
        self.present = (self.count > 0).nonzero().flatten()
        self.rank = torch.empty_like(self.order)
        self.rank[self.order] = torch.arange(len(self.order))

    def check_pairs_possible(self) -> None:
        if len(self.present) < 2:
            raise ToolkitError(
                f"The training data has {len(self.present)} class(es); pairs and triplets need at least two classes "
                "(a negative partner must come from another class). Add images of more classes."
            )
        singles = (self.count == 1).nonzero().flatten().tolist()
        if singles:
            raise ToolkitError(
                f"Classes {singles[:10]} have a single training image, so no positive partner exists for them. "
                "Give every class at least two images, or leave those classes out."
            )

    def same_class(self, anchors: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A uniformly random other member of each anchor's class (never the anchor itself)."""
        cls = self.labels[anchors]
        slot = (torch.rand(len(anchors), generator=generator) * (self.count[cls] - 1)).long()
        own_slot = self.rank[anchors] - self.start[cls]
        slot = slot + (slot >= own_slot).long()
        return self.order[self.start[cls] + slot]

    def other_class(self, anchors: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A uniformly random image of any other class for each anchor."""
        cls = self.labels[anchors]
        outside = len(self.labels) - self.count[cls]
        r = (torch.rand(len(anchors), generator=generator) * outside).long()
        r = r + (r >= self.start[cls]).long() * self.count[cls]
        return self.order[r]
