"""scikit-learn's bundled 8x8 digits: real data that needs no download."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
import torch

from toolkit.api import Dataset, ImageSet


def digits(*, test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.25, seed: int = 0) -> Dataset:
    """The 1,797 8x8 handwritten digits that ship with scikit-learn, split into train and test.

    Args:
        test_fraction: share of images held out as the test split (stratified by class).
        seed: seed of the split.
    """

    def load() -> tuple[ImageSet, ImageSet]:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        bunch = load_digits()
        images = torch.from_numpy(bunch.images * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)
        labels = torch.from_numpy(bunch.target).long()
        train, test = train_test_split(torch.arange(len(labels)).numpy(), test_size=test_fraction,
                                       random_state=seed, stratify=labels.numpy())
        names = [str(d) for d in range(10)]
        return (ImageSet(images[train], labels[train], class_names=names),
                ImageSet(images[test], labels[test], class_names=names))

    cache: dict[str, tuple[ImageSet, ImageSet]] = {}

    def split(index: int):
        def loader() -> ImageSet:
            if "both" not in cache:
                cache["both"] = load()
            return cache["both"][index]
        return loader

    return Dataset("digits", {"train": split(0), "test": split(1)})
