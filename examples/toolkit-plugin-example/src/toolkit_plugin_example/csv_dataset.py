"""Images stored as CSV rows of pixels, the format of the Kaggle Fashion-MNIST and MNIST CSV files.

Each file has a header line (``label,pixel1,pixel2,...,pixel784``) and one row per image: the class
label, then the grey pixel values 0-255 row by row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from toolkit.api import Dataset, ImageSet, ToolkitError


def read_pixel_csv(path: Path, *, height: int, width: int, label_column: str = "label") -> ImageSet:
    """All rows of ``path`` as one uint8 ``(N, 1, height, width)`` tensor and their labels, read by numpy at once."""
    with path.open(encoding="utf-8") as handle:
        header = [name.strip() for name in handle.readline().split(",")]
    if label_column not in header:
        raise ToolkitError(
            f"{path}: the header has no {label_column!r} column (it starts {','.join(header[:3])},...). The first line "
            f"must name the columns, e.g. label,pixel1,...,pixel{height * width}; set dataset.label_column if the "
            "label column has another name."
        )
    if len(header) - 1 != height * width:
        raise ToolkitError(
            f"{path}: {len(header) - 1} pixel columns, but dataset.height x dataset.width = {height} x {width} = "
            f"{height * width}. Set height and width to the size of the images in this file."
        )
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int32, ndmin=2)
    except ValueError as exc:
        raise ToolkitError(f"{path}: not a table of integers ({exc}). Every row must hold a label and "
                           f"{height * width} pixel values separated by commas.") from None
    if table.shape[0] == 0:
        raise ToolkitError(f"{path}: the file has a header but no rows of pixels.")
    label_index = header.index(label_column)
    labels = table[:, label_index]
    pixels = np.delete(table, label_index, axis=1)
    if pixels.min() < 0 or pixels.max() > 255:
        row = int(np.argmax((pixels < 0).any(axis=1) | (pixels > 255).any(axis=1)))
        raise ToolkitError(f"{path}: row {row + 2} has a pixel outside 0-255; pixels are 8-bit grey values.")
    if labels.min() < 0:
        raise ToolkitError(f"{path}: labels must be class numbers 0, 1, 2, ...; found {int(labels.min())}.")
    images = torch.from_numpy(pixels.astype(np.uint8)).reshape(-1, 1, height, width)
    return ImageSet(images, torch.from_numpy(labels))


def pixel_csv(*, train: str, test: str, data_dir: str | None = None, height: int = 28, width: int = 28,
              label_column: str = "label", class_names: list[str] | None = None) -> Dataset:
    """Grey images from CSV files of pixels (the Kaggle Fashion-MNIST / MNIST CSV format), one file per split.

    Args:
        train: CSV file of the training split, e.g. ``fashion-mnist_train.csv``.
        test: CSV file of the test split, e.g. ``fashion-mnist_test.csv``.
        data_dir: folder that relative ``train`` and ``test`` paths are read from (default: the current folder).
        height: image height in pixels.
        width: image width in pixels.
        label_column: name of the header column holding the class label.
        class_names: names of the classes 0, 1, 2, ... (shown in plots).
    """
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, got {height} x {width}")
    folder = Path(data_dir).expanduser() if data_dir else Path.cwd()
    files = {split: folder / name for split, name in (("train", train), ("test", test))}
    for split, path in files.items():
        if not path.is_file():
            raise ToolkitError(
                f"The {split} CSV file {str(path)!r} does not exist. Set dataset.{split} to the file (the Kaggle "
                "Fashion-MNIST download has fashion-mnist_train.csv and fashion-mnist_test.csv), and dataset.data_dir "
                "to its folder if the path is relative."
            )

    def loader(path: Path):
        def load() -> ImageSet:
            split = read_pixel_csv(path, height=height, width=width, label_column=label_column)
            split.class_names = class_names
            return split
        return load

    return Dataset("pixel_csv", {split: loader(path) for split, path in files.items()})
