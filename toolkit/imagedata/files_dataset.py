"""A dataset whose splits are lists of image files, read through the prepared cache, into memory, or streamed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from toolkit.errors import ToolkitError
from toolkit.imagedata.cache import LoadMode, load_images
from toolkit.imagedata.datasets import Dataset, ImageSet, Stat
from toolkit.imagedata.decoding import ImageFiles, OnBadImage
from toolkit.imagedata.images import ImageReader
from toolkit.imagedata.peek import peek_images, peeking

Listing = Callable[[], dict[str, tuple[ImageFiles, list[str]]]]
"""Lists every split's files and class names (called once, when the first split is asked for)."""


@dataclass(frozen=True)
class ImageLoading:
    """How a dataset's image files become an :class:`ImageSet`: decoding (``reader``), normalisation, and where
    the pixels are kept (``load``: ``cache``, ``memory`` or ``stream``; see :func:`toolkit.api.load_images`)."""

    reader: ImageReader
    mean: Stat = 0.0
    std: Stat = 1.0
    load: LoadMode = "cache"
    cache_dir: str | None = None
    on_bad_image: OnBadImage = "error"
    workers: int = 2

    def __post_init__(self) -> None:
        for key, value in (("mean", self.mean), ("std", self.std)):
            values = value if isinstance(value, tuple) else (value,)
            if isinstance(value, tuple) and len(value) != self.reader.channels:
                raise ValueError(f"{key} = {list(value)} has {len(value)} values but the images have "
                                 f"{self.reader.channels} channel(s) (channels = {self.reader.channels}); give one "
                                 f"number, or one per channel")
            if key == "std" and not all(v > 0 for v in values):
                raise ValueError(f"std = {value!r} must be above 0 (pixels are divided by it)")


def files_dataset(name: str, splits: list[str], listing: Listing, loading: ImageLoading) -> Dataset:
    """A :class:`Dataset` of ``splits`` whose files ``listing`` names, each split read the first time it is asked
    for; files left out (``on_bad_image = "skip"``) are listed in ``dataset.skipped``."""
    listed: dict[str, tuple[ImageFiles, list[str]]] = {}

    def read_split(split: str) -> ImageSet:
        if not listed:
            listed.update(listing())
        files, names = listed[split]
        reader = loading.reader
        if reader.size is None and dataset.fallback_size is not None:
            reader = replace(reader, size=dataset.fallback_size)
        if peeking() and files.paths:
            loaded = peek_images(files, reader, loading.on_bad_image)
        else:
            loaded = load_images(files, reader, name=f"{name}-{split}", load=loading.load,
                                 cache_dir=loading.cache_dir, on_bad_image=loading.on_bad_image, workers=loading.workers)
        if loaded.skipped:
            dataset.skipped[split] = loaded.skipped
        images = ImageSet(loaded.images, loaded.labels, loading.mean, loading.std, names)
        if split != splits[0]:
            _same_shape(images, dataset.split(splits[0]), files)
        return images

    dataset = Dataset(name, {split: (lambda s=split: read_split(s)) for split in splits})
    return dataset


def _same_shape(images: ImageSet, train: ImageSet, files: ImageFiles) -> None:
    """Refuse a split whose images are shaped unlike the training images (an encoder takes one shape)."""
    if images.shape != train.shape:
        (c, h, w), (tc, th, tw) = images.shape, train.shape
        raise ToolkitError(
            f"The images of {str(files.paths[0].parent.parent)!r} (such as {files.paths[0].name!r}) are {w}x{h} with "
            f"{c} channel(s) but the training images are {tw}x{th} with {tc}. Set dataset.size = [height, width] to "
            "resize every image to one size."
        )
