"""Pairs and triplets for Siamese and triplet networks, drawn for a whole epoch at once."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
import torch

from toolkit.api import Batch

from .label_table import LabelTable


def _anchors(count: int | None, size: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` shuffled indices: a permutation of the split, or draws with replacement beyond its size."""
    n = count or size
    if n <= size:
        return torch.randperm(size, generator=generator)[:n]
    return torch.randint(size, (n,), generator=generator)


def _split(kind: str, indices: torch.Tensor, labels: torch.Tensor, batch_size: int, drop_last: bool,
           same: torch.Tensor | None = None) -> list[Batch]:
    batches = []
    for start in range(0, len(indices), batch_size):
        stop = start + batch_size
        if drop_last and stop > len(indices) and start > 0:
            break
        rows = indices[start:stop]
        batches.append(Batch(kind, rows, labels[rows], None if same is None else same[start:stop]))
    return batches


class PairSampler:
    """Pairs of images, a share ``positive_fraction`` of them from the same class.

    Each epoch every training image (or ``pairs_per_epoch`` random ones) is the first member of one pair;
    its partner is a random other image of its class (positive) or a random image of any other class
    (negative).

    Args:
        batch_size: pairs per batch (the global batch: a distributed run shares it out among its processes).
        positive_fraction: share of same-class pairs.
        pairs_per_epoch: pairs per epoch (default: one per training image).
        drop_last: drop a last, smaller batch.
    """

    kind = "pairs"

    def __init__(self, *, batch_size: Annotated[int, Field(ge=1)] = 128,
                 positive_fraction: Annotated[float, Field(ge=0, le=1)] = 0.5,
                 pairs_per_epoch: Annotated[int, Field(ge=1)] | None = None,
                 drop_last: bool = False):
        self.batch_size, self.positive_fraction = batch_size, positive_fraction
        self.pairs_per_epoch, self.drop_last = pairs_per_epoch, drop_last

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        table = LabelTable(labels)
        table.check_pairs_possible()
        first = _anchors(self.pairs_per_epoch, len(labels), generator)
        same = torch.rand(len(first), generator=generator) < self.positive_fraction
        second = torch.where(same, table.same_class(first, generator), table.other_class(first, generator))
        return _split("pairs", torch.stack([first, second], dim=1), table.labels, self.batch_size, self.drop_last, same)


class TripletSampler:
    """Triplets (anchor, positive of its class, negative of another class), drawn fresh every epoch.

    Args:
        batch_size: triplets per batch (the global batch: a distributed run shares it out among its processes).
        triplets_per_epoch: triplets per epoch (default: one per training image as anchor).
        drop_last: drop a last, smaller batch.
    """

    kind = "triplets"

    def __init__(self, *, batch_size: Annotated[int, Field(ge=1)] = 128,
                 triplets_per_epoch: Annotated[int, Field(ge=1)] | None = None, drop_last: bool = False):
        self.batch_size, self.triplets_per_epoch, self.drop_last = batch_size, triplets_per_epoch, drop_last

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        table = LabelTable(labels)
        table.check_pairs_possible()
        anchors = _anchors(self.triplets_per_epoch, len(labels), generator)
        triplets = torch.stack([anchors, table.same_class(anchors, generator), table.other_class(anchors, generator)], dim=1)
        return _split("triplets", triplets, table.labels, self.batch_size, self.drop_last)


class BatchSampler:
    """Plain shuffled batches of labelled images, for classification-style and in-batch mining losses.

    Args:
        batch_size: images per batch (the global batch: a distributed run shares it out among its processes).
        drop_last: drop a last, smaller batch.
    """

    kind = "labels"

    def __init__(self, *, batch_size: Annotated[int, Field(ge=1)] = 128, drop_last: bool = False):
        self.batch_size, self.drop_last = batch_size, drop_last

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        order = torch.randperm(len(labels), generator=generator).unsqueeze(1)
        return _split("labels", order, labels.long(), self.batch_size, self.drop_last)
