"""How a run's images look to its encoder, stored in the run folder so images given later are read the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from toolkit.imagedata.datasets import ImageSet, Stat
from toolkit.errors import ToolkitError
from toolkit.imagedata.images import ImageReader
from toolkit.imagedata.normalization import Preprocessing


@dataclass(frozen=True)
class ImageTransform:
    """The evaluation transform: image shape (``channels`` × ``height`` × ``width``, uint8 pixels, other sizes resized
    bilinearly) and the ``mean``/``std`` (one number, or one per channel) that normalise pixels after scaling them to
    [0, 1], exactly as :meth:`toolkit.imagedata.datasets.ImageSet.to_float` does in training and evaluation."""

    channels: int
    height: int
    width: int
    mean: Stat = 0.0
    std: Stat = 1.0

    @classmethod
    def of(cls, images: ImageSet) -> "ImageTransform":
        """The transform of a training split."""
        channels, height, width = images.shape
        return cls(int(channels), int(height), int(width), _stat(images.mean), _stat(images.std))

    @property
    def preprocessing(self) -> Preprocessing | None:
        """This normalisation, for the splits of the run's dataset that the dataset leaves unnormalised."""
        if (self.mean, self.std) == (0.0, 1.0):
            return None
        as_tuple = (lambda v: v if isinstance(v, tuple) else (v,))
        return Preprocessing(as_tuple(self.mean), as_tuple(self.std), source="the run's transform.json")

    @property
    def reader(self) -> ImageReader:
        return ImageReader(channels=self.channels, size=(self.height, self.width))

    def describe(self) -> str:
        colour = "grey" if self.channels == 1 else "RGB"
        norm = f", normalised with mean {_text(self.mean)} and std {_text(self.std)}" if self.preprocessing else ""
        return f"{self.width}x{self.height} {colour}{norm}"

    def image_set(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                  class_names: list[str] | None = None) -> ImageSet:
        """uint8 images ``(N, C, H, W)`` as an :class:`ImageSet` that normalises like the training split."""
        if labels is None:
            labels = torch.full((len(images),), -1, dtype=torch.long)
        return ImageSet(images, labels, self.mean, self.std, class_names)

    def read(self, paths: list[Path], *, progress: bool = False) -> tuple[torch.Tensor, list[list[str]]]:
        """The images at ``paths`` as one uint8 tensor ``(N, C, H, W)``, and the conversions made to each."""
        from toolkit.progress import progress as progress_display

        reader = self.reader
        tensors, conversions = [], []
        for path in progress_display(paths, desc="reading images", unit="image", enabled=progress and len(paths) >= 100):
            tensor, made = reader.read(path)
            tensors.append(tensor)
            conversions.append(made)
        if not tensors:
            return torch.empty(0, self.channels, self.height, self.width, dtype=torch.uint8), []
        return torch.stack(tensors), conversions

    @property
    def formula(self) -> str:
        """What happens to pixels before they reach the encoder, in words."""
        return f"pixels / 255 then (x - {_text(self.mean)}) / {_text(self.std)}"

    def as_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "height": self.height, "width": self.width, "resize": "bilinear",
                "mean": _json(self.mean), "std": _json(self.std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: Path) -> "ImageTransform":
        try:
            return cls(int(data["channels"]), int(data["height"]), int(data["width"]), _stat(data["mean"]),
                       _stat(data["std"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ToolkitError(
                f"{where} is damaged ({type(exc).__name__}: {exc}); it should hold channels, height, width, mean and "
                "std. Delete it: the toolkit then derives the transform from the run's dataset again."
            ) from None


def _stat(value: Any) -> Stat:
    """A mean or std as stored: one float, or a tuple of floats (one per channel)."""
    return tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else float(value)


def _json(value: Stat) -> float | list[float]:
    return list(value) if isinstance(value, tuple) else value


def _text(value: Stat) -> str:
    return "[" + ", ".join(f"{v:g}" for v in value) + "]" if isinstance(value, tuple) else f"{value:g}"


def describe_conversions(paths: list[Path], conversions: list[list[str]], transform: ImageTransform) -> str | None:
    """One sentence about the images that had to be converted to the training images' form (None: none were)."""
    changed = [(p, c) for p, c in zip(paths, conversions) if c]
    if not changed:
        return None
    shown = "; ".join(f"{p.name}: {', '.join(c)}" for p, c in changed[:5])
    more = f"; and {len(changed) - 5} more" if len(changed) > 5 else ""
    return (f"{len(changed)} of {len(paths)} images did not match the training images ({transform.describe()}) "
            f"and were converted: {shown}{more}.")
