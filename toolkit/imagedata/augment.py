"""Training-time augmentation: the recipe's ``[[augment]]`` steps on uint8 images, each image drawing its own parameters.

The steps are built like any component (``torchvision.transforms.v2`` classes by name, or a plugin's
``register_augmentations``). They draw from torch's global generator, which the run seeds and checkpoints,
so a run and its resumption draw the same parameters; streamed images are augmented by the DataLoader workers
that decode them, each planned batch from its own seed. Evaluation sees the images without them; normalisation is
no step here but the dataset's (``normalize``, ``mean``, ``std``), applied in training and evaluation alike.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch

from toolkit.errors import ToolkitError
from toolkit.imagedata.datasets import ImageSet


class Augmentation:
    """Steps ``(name, transform)`` applied in order to one ``uint8`` image ``(C, H, W)`` at a time."""

    def __init__(self, steps: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]):
        self.steps = steps

    def __call__(self, images: torch.Tensor, *, seed: int | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
        """A batch ``(N, C, H, W)``, every image transformed with its own random draw, written into ``out`` (a new
        tensor when None). With ``seed`` the draws come from torch's generator seeded with it, and the global
        generator is left as it was: the batch is augmented alike in any process."""
        out = torch.empty_like(images) if out is None else out
        with _seeded(seed):
            for i, image in enumerate(images):
                for _, step in self.steps:
                    image = step(image)
                out[i] = image
        return out

    def check(self, example: torch.Tensor, where: str) -> None:
        """Run every step on ``example`` (one training image) and refuse one that fails or changes its shape or type."""
        image = example
        for index, (name, step) in enumerate(self.steps):
            try:
                image = step(image)
            except Exception as exc:  # noqa: BLE001  any failure here is the step's parameters against these images
                raise ToolkitError(
                    f"{where}: [[augment]] {index} ({name!r}) fails on the training images, shaped {tuple(example.shape)} "
                    f"{example.dtype}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. Change its "
                    "parameters or remove it."
                ) from None
            if not isinstance(image, torch.Tensor) or image.shape != example.shape or image.dtype != example.dtype:
                got = f"{tuple(image.shape)} {image.dtype}" if isinstance(image, torch.Tensor) else type(image).__name__
                raise ToolkitError(
                    f"{where}: [[augment]] {index} ({name!r}) turns a {tuple(example.shape)} {example.dtype} training "
                    f"image into {got}; every step must keep the image's shape and uint8 pixels (a crop needs "
                    f"size = {list(example.shape[1:])}; normalise with the dataset's normalize, mean and std)."
                )


def normalize_is_no_step(section: str, params: dict[str, Any], where: str, dataset: str | None) -> ToolkitError:
    """The answer to an ``[[augment]]`` step named ``Normalize``: where normalisation is written instead (``dataset``:
    the recipe's dataset when it takes ``normalize``, ``mean`` and ``std``; None when it takes none)."""
    mean, std = params.get("mean", "[...]"), params.get("std", "[...]")
    instead = (f"write it under [dataset] instead: normalize = true, mean = {mean}, std = {std} (one number for every "
               "channel, or one per channel); the run then applies it in training and evaluation and records it in "
               "transform.json. A pretrained backbone brings its own when [dataset] sets none." if dataset else
               "the recipe's dataset takes no normalisation parameters, so its pixels reach the encoder scaled to "
               "[0, 1] (or normalised by a pretrained backbone's own statistics).")
    return ToolkitError(
        f"{where}: {section}.name = \"Normalize\": normalisation is not an augmentation step, because evaluation and "
        "the images given later to `toolkit embed`, `compare` and `search` must be normalised too (and augmentation "
        f"keeps uint8 pixels). Remove this step; {instead}"
    )


@dataclass
class AugmentedImageSet(ImageSet):
    """A training split whose batches go through an :class:`Augmentation` before they become floats."""

    augmentation: Augmentation | None = None

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        images = self.images[indices.reshape(-1)]
        if self.augmentation is not None:
            images = self.augmentation(images)
        return self.to_float(images)


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):  # the CPU generator only: the steps run on CPU tensors
        torch.manual_seed(seed)
        yield


def with_augmentation(images: ImageSet, augmentation: Augmentation | None) -> ImageSet:
    """``images`` whose batches are augmented (``images`` itself without augmentation). Streamed images are
    augmented by their DataLoader workers as they decode them; other images in the step's process."""
    if augmentation is None or not augmentation.steps:
        return images
    if hasattr(images.images, "augmented"):
        streamed = images.images.augmented(augmentation)
        return ImageSet(streamed, images.labels, images.mean, images.std, images.class_names)
    return AugmentedImageSet(images.images, images.labels, images.mean, images.std, images.class_names, augmentation)

