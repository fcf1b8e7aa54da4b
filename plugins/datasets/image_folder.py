"""A folder of images with one sub-folder per class (identity), such as the AT&T faces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
import torch

from toolkit.api import data_root, DATA_VARIABLE, Dataset, files_dataset, image_files, ImageFiles, IMAGE_SUFFIXES, ToolkitError

from .reading import Mean, Size, Std, loading, with_reading_args


KINDS = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES[:6])


def class_folders(folder: Path, key: str) -> list[Path]:
    """The class sub-folders of ``folder``, sorted by name; at least two."""
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
    return classes


def list_classes(classes: list[Path]) -> ImageFiles:
    """Every image file of the class folders, labelled with its folder's position in ``classes``; each folder is
    checked to hold at least two images."""
    paths, labels = [], []
    for label, folder in enumerate(classes):
        found = image_files(folder)
        if len(found) < 2:
            raise ToolkitError(
                f"The class folder {str(folder)!r} holds {'no image files' if not found else 'a single image'}; every "
                f"class needs at least two images ({KINDS}, ...) so that it has a positive pair. Add images to it or "
                "remove it."
            )
        paths += found
        labels += [label] * len(found)
    return ImageFiles(paths, labels)


@with_reading_args
def image_folder(*, folder: str, data_dir: str | None = None, train_dir: str | None = None, test_dir: str | None = None,
                 test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2,
                 split_by: Literal["identity", "image"] = "identity",
                 train_classes: Annotated[int, Field(ge=2)] | None = None, seed: int = 0,
                 size: Size | None = None, channels: Literal[1, 3] = 1, normalize: bool = False,
                 mean: Mean = 0.5, std: Std = 0.5, on_bad_image: Literal["error", "skip"] = "error",
                 load: Literal["cache", "memory", "stream"] = "cache", cache_dir: str | None = None,
                 workers: Annotated[int, Field(ge=0)] = 2) -> Dataset:
    """Images in one sub-folder per class (PGM, PNG, JPG, WebP, ...), decoded once into the prepared cache.

    With ``test_dir`` the two splits are two folders of classes (the AT&T faces: ``training/`` and
    ``testing/`` hold different people). Without it, one folder of classes is split: ``train_classes = N``
    trains on the first N class folders by name and tests on the rest (the protocol of CUB-200, Cars196 and
    Stanford Online Products); else ``split_by = "identity"`` holds out a random share of whole classes
    (verification on people never seen in training; labels of each split then number its own classes), and
    ``"image"`` holds out a share of every class's images.

    Args:
        folder: the folder of class sub-folders, or the folder above ``train_dir``/``test_dir``. A relative
            path is read from the data root (``data_dir``, else ``$TOOLKIT_DATA``, else ``~/.cache/toolkit/data``).
        data_dir: data root for a relative ``folder``.
        train_dir: sub-folder of ``folder`` holding the training classes (default: ``folder`` itself).
        test_dir: sub-folder of ``folder`` holding the test classes; without it the training classes are split.
        test_fraction: share of classes (``split_by = "identity"``) or of each class's images (``"image"``)
            held out for the test split when there is no ``test_dir``.
        split_by: ``identity`` or ``image``, see above.
        train_classes: train on the first this many class folders (sorted by name), test on the others.
        seed: seed of the random split.
    """
    root = Path(folder).expanduser()
    if not root.is_absolute():
        root = data_root(data_dir) / root
    return files_dataset(root.name or "image_folder", ["train", "test"],
                         lambda: _list_splits(root, train_dir, test_dir, split_by, train_classes, test_fraction, seed),
                         loading(locals()))


def _list_splits(root, train_dir, test_dir, split_by, train_classes, fraction, seed) -> dict[str, tuple[ImageFiles, list[str]]]:
    train_root = root / train_dir if train_dir else root
    classes = class_folders(train_root, "dataset.train_dir" if train_dir else "dataset.folder")
    if test_dir is not None:
        test_classes = class_folders(root / test_dir, "dataset.test_dir")
        return {"train": (list_classes(classes), [c.name for c in classes]),
                "test": (list_classes(test_classes), [c.name for c in test_classes])}
    files = list_classes(classes)
    if train_classes is not None:
        if not 2 <= train_classes <= len(classes) - 2:
            raise ToolkitError(
                f"dataset.train_classes = {train_classes}, but the image folder {str(train_root)!r} has {len(classes)} "
                "classes; each split needs at least two. Lower train_classes or add classes."
            )
        return _by_class(files, classes, list(range(train_classes)), list(range(train_classes, len(classes))))
    generator = torch.Generator().manual_seed(seed)
    if split_by == "identity":
        held = _held_out_classes(classes, train_root, fraction, generator)
        return _by_class(files, classes, sorted(set(range(len(classes))) - set(held)), held)
    is_test = _held_out_images(torch.tensor(files.labels), classes, fraction, generator)
    names = [c.name for c in classes]
    return {"train": (files.take(torch.nonzero(~is_test).flatten().tolist()), names),
            "test": (files.take(torch.nonzero(is_test).flatten().tolist()), names)}


def _by_class(files: ImageFiles, classes: list[Path], train: list[int], test: list[int]) -> dict[str, tuple[ImageFiles, list[str]]]:
    """Two splits of whole classes; the labels of each split number its own classes."""
    splits = {}
    for split, chosen in (("train", train), ("test", test)):
        renumber = {old: new for new, old in enumerate(chosen)}
        keep = [i for i, label in enumerate(files.labels) if label in renumber]
        kept = files.take(keep)
        splits[split] = (ImageFiles(kept.paths, [renumber[label] for label in kept.labels]), [classes[i].name for i in chosen])
    return splits


def _held_out_classes(classes, where, fraction, generator) -> list[int]:
    if len(classes) < 4:
        raise ToolkitError(
            f"The image folder {str(where)!r} has {len(classes)} classes: too few to hold whole classes out (each split "
            "needs at least two). Set dataset.split_by = \"image\" to hold out images of every class, or give the test "
            "classes their own folder with dataset.test_dir."
        )
    held = min(max(2, round(fraction * len(classes))), len(classes) - 2)
    order = torch.randperm(len(classes), generator=generator)
    return sorted(order[:held].tolist())


def _held_out_images(labels, classes, fraction, generator) -> torch.Tensor:
    """Which images are held out: a share of every class's, drawn by ``generator``."""
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
    return (rank - starts[labels]) < held[labels]
