"""Streaming mode: image files decoded by ``DataLoader`` workers as batches ask for them, nothing kept in memory.

:class:`StreamedImages` stands where an :class:`~toolkit.imagedata.datasets.ImageSet` holds its uint8 tensor:
indexing it with a tensor of indices returns those images decoded. Before an epoch, :class:`PlannedSampler`
hands it the epoch's batches, so the workers decode them ahead of the training steps, in order, each batch straight
into one shared-memory array in the order the step asks for it (and augment it, for training); evaluation's
sequential reads are planned the same way. In a distributed run each rank plans only its own share.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Iterator

import torch

from toolkit.components.contracts import Batch, Sampler
from toolkit.errors import ToolkitError
from toolkit.imagedata.augment import Augmentation
from toolkit.imagedata.decoding import ImageFiles
from toolkit.imagedata.images import ImageReader


Block = tuple[torch.Tensor, int | None]
"""What a worker decodes: image indices, in the order the step asks for them, and the seed of their augmentation."""


class _DecodeBlocks(torch.utils.data.Dataset):
    """Item = a :data:`Block`; value = its indices, their images (augmented when an augmentation is given), and an
    error message or None."""

    def __init__(self, files: ImageFiles, reader: ImageReader, shape: tuple[int, ...],
                 augmentation: Augmentation | None = None):
        self.files, self.reader, self.shape, self.augmentation = files, reader, shape, augmentation

    def __getitem__(self, block: Block) -> tuple[torch.Tensor, torch.Tensor, str | None]:
        indices, seed = block
        try:
            images = decode_block(self.files, self.reader, indices, self.shape)
        except ToolkitError as exc:  # returned, not raised: a worker's exception would carry its traceback text
            return indices, torch.empty(0, dtype=torch.uint8), str(exc)
        if self.augmentation is not None:  # here, in the worker, one image at a time on uint8 pixels
            images = self.augmentation(images, seed=seed, out=_batch_tensor(images.shape))
        return indices, images, None


class _Plan:
    """The blocks the workers decode next; replaced before every epoch (the persistent workers stay)."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def __iter__(self) -> Iterator[Block]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)


def decode_block(files: ImageFiles, reader: ImageReader, indices: torch.Tensor,
                 shape: tuple[int, ...]) -> torch.Tensor:
    """The images at ``indices``, in that order, decoded straight into one uint8 batch ``(len(indices), *shape)``."""
    batch = _batch_tensor((len(indices), *shape))
    pixels = batch.numpy()
    for row, index in enumerate(indices.tolist()):
        try:
            reader.read_into(files.paths[index], pixels[row])
        except ToolkitError as exc:
            raise ToolkitError(f"{files.origin(index)}{exc}") from None
    return batch


