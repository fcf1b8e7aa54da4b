"""Class-balanced batches: a fixed number of classes per batch and a fixed number of images of each."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
import torch

from toolkit.api import Batch, ToolkitError

from .label_table import LabelTable


class ClassBalancedSampler:
    """``classes_per_batch`` random classes per batch, ``images_per_class`` images of each (PML's MPerClassSampler).

    Losses and miners that work inside a batch (multi-similarity, lifted structure, batch-hard triplets)
    need several images of a class in every batch to find positives. Within an epoch each class walks
    through a fresh random order of its images, so every image is used about equally often; a class
    with fewer images than ``images_per_class`` repeats some of them in that batch. The whole epoch is
    drawn in a few vectorised steps.

    Args:
        classes_per_batch: distinct classes in each batch (the global batch: a distributed run shares it out among its processes).
        images_per_class: images of each of those classes in each batch (the "m" of m-per-class sampling).
        batches_per_epoch: batches per epoch (default: as many as make one pass over the training images).
    """

    kind = "labels"

    def __init__(self, *, classes_per_batch: Annotated[int, Field(ge=1)] = 8,
                 images_per_class: Annotated[int, Field(ge=1)] = 4,
                 batches_per_epoch: Annotated[int, Field(ge=1)] | None = None):
        self.classes_per_batch, self.images_per_class = classes_per_batch, images_per_class
        self.batches_per_epoch = batches_per_epoch
        self.batch_size = classes_per_batch * images_per_class

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        table = LabelTable(labels)
        present = table.present
        if self.classes_per_batch > len(present):
            raise ToolkitError(
                f"sampler.classes_per_batch = {self.classes_per_batch}, but the training data has only {len(present)} "
                f"classes. Set classes_per_batch to at most {len(present)} (and raise images_per_class to keep the "
                f"batch size)."
            )
        n_batches = self.batches_per_epoch or max(1, len(labels) // self.batch_size)
        keys = torch.rand(n_batches, len(present), generator=generator)
        chosen = present[keys.argsort(dim=1)[:, : self.classes_per_batch]].reshape(-1)

        shuffled = torch.randperm(len(labels), generator=generator)
        by_class = shuffled[torch.argsort(table.labels[shuffled], stable=True)]  # grouped by class, random within

        visit = torch.empty_like(chosen)  # how many times each class was chosen before this cell
        order = torch.argsort(chosen, stable=True)
        group_start = torch.searchsorted(chosen[order], chosen[order], right=False)
        visit[order] = torch.arange(len(chosen)) - group_start
        count = table.count[chosen]
        slot = (visit[:, None] * self.images_per_class + torch.arange(self.images_per_class)) % count[:, None]
        indices = by_class[table.start[chosen][:, None] + slot].reshape(n_batches, self.batch_size)
        return [Batch("labels", rows.unsqueeze(1), table.labels[rows].unsqueeze(1)) for rows in indices]
