"""The validation split: a stratified, seeded share of the training images, held out in one place for every dataset."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch

from toolkit.errors import ToolkitError
from toolkit.imagedata.datasets import Dataset, ImageSet
from toolkit.imagedata.stratified import stratified_split

log = logging.getLogger("toolkit")

VALIDATION = "validation"
SPLIT_SEED = 0
"""The hold-out ignores ``run.seed``: runs with different seeds are compared on the same validation images."""


def hold_out_validation(dataset: Dataset, share: float | None, where: str) -> None:
    """Give ``dataset`` a ``validation`` split of ``share`` of its training images (and a train split without
    them), split lazily the first time either is asked for. A dataset with its own validation split keeps it."""
    if share is None:
        return
    if VALIDATION in dataset.loaders:
        log.info("dataset %r has its own validation split; dataset.validation = %g is not applied", dataset.name, share)
        return
    load_train = dataset.loaders["train"]
    parts: dict[str, Any] = {}

    def split(name: str) -> ImageSet:
        if not parts:
            full = load_train().subset(dataset.limit)
            held = stratified_indices(full.labels, share, where)
            keep = torch.ones(len(full), dtype=torch.bool)
            keep[held] = False
            parts.update(train=_take(full, keep.nonzero().squeeze(1)), validation=_take(full, held))
            dataset.holdout = {"share": share, "seed": SPLIT_SEED, "train_indices": held.tolist()}
        return parts[name]

    loaders = dict(dataset.loaders)
    loaders["train"] = lambda: split("train")
    loaders[VALIDATION] = lambda: split(VALIDATION)
    dataset.loaders = loaders


def stratified_indices(labels: torch.Tensor, share: float, where: str) -> torch.Tensor:
    """Sorted indices of a stratified ``share`` of ``labels`` (every class keeps its proportion), seeded."""
    numbers = labels.cpu().numpy()
    classes, counts = np.unique(numbers, return_counts=True)
    held = math.ceil(share * len(numbers))  # as train_test_split rounds
    if held < 2 * len(classes) or counts.min() < 2:
        reason = (f"class {classes[counts.argmin()]} has a single training image" if counts.min() < 2 else
                  f"it holds out {held} of the {len(numbers)} training images, fewer than two for each of the "
                  f"{len(classes)} classes")
        raise ToolkitError(
            f"{where}: dataset.validation = {share:g} cannot give every class two validation images: {reason}. The "
            "same/different threshold is calibrated on validation pairs, so every class needs two images there: raise "
            "dataset.validation, raise or remove dataset.limit, or drop the classes with fewer images."
        )
    _, chosen = stratified_split(numbers, share, SPLIT_SEED)
    return torch.from_numpy(np.sort(chosen))


def check_validation_pairs(images: ImageSet, where: str) -> None:
    """Every class of the validation split has at least two images, so that same-class pairs exist."""
    classes, counts = torch.unique(images.labels, return_counts=True)
    lonely = classes[counts < 2].tolist()
    if not lonely:
        return
    names = [images.class_names[c] if images.class_names and c < len(images.class_names) else str(c) for c in lonely]
    raise ToolkitError(
        f"{where}: the validation split has {len(lonely)} class(es) with a single image ({', '.join(names[:5])}"
        f"{', ...' if len(names) > 5 else ''}); every class needs at least two images there, since the same/different "
        "threshold is calibrated on validation pairs. Raise dataset.validation (the share held out), raise or remove "
        "dataset.limit, or add images of those classes to the dataset's validation split."
    )


def _take(images: ImageSet, indices: torch.Tensor) -> ImageSet:
    """The items at ``indices``; streamed images stay streamed rather than being decoded here."""
    pixels = images.images
    picked = pixels[indices.to(pixels.device)] if isinstance(pixels, torch.Tensor) else pixels.take(indices)
    return ImageSet(picked, images.labels[indices], images.mean, images.std, images.class_names)