def _batch_tensor(shape: tuple[int, ...]) -> torch.Tensor:
    """An empty uint8 tensor; in a DataLoader worker, in shared memory (as DataLoader's own collate allocates), so
    that handing it to the main process copies nothing."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=torch.uint8)
    storage = torch.UntypedStorage._new_shared(math.prod(shape))
    return torch.empty(0, dtype=torch.uint8).set_(storage).view(shape)


class StreamedImages:
    """Image files that index like a uint8 tensor ``(N, C, H, W)``; every image must decode to ``shape``.

    ``augmentation`` (training images only) runs in the workers on each planned image. Delivered to a CUDA device
    (``deliver_to``), the workers' batches come through pinned memory and are copied there without blocking;
    ``device`` stays the CPU, where the indices that gather them are.
    """

    ndim, dtype, device = 4, torch.uint8, torch.device("cpu")

    def __init__(self, files: ImageFiles, reader: ImageReader, shape: tuple[int, int, int], *, workers: int = 2,
                 augmentation: Augmentation | None = None, deliver_to: torch.device = torch.device("cpu")):
        self.files, self.reader, self.image_shape, self.workers = files, reader, tuple(shape), workers
        self.augmentation, self.deliver_to = augmentation, torch.device(deliver_to)
        self._plan = _Plan()
        self._loader: torch.utils.data.DataLoader | None = None
        self._blocks: Iterator[Any] | None = None
        self._current: tuple[torch.Tensor, torch.Tensor] | None = None
        self._sorted: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.files), *self.image_shape))

    @property
    def pin_memory(self) -> bool:
        """Whether the workers' batches go through pinned memory: only on the way to a CUDA device."""
        return self.deliver_to.type == "cuda"

    def __len__(self) -> int:
        return len(self.files)

    def to(self, device: Any = None, *args: Any, **kwargs: Any) -> "StreamedImages":
        """The same files, their batches delivered on ``device`` (decoded on the CPU, then copied)."""
        if device is None or torch.device(device) == self.deliver_to:
            return self
        return self._like(self.files, deliver_to=torch.device(device))

    def augmented(self, augmentation: Augmentation) -> "StreamedImages":
        """The same files, each planned image augmented by the workers (with its block's seed) as it is decoded."""
        return self._like(self.files, augmentation=augmentation)

    def _like(self, files: ImageFiles, **changes: Any) -> "StreamedImages":
        settings = {"workers": self.workers, "augmentation": self.augmentation, "deliver_to": self.deliver_to,
                    **changes}
        return StreamedImages(files, self.reader, self.image_shape, **settings)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("streamed images take slices with step 1 only")
            return self._like(self.files.take(list(range(start, stop))))
        if _is_index(key):
            return decode_block(self.files, self.reader, torch.tensor([operator.index(key)]), self.image_shape)[0]
        return self.gather(torch.as_tensor(key).reshape(-1).contiguous())

    def take(self, indices: torch.Tensor) -> "StreamedImages":
        """The images at ``indices``, still streamed (nothing is decoded)."""
        return self._like(self.files.take(indices.tolist()))

    def plan(self, blocks: list[torch.Tensor], seed: int | None = None) -> None:
        """Decode these blocks of indices next, in this order, ahead of the batches that ask for them; block ``k``'s
        augmentation draws from ``seed + k`` (from torch's global generator when ``seed`` is None)."""
        self._plan.blocks = [(b.cpu(), None if seed is None else seed + k) for k, b in enumerate(blocks)]
        self._blocks = iter(self._data_loader()) if blocks else None
        self._current = None

    def gather(self, indices: torch.Tensor) -> torch.Tensor:
        """The images at ``indices``: from the decoded blocks when planned, else planned now as sequential reads."""
        indices = indices.cpu()
        found = self._advance_to(indices)
        if found is None and self._plan_sequential(indices):
            found = self._advance_to(indices)
        if found is None:  # read out of every plan: decode here
            found = decode_block(self.files, self.reader, indices, self.image_shape)
            found = self.augmentation(found) if self.augmentation is not None else found
        return found.to(self.deliver_to, non_blocking=True)  # from pinned memory: the copy overlaps the step

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
            self._current, self._sorted = (ids, images), None

    def _look_up(self, indices: torch.Tensor) -> torch.Tensor | None:
        if self._current is None:
            return None
        ids, images = self._current
        if torch.equal(ids, indices):  # the step asks for the block as planned: no gather
            return images
        if self._sorted is None:
            order = torch.argsort(ids, stable=True)
            self._sorted = (ids[order], order)
        ordered, order = self._sorted
        position = torch.searchsorted(ordered, indices).clamp(max=len(ids) - 1)
        if not bool((ordered[position] == indices).all()):
            return None
        return images[order[position]]

    def _plan_sequential(self, indices: torch.Tensor) -> bool:
        """Plan reads in order from ``indices`` on when they are a run of consecutive indices (evaluation's), and
        there are workers to read ahead (without them, planning the rest of a large collection costs more than
        decoding the batch asked for: a recipe check reads 2 images of 70,000)."""
        if not self.workers or not len(indices) or not torch.equal(indices, torch.arange(int(indices[0]), int(indices[0]) + len(indices))):
            return False
        start, size = int(indices[0]), len(indices)
        self.plan([torch.arange(s, min(s + size, len(self))) for s in range(start, len(self), size)])
        return True

    def _data_loader(self) -> torch.utils.data.DataLoader:
        if self._loader is None:
            self._loader = torch.utils.data.DataLoader(
                _DecodeBlocks(self.files, self.reader, self.image_shape, self.augmentation), sampler=self._plan,
                batch_size=None, num_workers=self.workers, persistent_workers=self.workers > 0,
                pin_memory=self.pin_memory, prefetch_factor=2 if self.workers else None,
                generator=torch.Generator().manual_seed(0))  # its own: starting an epoch leaves the run's RNG alone
        return self._loader


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
    """A sampler whose epoch plan is handed to the streamed training images before the epoch starts.

    The plan carries a seed drawn from the epoch's generator after the batches, so the workers' augmentation
    depends only on the run's seed, the epoch and ``rank`` (not on the number of workers, nor on a resumption)."""

    def __init__(self, sampler: Sampler, images: StreamedImages, rank: int = 0):
        self.sampler, self.images, self.rank = sampler, images, rank
        self.kind, self.batch_size = sampler.kind, getattr(sampler, "batch_size", None)

    def epoch(self, labels: torch.Tensor, generator: torch.Generator) -> list[Batch]:
        batches = list(self.sampler.epoch(labels, generator))
        seed = int(torch.randint(2 ** 40, (), generator=generator)) + self.rank * len(batches)
        self.images.plan([batch.indices.reshape(-1) for batch in batches], seed=seed)
        return batches


def planned(sampler: Sampler, images: Any, rank: int = 0) -> Sampler:
    """``sampler`` planning ahead for streamed training images (unchanged for images in memory or in the cache)."""
    return PlannedSampler(sampler, images.images, rank) if isinstance(images.images, StreamedImages) else sampler
