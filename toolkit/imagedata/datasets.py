"""Images in memory: the form every dataset plugin hands to the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Union

import torch

from toolkit.errors import ToolkitError

Stat = Union[float, tuple[float, ...]]
"""A normalisation mean or std: one number for every channel, or one per channel."""


def normalize(x: torch.Tensor, mean: Stat, std: Stat) -> torch.Tensor:
    """``(x - mean) / std`` in place on a float batch ``(N, C, H, W)``, per channel when given per channel."""
    if isinstance(mean, tuple) or isinstance(std, tuple):
        def per_channel(values: Stat) -> torch.Tensor:
            return torch.tensor(values, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)

        return x.sub_(per_channel(mean)).div_(per_channel(std))
    if mean != 0.0 or std != 1.0:
        x = x.sub_(mean).div_(std)
    return x


@dataclass
class ImageSet:
    """One split of a dataset, held in memory.

    ``images`` is a ``uint8`` tensor ``(N, C, H, W)`` (or float, already scaled); ``labels`` is
    ``int64`` ``(N,)``. ``mean`` and ``std`` (numbers, or one per channel) normalise pixels after scaling them to
    [0, 1]; :meth:`batch` gathers and converts any set of indices in one vectorised step.

    Items with 1 (grey) or 3 (RGB) channels are images, and runs draw them in their figures. Other items, such
    as feature vectors stored as ``(N, D, 1, 1)``, train and evaluate the same way; :attr:`is_image` is False for
    them and figures that would show them as pictures are left out.
    """

    images: torch.Tensor
    labels: torch.Tensor
    mean: Stat = 0.0
    std: Stat = 1.0
    class_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"images must be shaped (N, C, H, W), got {tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ToolkitError(
                f"The dataset has {len(self.images)} images but {len(self.labels)} labels; "
                "the image and label files must come from the same release."
            )
        self.labels = self.labels.long()

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    @property
    def is_image(self) -> bool:
        """Whether each item can be drawn as a picture: 1 (grey) or 3 (RGB) channels."""
        return self.images.shape[1] in (1, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def to_float(self, images: torch.Tensor) -> torch.Tensor:
        """Scale a gathered batch to floats and normalise it."""
        x = images.float()
        if images.dtype == torch.uint8:
            x = x.div_(255.0)
        return normalize(x, self.mean, self.std)

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        """Float images at ``indices`` (any shape of index tensor, flattened)."""
        return self.to_float(self.images[indices.reshape(-1)])

    def rows(self, start: int, stop: int) -> "ImageSet":
        """Items ``start:stop`` (views of the same tensors)."""
        return ImageSet(self.images[start:stop], self.labels[start:stop], self.mean, self.std, self.class_names)

    def subset(self, limit: int | None) -> "ImageSet":
        """The first ``limit`` items (all when ``limit`` is None)."""
        if limit is None or limit >= len(self):
            return self
        return self.rows(0, limit)


@dataclass
class Dataset:
    """Named splits, each loaded the first time it is asked for.

    ``loaders`` maps a split name (``"train"``, ``"test"``) to a function returning its
    :class:`ImageSet`. ``limit`` keeps only the first items of every split (for quick runs). A loader that
    leaves unreadable files out lists them in ``skipped[split]``; the run counts them in ``metrics.json``.
    """

    name: str
    loaders: dict[str, Callable[[], ImageSet]]
    limit: int | None = None
    holdout: dict[str, Any] | None = None
    """How the validation split was held out of the training images (share, seed, indices), when it was."""
    skipped: dict[str, list[str]] = field(default_factory=dict)
    fallback_size: tuple[int, int] | None = None
    """``(height, width)`` that a dataset of image files without a size of its own resizes to: the size a
    pretrained backbone's weights were trained at."""
    _loaded: dict[str, ImageSet] = field(default_factory=dict, repr=False)

    @property
    def split_names(self) -> list[str]:
        return list(self.loaders)

    def split(self, name: str) -> ImageSet:
        if name not in self.loaders:
            raise ToolkitError(
                f"Dataset {self.name!r} has no split {name!r}; its splits are: {', '.join(self.loaders)}."
            )
        if name not in self._loaded:
            self._loaded[name] = self.loaders[name]().subset(self.limit)
        return self._loaded[name]
