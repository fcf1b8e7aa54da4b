"""A prepared cache's images, indexed like a uint8 tensor, with resident memory that does not grow with the cache."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch


class MappedImages:
    """The images of a prepared cache file, a ``(N, C, H, W)`` uint8 array: indexing gathers like a tensor does.

    A gather reads each image with one positioned read (``os.preadv``) into a fresh array: the file's pages stay
    in the operating system's page cache, shared and reclaimable, instead of being mapped into the process, where
    they would count in its resident memory until the whole cache had been read. Moving it to a GPU copies the
    memory-mapped array there whole.
    """

    ndim, dtype, device = 4, torch.uint8, torch.device("cpu")

    def __init__(self, file: str | os.PathLike, shape: tuple[int, ...], start: int = 0, stop: int | None = None):
        self._file, self._full_shape, self._start = os.fspath(file), tuple(shape), start
        self._stop = shape[0] if stop is None else stop
        self._record = int(np.prod(shape[1:]))
        self._fd: int | None = None

    @property
    def shape(self) -> torch.Size:
        return torch.Size((self._stop - self._start, *self._full_shape[1:]))

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice) and key.indices(len(self))[2] == 1:  # rows of a split: still read from the file
            start, stop, _ = key.indices(len(self))
            return MappedImages(self._file, self._full_shape, self._start + start, self._start + stop)
        if isinstance(key, slice):
            return self.gather(torch.arange(len(self))[key])
        index = torch.as_tensor(key)
        images = self.gather(index.reshape(-1))
        return images.reshape(*index.shape, *images.shape[1:])

    def gather(self, indices: torch.Tensor) -> torch.Tensor:
        """The images at ``indices`` (a 1-d integer tensor; negative counts from the end), read from the file."""
        rows = indices.long() + torch.where(indices < 0, len(self), 0)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= len(self)):
            raise IndexError(f"image index out of range for {len(self)} images")
        rows = (rows + self._start).tolist()
        if not hasattr(os, "preadv"):  # not on every platform: read through a memory map there
            return torch.from_numpy(np.ascontiguousarray(self._mapped()[rows]))
        out = np.empty((len(rows), *self._full_shape[1:]), dtype=np.uint8)
        flat = out.reshape(len(rows), self._record)
        fd = self._descriptor()
        for j, row in enumerate(rows):
            os.preadv(fd, [flat[j]], row * self._record)
        return torch.from_numpy(out)

    def to(self, device: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Itself on the CPU; on another device, every image copied there (a GPU holds the whole training split)."""
        if device is None or torch.device(device).type == "cpu":
            return self
        return torch.from_numpy(self._mapped()[self._start:self._stop]).to(device, *args, **kwargs)

    def _mapped(self) -> np.memmap:
        return np.memmap(self._file, dtype=np.uint8, mode="c", shape=self._full_shape)

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = os.open(self._file, os.O_RDONLY)
        return self._fd

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
