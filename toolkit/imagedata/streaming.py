"""Streaming mode: image files decoded by ``DataLoader`` workers as batches ask for them, nothing kept in memory.

:class:`StreamedImages` stands where an :class:`~toolkit.imagedata.datasets.ImageSet` holds its uint8 tensor:
indexing it with a tensor of indices returns those images decoded. Before an epoch, :class:`PlannedSampler`
hands it the epoch's batches, so the workers decode them ahead of the training steps, in order; evaluation's
sequential reads are planned the same way. In a distributed run each rank plans only its own share.
"""

from __future__ import annotations

import operator
from typing import Any, Iterator

import torch

from toolkit.components.contracts import Batch, Sampler
from toolkit.errors import ToolkitError
from toolkit.imagedata.decoding import ImageFiles
from toolkit.imagedata.images import ImageReader


class _DecodeBlocks(torch.utils.data.Dataset):
    """Item = a sorted tensor of image indices; value = those indices, their images, and an error message or None."""

    def __init__(self, files: ImageFiles, reader: ImageReader):
        self.files, self.reader = files, reader

    def __getitem__(self, block: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, str | None]:
        try:
            return block, torch.stack([decode_one(self.files, self.reader, int(i)) for i in block]), None
        except ToolkitError as exc:  # returned, not raised: a worker's exception would carry its traceback text
            return block, torch.empty(0, dtype=torch.uint8), str(exc)


class _Plan:
    """The blocks the workers decode next; replaced before every epoch (the persistent workers stay)."""

    def __init__(self) -> None:
        self.blocks: list[torch.Tensor] = []

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)


def decode_one(files: ImageFiles, reader: ImageReader, index: int) -> torch.Tensor:
    try:
        return reader.read(files.paths[index])[0]
    except ToolkitError as exc:
        raise ToolkitError(f"{files.origin(index)}{exc}") from None


class StreamedImages:
    """Image files that index like a uint8 tensor ``(N, C, H, W)``; every image must decode to ``shape``."""

    ndim, dtype, device = 4, torch.uint8, torch.device("cpu")

    def __init__(self, files: ImageFiles, reader: ImageReader, shape: tuple[int, int, int], *, workers: int = 2):
        self.files, self.reader, self.image_shape, self.workers = files, reader, tuple(shape), workers
        self._plan = _Plan()
        self._loader: torch.utils.data.DataLoader | None = None
        self._blocks: Iterator[Any] | None = None
        self._current: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.files), *self.image_shape))

    def __len__(self) -> int:
        return len(self.files)

    def to(self, *args: Any, **kwargs: Any) -> "StreamedImages":
        return self  # batches move to the device once decoded

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("streamed images take slices with step 1 only")
            return StreamedImages(self.files.take(list(range(start, stop))), self.reader, self.image_shape,
                                  workers=self.workers)
        if _is_index(key):
            return self._checked(decode_one(self.files, self.reader, operator.index(key)))
        return self.gather(torch.as_tensor(key).reshape(-1).contiguous())

    def take(self, indices: torch.Tensor) -> "StreamedImages":
        """The images at ``indices``, still streamed (nothing is decoded)."""
        return StreamedImages(self.files.take(indices.tolist()), self.reader, self.image_shape, workers=self.workers)

    def plan(self, blocks: list[torch.Tensor]) -> None:
        """Decode these blocks of indices next, in this order, ahead of the batches that ask for them."""
        self._plan.blocks = [torch.unique(b) for b in blocks]
        self._blocks = iter(self._data_loader()) if blocks else None
        self._current = None

    def gather(self, indices: torch.Tensor) -> torch.Tensor:
        """The images at ``indices``: from the decoded blocks when planned, else planned now as sequential reads."""
        found = self._advance_to(indices)
        if found is None and self._plan_sequential(indices):
            found = self._advance_to(indices)
        if found is None:  # read out of every plan: decode here
            found = torch.stack([self[int(i)] for i in indices])
        return found

    def _advance_to(self, indices: torch.Tensor) -> torch.Tensor | None:
        """The images from the current block or the first later one that holds all ``indices`` (None: no block)."""
        while True:
            found = self._look_up(indices)
            if found is not None or self._blocks is None:
                return found
            block = next(self._blocks, None)
            if block is None:
                self._blocks = None
                return None
            ids, images, error = block
            if error is not None:
                raise ToolkitError(error)
            self._current = (ids, self._checked(images))

    def _look_up(self, indices: torch.Tensor) -> torch.Tensor | None:
        if self._current is None:
            return None
        ids, images = self._current
        position = torch.searchsorted(ids, indices).clamp(max=len(ids) - 1)
        if not bool((ids[position] == indices).all()):
            return None
        return images[position]

    def _plan_sequential(self, indices: torch.Tensor) -> bool:
        """Plan reads in order from ``indices`` on when they are a run of consecutive indices (evaluation's)."""
        if not len(indices) or not torch.equal(indices, torch.arange(int(indices[0]), int(indices[0]) + len(indices))):
            return False
        start, size = int(indices[0]), len(indices)
        self.plan([torch.arange(s, min(s + size, len(self))) for s in range(start, len(self), size)])
        return True

    def _data_loader(self) -> torch.utils.data.DataLoader:
        if self._loader is None:
            self._loader = torch.utils.data.DataLoader(
                _DecodeBlocks(self.files, self.reader), sampler=self._plan, batch_size=None, num_workers=self.workers,
                persistent_workers=self.workers > 0, pin_memory=torch.cuda.is_available(),
                prefetch_factor=2 if self.workers else None)
        return self._loader

    def _checked(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-3:]) != self.image_shape:
            raise ToolkitError(
                f"An image of {self.files.paths[0].parent} decodes to {tuple(images.shape[-3:])} (channels, height, "
                f"width), not {self.image_shape} like the others. Set dataset.size = [height, width] to resize every "
                "image to one size."
            )
        return images


def _is_index(key: Any) -> bool:
    """Whether ``key`` is one integer (a Python or NumPy int, a 0-d integer tensor)."""
    if isinstance(key, torch.Tensor) and key.ndim:
        return False
    try:
        operator.index(key)
        return True
    except TypeError:
        return False


class PlannedSampler:
    """A sampler whose epoch plan is handed to the streamed training images before the epoch starts."""

    def __init__(self, sampler: Sampler, images: StreamedImages):
        self.sampler, self.images = sampler, images
        self.kind, self.batch_size = sampler.kind, getattr(sampler, "batch_size", None)

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        batches = list(self.sampler.epoch(labels, generator))
        self.images.plan([batch.indices.reshape(-1) for batch in batches])
        return batches


def planned(sampler: Sampler, images: Any) -> Sampler:
    """``sampler`` planning ahead for streamed training images (unchanged for images in memory or in the cache)."""
    return PlannedSampler(sampler, images.images) if isinstance(images.images, StreamedImages) else sampler
