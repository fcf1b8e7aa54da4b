"""Reading the IDX files of MNIST and Fashion-MNIST (plain or gzipped) into tensors."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from toolkit.api import ToolkitError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """An IDX file as a NumPy array, checked against its magic number and declared size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a .gz file damaged inside its compressed data
        raise ToolkitError(f"Cannot read {path}: {exc}. Replace the file with a fresh copy.") from None
    if len(raw) < 8:
        raise ToolkitError(f"{path} is truncated ({len(raw)} bytes): not an IDX file. Replace it with a fresh copy.")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        kind = "images" if expected_magic == IMAGES_MAGIC else "labels"
        raise ToolkitError(
            f"{path} has magic number {magic:#010x}, but an IDX {kind} file starts with {expected_magic:#010x}. "
            "It is not the file its name says (swapped, or damaged); replace it with a fresh copy."
        )
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset < expected:
        raise ToolkitError(
            f"{path} is truncated: its header promises {expected} bytes of data for shape {tuple(dims)}, "
            f"but only {len(raw) - offset} follow. Replace it with a complete copy."
        )
    return np.frombuffer(raw, dtype=np.uint8, count=expected, offset=offset).reshape(dims)


def read_images(path: Path) -> torch.Tensor:
    """uint8 images shaped (N, 1, H, W)."""
    array = read_idx(path, IMAGES_MAGIC)
    return torch.from_numpy(array.copy()).unsqueeze(1)


def read_labels(path: Path) -> torch.Tensor:
    return torch.from_numpy(read_idx(path, LABELS_MAGIC).astype(np.int64))
