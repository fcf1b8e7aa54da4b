"""scikit-learn's bundled 8x8 digits: real data that needs no download."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field
import torch

from toolkit.api import Dataset, ImageSet, ToolkitError, stratified_split


def digits(*, test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.25, seed: int = 0) -> Dataset:
    """The 1,797 8x8 handwritten digits that ship with scikit-learn, split into train and test.

    Args:
        test_fraction: share of images held out as the test split (stratified by class).
        seed: seed of the split.
    """

    def load() -> tuple[ImageSet, ImageSet]:
        pixels, targets = read_digits()
        images = torch.from_numpy(pixels * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)
        labels = torch.from_numpy(targets).long()
        train, test = stratified_split(labels.numpy(), test_fraction, seed)
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


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits as ``load_digits()`` gives them, ``(images (N, 8, 8) float64 in 0-16, labels (N,))``, read from
    scikit-learn's data file directly: importing scikit-learn's datasets takes seconds."""
    spec = importlib.util.find_spec("sklearn")
    file = Path((spec.submodule_search_locations or [""])[0] if spec else "") / "datasets" / "data" / "digits.csv.gz"
    if spec is None or not file.is_file():
        raise ToolkitError("The digits dataset is read from scikit-learn's data files, and no installed scikit-learn "
                           "holds them. Install scikit-learn (`pip install scikit-learn`), or choose another dataset.")
    with gzip.open(file, "rt", encoding="utf-8") as handle:
        table = np.loadtxt(handle, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(int)
