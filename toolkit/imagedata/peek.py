"""Checking a recipe without reading its collection: each split's files listed, only the images a check looks at decoded.

``toolkit validate`` checks that the folders and tables exist and that the encoder and the augmentation take the
images; preparing the cache, or hashing the size and date of every file to find it, would read the whole
collection for that. Inside :func:`checking_only`, a dataset of image files hands out its splits as
:class:`StreamedImages` whose shape is the first readable file's, decoded one by one when indexed.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import torch

from toolkit.errors import ToolkitError
from toolkit.imagedata.cache import LoadedImages
from toolkit.imagedata.decoding import ImageFiles, OnBadImage, refuse_or_skip
from toolkit.imagedata.images import ImageReader
from toolkit.imagedata.streaming import StreamedImages

_checking: ContextVar[bool] = ContextVar("checking_only", default=False)


@contextmanager
def checking_only() -> Iterator[None]:
    """Within this block, datasets of image files are peeked at (see the module's docstring), not loaded."""
    token = _checking.set(True)
    try:
        yield
    finally:
        _checking.reset(token)


def peeking() -> bool:
    return _checking.get()


def peek_images(files: ImageFiles, reader: ImageReader, on_bad_image: OnBadImage) -> LoadedImages:
    """``files`` as images decoded when indexed, shaped like the first file that reads (earlier ones refused, or
    left out when ``on_bad_image`` is ``skip``)."""
    skipped: list[str] = []
    for index, path in enumerate(files.paths):
        try:
            shape = tuple(reader.read(path)[0].shape)
        except ToolkitError as exc:
            refuse_or_skip(files, index, str(exc), on_bad_image, skipped)
            continue
        kept = files.take(list(range(index, len(files))))
        return LoadedImages(StreamedImages(kept, reader, shape, workers=0), torch.tensor(kept.labels), skipped)
    raise ToolkitError(f"None of the {len(files)} image files could be read ({'; '.join(skipped[:3])}).")
