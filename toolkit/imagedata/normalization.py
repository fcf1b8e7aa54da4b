"""The normalisation pretrained weights expect, applied to a dataset whose recipe normalises nothing itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from toolkit.imagedata.datasets import Dataset, ImageSet, Stat

log = logging.getLogger("toolkit")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""The statistics of ImageNet's training images, which most pretrained classification weights were trained with."""


@dataclass(frozen=True)
class Preprocessing:
    """How an encoder's pretrained weights expect their images: RGB ``mean`` and ``std`` after pixels are scaled to
    [0, 1], and the ``(height, width)`` they were trained at. ``source`` names the weights, for the log.

    An encoder that sets its ``preprocessing`` attribute to one of these gets it as the run's normalisation (training,
    evaluation and ``transform.json``) whenever the recipe's dataset normalises nothing itself, and its ``size`` as
    the size a dataset of image files resizes to whenever the recipe gives it no ``size``.
    """

    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    size: tuple[int, int] | None = None
    source: str = "the pretrained weights"

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std) or not self.mean or min(self.std) <= 0:
            raise ValueError(f"Preprocessing needs as many means as stds, each std above 0; got mean {self.mean} "
                             f"and std {self.std}")

    def for_channels(self, channels: int) -> tuple[Stat, Stat]:
        """The mean and std for images of ``channels`` channels: grey images take the average of the RGB values,
        since the encoder repeats them to three equal channels."""
        if channels == len(self.mean) > 1:
            return tuple(self.mean), tuple(self.std)
        return sum(self.mean) / len(self.mean), sum(self.std) / len(self.std)


def unnormalised(images: ImageSet) -> bool:
    """Whether ``images`` reach the encoder as pixels scaled to [0, 1] and nothing more."""
    return (images.mean, images.std) == (0.0, 1.0)  # a per-channel tuple never equals a number


def use_preprocessing(dataset: Dataset, preprocessing: Preprocessing | None) -> None:
    """Normalise every split of ``dataset`` that comes :func:`unnormalised` as ``preprocessing`` says (before any
    split is loaded)."""
    if preprocessing is None:
        return
    dataset.fallback_size = preprocessing.size

    def load(split: str, loader: Callable[[], ImageSet]) -> ImageSet:
        images = loader()
        if unnormalised(images):
            images.mean, images.std = preprocessing.for_channels(images.shape[0])
            if split == "train":
                log.info("normalising images with the mean %s and std %s of %s (the recipe's dataset sets no "
                         "normalisation)", _numbers(images.mean), _numbers(images.std), preprocessing.source)
        if split == "train" and preprocessing.size is not None:
            _log_size(images, preprocessing)
        return images

    dataset.loaders = {split: (lambda s=split, f=loader: load(s, f)) for split, loader in dataset.loaders.items()}


def _log_size(images: ImageSet, preprocessing: Preprocessing) -> None:
    (height, width), (h, w) = preprocessing.size, images.shape[1:]
    if (h, w) == (height, width):
        log.info("images are %dx%d, the size %s were trained at", w, h, preprocessing.source)
    else:
        log.info("%s were trained on %dx%d images; these are %dx%d (dataset.size = [%d, %d] would match them)",
                 preprocessing.source, width, height, w, h, height, width)


def _numbers(values: Stat) -> str:
    return ", ".join(f"{v:.4g}" for v in values) if isinstance(values, tuple) else f"{values:.4g}"
