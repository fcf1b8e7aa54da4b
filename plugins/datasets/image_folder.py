"""A folder of images with one sub-folder per class (identity), such as the AT&T faces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
import torch

from toolkit.api import (
    data_root,
    DATA_VARIABLE,
    Dataset,
    image_files,
    IMAGE_SUFFIXES,
    ImageReader,
    ImageSet,
    ToolkitError,
)


KINDS = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES[:6])


def class_folders(folder: Path, key: str) -> list[Path]:
    """The class sub-folders of ``folder``, sorted by name, each checked to hold at least two images."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ToolkitError(
            f"The image folder {str(folder)!r} ({key}) {what}. Point {key} at a folder holding one sub-folder per "
            f"class; a relative path is read from the data root (dataset.data_dir, else ${DATA_VARIABLE})."
        )
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        names = f" ({classes[0].name!r})" if classes else ""
        raise ToolkitError(
            f"The image folder {str(folder)!r} ({key}) has {len(classes)} class sub-folder(s){names}; pairs, triplets "
            "and verification need at least two classes, each in its own sub-folder of images. Add a sub-folder per "
            "class (identity)."
        )
    for c in classes:
        count = len(image_files(c))
        if count < 2:
            raise ToolkitError(
                f"The class folder {str(c)!r} holds {'no image files' if count == 0 else 'a single image'}; every class "
                f"needs at least two images ({KINDS}, ...) so that it has a positive pair. Add images to it or remove it."
            )
    return classes


def read_classes(classes: list[Path], reader: ImageReader, like: torch.Size | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of the class folders as one uint8 tensor ``(N, C, H, W)``, and the class index of each.

    All images must share one shape (``like``, when given: that of the images read before)."""
    images, labels = [], []
    for label, folder in enumerate(classes):
        for path in image_files(folder):
            image, _ = reader.read(path)
            like = like or image.shape
            if image.shape != like:
                raise ToolkitError(
                    f"The image {str(path)!r} is {image.shape[2]}x{image.shape[1]} but the first image read was "
                    f"{like[2]}x{like[1]}. Set dataset.size = [height, width] to resize every image to one size."
                )
            images.append(image)
            labels.append(label)
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)


Size = Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)]


def image_folder(*, folder: str, data_dir: str | None = None, train_dir: str | None = None, test_dir: str | None = None,
                 test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2,
                 split_by: Literal["identity", "image"] = "identity", seed: int = 0, size: Size | None = None,
                 channels: Literal[1, 3] = 1, normalize: bool = False, mean: float = 0.5, std: float = 0.5) -> Dataset:
    """Images in one sub-folder per class (PGM, PNG, JPG, ...), read once into memory.

    With ``test_dir`` the two splits are two folders of classes (the AT&T faces: ``training/`` and
    ``testing/`` hold different people). Without it, one folder of classes is split: ``split_by =
    "identity"`` holds out whole classes (verification on people never seen in training; labels of each
    split then number its own classes), ``"image"`` holds out a share of every class's images.

    Args:
        folder: the folder of class sub-folders, or the folder above ``train_dir``/``test_dir``. A relative
            path is read from the data root (``data_dir``, else ``$TOOLKIT_DATA``, else ``~/.cache/toolkit/data``).
        data_dir: data root for a relative ``folder``.
        train_dir: sub-folder of ``folder`` holding the training classes (default: ``folder`` itself).
        test_dir: sub-folder of ``folder`` holding the test classes; without it the training classes are split.
        test_fraction: share of classes (``split_by = "identity"``) or of each class's images (``"image"``)
            held out for the test split when there is no ``test_dir``.
        split_by: ``identity`` or ``image``, see above.
        seed: seed of that split.
        size: ``[height, width]`` every image is resized to (default: keep the size; all images must share it).
        channels: 1 reads grey-scale, 3 reads RGB.
        normalize: subtract ``mean`` and divide by ``std`` after scaling pixels to [0, 1].
        mean: normalisation mean.
        std: normalisation standard deviation.
    """
    root = Path(folder).expanduser()
    if not root.is_absolute():
        root = data_root(data_dir) / root
    reader = ImageReader(channels=channels, size=tuple(size) if size else None)
    mean, std = (mean, std) if normalize else (0.0, 1.0)
    cache: dict[str, ImageSet] = {}

    def make(images: torch.Tensor, labels: torch.Tensor, names: list[str]) -> ImageSet:
        return ImageSet(images, labels, mean, std, names)

    def load_all() -> dict[str, ImageSet]:
        if cache:
            return cache
        train_root = root / train_dir if train_dir else root
        train_classes = class_folders(train_root, "dataset.train_dir" if train_dir else "dataset.folder")
        if test_dir is not None:
            test_classes = class_folders(root / test_dir, "dataset.test_dir")
            like = None
            for split, classes in (("train", train_classes), ("test", test_classes)):
                cache[split] = make(*read_classes(classes, reader, like), [c.name for c in classes])
                like = cache[split].images.shape[1:]
            return cache
        generator = torch.Generator().manual_seed(seed)
        if split_by == "identity":
            cache.update(_split_identities(train_classes, train_root, test_fraction, generator, reader, make))
        else:
            images, labels = read_classes(train_classes, reader)
            cache.update(_split_images(images, labels, train_classes, train_root, test_fraction, generator, make))
        return cache

    return Dataset(root.name or "image_folder", {"train": lambda: load_all()["train"], "test": lambda: load_all()["test"]})


def _split_identities(classes, where, fraction, generator, reader, make) -> dict[str, ImageSet]:
    if len(classes) < 4:
        raise ToolkitError(
            f"The image folder {str(where)!r} has {len(classes)} classes: too few to hold whole classes out (each split "
            "needs at least two). Set dataset.split_by = \"image\" to hold out images of every class, or give the test "
            "classes their own folder with dataset.test_dir."
        )
    held = min(max(2, round(fraction * len(classes))), len(classes) - 2)
    order = torch.randperm(len(classes), generator=generator)
    images, labels = read_classes(classes, reader)
    splits = {}
    for split, chosen in (("train", sorted(order[held:].tolist())), ("test", sorted(order[:held].tolist()))):
        renumber = torch.full((len(classes),), -1, dtype=torch.long)
        renumber[chosen] = torch.arange(len(chosen))
        keep = renumber[labels] >= 0
        splits[split] = make(images[keep], renumber[labels[keep]], [classes[i].name for i in chosen])
    return splits


def _split_images(images, labels, classes, where, fraction, generator, make) -> dict[str, ImageSet]:
    counts = torch.bincount(labels, minlength=len(classes))
    if int(counts.min()) < 3:
        small = classes[int(counts.argmin())]
        raise ToolkitError(
            f"The class folder {str(small)!r} holds {int(counts.min())} images; with dataset.split_by = \"image\" every "
            "class needs at least three (two to train on, one to test). Add images, or hold out whole classes with "
            "dataset.split_by = \"identity\"."
        )
    order = torch.randperm(len(labels), generator=generator)
    by_class = order[torch.argsort(labels[order], stable=True)]  # shuffled within each class, classes in order
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(by_class)
    rank[by_class] = torch.arange(len(by_class))
    held = torch.clamp((counts.double() * fraction).round().long(), min=1)
    held = torch.minimum(held, counts - 2)
    is_test = (rank - starts[labels]) < held[labels]
    names = [c.name for c in classes]
    return {"train": make(images[~is_test], labels[~is_test], names), "test": make(images[is_test], labels[is_test], names)}
