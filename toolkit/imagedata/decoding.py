"""Decoding a list of image files into one uint8 array, with a rule for the files that cannot be read."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from toolkit.errors import ToolkitError
from toolkit.imagedata.images import ImageReader
from toolkit.progress import line_interval

log = logging.getLogger("toolkit")

OnBadImage = Literal["error", "skip"]
"""``error``: one unreadable image stops the run; ``skip``: it is left out, with a warning and a count."""

SHOWN_SKIPPED = 10
"""Skipped files named one by one in the log; the rest are counted."""


@dataclass(frozen=True)
class ImageFiles:
    """Image files and the class label of each; ``origins`` say where each file was named (``"table.csv row 7"``)."""

    paths: list[Path]
    labels: list[int]
    origins: list[str] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def origin(self, index: int) -> str:
        """Where file ``index`` was named, as the start of a message (empty when only its path names it)."""
        return f"{self.origins[index]}: " if self.origins else ""

    def take(self, keep: list[int]) -> "ImageFiles":
        """The files at positions ``keep``, in that order."""
        origins = [self.origins[i] for i in keep] if self.origins else None
        return ImageFiles([self.paths[i] for i in keep], [self.labels[i] for i in keep], origins)


@dataclass
class Decoded:
    """What :func:`decode` read: ``count`` images at the start of ``images``, their labels, the files left out."""

    images: np.ndarray
    labels: np.ndarray
    count: int
    skipped: list[str]


def decode(files: ImageFiles, reader: ImageReader, allocate: Callable[[tuple[int, ...]], np.ndarray], *,
           on_bad_image: OnBadImage = "error", desc: str = "decoding images") -> Decoded:
    """Read every file with ``reader`` into the array ``allocate((len(files), C, H, W))`` returns (called once, at
    the first readable image); unreadable files stop with an error naming file and row, or are skipped."""
    images: np.ndarray | None = None
    labels = np.empty(len(files), dtype=np.int64)
    skipped: list[str] = []
    count = 0
    tick = progress_reporter(len(files), desc)
    for index, path in enumerate(files.paths):
        tick(index)
        try:
            tensor, _ = reader.read(path)
        except ToolkitError as exc:
            refuse_or_skip(files, index, str(exc), on_bad_image, skipped)
            continue
        if images is None:
            images = allocate((len(files), *tensor.shape))
        elif tuple(tensor.shape) != images.shape[1:]:
            raise ToolkitError(
                f"{files.origin(index)}The image {str(path)!r} is {tensor.shape[2]}x{tensor.shape[1]} but the first "
                f"image read was {images.shape[3]}x{images.shape[2]}. Set dataset.size = [height, width] to resize "
                "every image to one size."
            )
        images[count] = tensor.numpy()
        labels[count] = files.labels[index]
        count += 1
    tick(len(files))
    if images is None or count == 0:
        raise ToolkitError(f"None of the {len(files)} image files could be read ({'; '.join(skipped[:3])}).")
    log_skipped(skipped, len(files))
    return Decoded(images, labels[:count], count, skipped)


def refuse_or_skip(files: ImageFiles, index: int, problem: str, on_bad_image: OnBadImage, skipped: list[str]) -> None:
    if on_bad_image == "error":
        raise ToolkitError(f"{files.origin(index)}{problem} To leave such files out instead, set dataset.on_bad_image = "
                           "\"skip\".")
    skipped.append(f"{files.origin(index)}{problem}")


def log_skipped(skipped: list[str], total: int) -> None:
    for line in skipped[:SHOWN_SKIPPED]:
        log.warning("skipped an unreadable image: %s", line)
    if skipped:
        log.warning("skipped %d of %d image files that could not be read (dataset.on_bad_image = \"skip\")",
                    len(skipped), total)


def progress_reporter(total: int, desc: str, *, minimum: int = 200) -> Callable[[int], None]:
    """A function ``tick(done)``: a progress bar on a terminal, else a log line every ``TOOLKIT_PROGRESS_SECONDS``
    (30 s unless set) and one when done."""
    if total < minimum:
        return lambda done: None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="image", leave=False, dynamic_ncols=True)

        def tick_bar(done: int) -> None:
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

        return tick_bar
    interval, last = line_interval(), [time.perf_counter()]

    def tick_line(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= interval or done == total:
            last[0] = now
            log.info("%s: %d/%d", desc, done, total)

    return tick_line


def skipped_summary(skipped: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """The ``metrics.json`` entry for the files a dataset left out (empty when none), said once more in the run log."""
    if not any(skipped.values()):
        return {}
    counts = {split: len(files) for split, files in skipped.items() if files}
    log.warning("unreadable image files left out (dataset.on_bad_image = \"skip\"): %s",
                ", ".join(f"{n} in {split}" for split, n in counts.items()))
    return {"skipped_images": counts}
