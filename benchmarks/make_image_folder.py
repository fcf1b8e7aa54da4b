"""Write Fashion-MNIST (from its IDX files) as a folder of JPEG files, one sub-folder per class name.

    TOOLKIT_DATA=../shared/data .venv/bin/python benchmarks/make_image_folder.py fashion_folder
    TOOLKIT_DATA=../shared/data .venv/bin/python benchmarks/make_image_folder.py fashion_small --limit 2000 --size 64

The 60,000 training and 10,000 test images go into the same class folders (``0_t-shirt_top/`` ...
``9_ankle_boot/``, named so that sorting by name keeps the class order); ``--limit`` keeps the first
images of each class, ``--size`` upscales every image (bilinear) to a square of that side.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from toolkit.api import data_root
from toolkit_plugins.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

CLASSES = ["t-shirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
FILES = [("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]


def fashion_arrays(raw: Path) -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 images ``(N, 28, 28)`` and labels of the IDX files in ``raw``."""
    images, labels = [], []
    for image_file, label_file in FILES:
        images.append(read_idx(raw / image_file, IMAGES_MAGIC))
        labels.append(read_idx(raw / label_file, LABELS_MAGIC))
    return np.concatenate(images), np.concatenate(labels)


def write_folder(images: np.ndarray, labels: np.ndarray, target: Path, *, size: int | None, limit: int | None,
                 quality: int = 90) -> int:
    """One JPEG per image under ``target/<index>_<class name>/``; returns how many were written."""
    from PIL import Image

    written = 0
    counts = np.zeros(len(CLASSES), dtype=np.int64)
    for index, (pixels, label) in enumerate(zip(images, labels)):
        if limit is not None and counts[label] >= limit:
            continue
        folder = target / f"{label}_{CLASSES[label]}"
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(pixels, "L")
        if size:
            image = image.resize((size, size), Image.BILINEAR)
        image.save(folder / f"{index:05d}.jpg", quality=quality)
        counts[label] += 1
        written += 1
        if written % 10_000 == 0:
            print(f"{written} images written", file=sys.stderr)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", type=Path, help="folder to write (a relative path is taken from the data root)")
    parser.add_argument("--size", type=int, default=None, help="upscale every image to SIZE x SIZE (default: 28)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many images per class")
    parser.add_argument("--data-dir", default=None, help="data root holding FashionMNIST/raw (default: $TOOLKIT_DATA)")
    args = parser.parse_args()
    root = data_root(args.data_dir)
    target = args.target if args.target.is_absolute() else root / args.target
    if target.exists() and any(target.iterdir()):
        sys.exit(f"{target} is not empty; choose a new folder.")
    started = time.perf_counter()
    images, labels = fashion_arrays(root / "FashionMNIST" / "raw")
    written = write_folder(images, labels, target, size=args.size, limit=args.limit)
    print(f"wrote {written} JPEG files into {target} in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
