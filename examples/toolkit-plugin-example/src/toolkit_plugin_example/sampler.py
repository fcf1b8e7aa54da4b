"""Shuffled batches that hold every class of the batch at least twice, so an in-batch miner finds positives."""

from __future__ import annotations

import torch

from toolkit.api import Batch, ToolkitError


class ClassPairsSampler:
    """Batches of ``classes_per_batch`` random classes with ``images_per_class`` random images of each.

    Args:
        classes_per_batch: distinct classes in each batch.
        images_per_class: images of each of those classes in each batch (at least 2, so every image has a positive).
    """

    kind = "labels"

    def __init__(self, *, classes_per_batch: int = 4, images_per_class: int = 4):
        if classes_per_batch < 1 or images_per_class < 2:
            raise ValueError(f"classes_per_batch must be at least 1 and images_per_class at least 2, got "
                             f"{classes_per_batch} and {images_per_class}")
        self.classes_per_batch, self.images_per_class = classes_per_batch, images_per_class
        self.batch_size = classes_per_batch * images_per_class

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        classes = labels.unique()
        if len(classes) < self.classes_per_batch:
            raise ToolkitError(f"sampler.classes_per_batch = {self.classes_per_batch}, but the training data has "
                               f"{len(classes)} classes. Set classes_per_batch to at most {len(classes)}.")
        batches = []
        for _ in range(max(1, len(labels) // self.batch_size)):
            chosen = classes[torch.randperm(len(classes), generator=generator)[: self.classes_per_batch]]
            rows = [self._images_of(labels, c, generator) for c in chosen]
            indices = torch.cat(rows)
            batches.append(Batch("labels", indices.unsqueeze(1), labels[indices].unsqueeze(1)))
        return batches

    def _images_of(self, labels: torch.Tensor, label: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        members = torch.nonzero(labels == label).flatten()
        picks = torch.randint(len(members), (self.images_per_class,), generator=generator)
        return members[picks]
