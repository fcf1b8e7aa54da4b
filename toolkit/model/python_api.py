"""Using a finished run from Python: ``toolkit.load_run(path)`` and the :class:`Model` it returns.

The same work as ``toolkit embed``, ``compare`` and ``search``, without the command line: images go in as file
paths, folders, PIL images or ``uint8`` arrays and are read exactly as the run's training images were.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np
import torch

from toolkit.errors import ToolkitError
from toolkit.imagedata.images import gather_images
from toolkit.imagedata.transform import describe_conversions
from toolkit.model.trained import TrainedModel
from toolkit.model.trained import load_run as load_trained

Images = Union[str, Path, Any, np.ndarray, torch.Tensor, Iterable[Any]]
"""A path (file, or folder of images), a PIL image, a ``uint8`` array ``(N, C, H, W)`` or ``(N, H, W)``, or a list of these."""


@dataclass(frozen=True)
class Comparison:
    """How far apart two images are, and the same/different verdict under the run's calibrated threshold."""

    distance: float
    verdict: str | None
    """``"same"``, ``"different"``, or None when the run has no calibrated threshold."""
    threshold: float | None


@dataclass(frozen=True)
class Neighbour:
    """One gallery item found for a query: ``id`` is ``split:index`` or the image file, ``label`` its class."""

    rank: int
    id: str
    label: str
    distance: float


class Model:
    """A trained encoder of a run folder, ready to embed, compare and search images."""

    def __init__(self, trained: TrainedModel):
        self.trained = trained
        self._galleries: dict[str, Any] = {}

    @property
    def run_dir(self) -> Path:
        """The run folder the model was loaded from."""
        return self.trained.run_dir

    @property
    def threshold(self) -> float | None:
        """The same/different distance threshold calibrated on held-out pairs (None: the run has none)."""
        return None if self.trained.threshold is None else float(self.trained.threshold["threshold"])

    def embed(self, images: Images, *, batch_size: int = 1024) -> np.ndarray:
        """Embeddings of ``images`` as a ``float32`` array ``(N, D)``, one row per image in the order given
        (a folder gives its images sorted by name, class sub-folders included)."""
        pixels = self._pixels(images)
        return self.trained.embed(self.trained.transform.image_set(pixels), batch_size=batch_size).numpy()

    def compare(self, a: Images, b: Images) -> Comparison:
        """The Euclidean distance between the embeddings of two images, and the verdict under the threshold."""
        vectors = self.embed([a, b])
        if len(vectors) != 2:
            raise ToolkitError(f"compare takes one image on each side; {len(vectors)} images were given.")
        distance = round(float(np.linalg.norm(vectors[0] - vectors[1])), 6)  # float32 noise beyond 6 digits
        threshold = self.threshold
        verdict = (None if threshold is None or not math.isfinite(distance)  # NaN weights: no verdict
                   else "same" if distance <= threshold else "different")
        return Comparison(distance, verdict, threshold)

    def search(self, queries: Images, k: int = 5, *, gallery: str | Path | None = None,
               split: str | None = None) -> list[list[Neighbour]]:
        """The ``k`` nearest gallery items of each query, nearest first.

        The gallery is ``split`` of the run's dataset (default: train) or the image folder ``gallery``; an index
        saved by ``toolkit index`` is used when it matches, else the gallery is embedded once per :class:`Model`.
        """
        from toolkit.model.search import folder_source, nearest, split_source

        if gallery is not None and split is not None:
            raise ToolkitError("Give gallery= (a folder of images) or split= (a split of the run's dataset), not both.")
        source = folder_source(gallery) if gallery is not None else split_source(split or "train")
        found = self._gallery(source)
        distances, positions = nearest(found, torch.from_numpy(self.embed(queries)), k)
        return [[Neighbour(r + 1, found.ids[int(p)], found.label_name(int(p)), round(float(d), 6))
                 for r, (d, p) in enumerate(zip(row_d, row_p))] for row_d, row_p in zip(distances, positions)]

    def _gallery(self, source: str) -> Any:
        from toolkit.model.search import build_gallery, load_saved_gallery

        if source not in self._galleries:
            if source.startswith("folder:") and not Path(source.partition(":")[2]).is_dir():
                raise ToolkitError(f"The gallery folder {source.partition(':')[2]!r} does not exist (or is not a folder).")
            saved, _ = load_saved_gallery(self.run_dir, source)
            if saved is None:
                saved, note = build_gallery(self.trained, source)
                _warn(note)
            self._galleries[source] = saved
        return self._galleries[source]

    def _pixels(self, images: Images) -> torch.Tensor:
        """``uint8`` ``(N, C, H, W)`` pixels of the run's image size; other sizes and colours are converted."""
        transform = self.trained.transform
        if isinstance(images, (np.ndarray, torch.Tensor)):
            batch = torch.as_tensor(images)
            if batch.dtype != torch.uint8:
                raise ToolkitError(f"Images given as an array must hold uint8 pixels (0-255), not {batch.dtype}.")
            batch = batch.unsqueeze(1) if batch.ndim == 3 else batch
            if batch.ndim == 4 and tuple(batch.shape[1:]) == (transform.channels, transform.height, transform.width):
                return batch
            images = [_as_pil(item) for item in batch]
        items = [images] if isinstance(images, (str, Path)) or _is_pil(images) else list(images)
        tensors, names, conversions = [], [], []
        for i, item in enumerate(items):
            if isinstance(item, (str, Path)):
                paths = [path for path, _ in gather_images([item])]
                pixels, made = transform.read(paths)
                tensors.append(pixels)
                names += paths
                conversions += made
            else:
                tensor, made = transform.reader.convert(_as_pil(item))
                tensors.append(tensor.unsqueeze(0))
                names.append(Path(f"image {i}"))
                conversions.append(made)
        if not tensors:
            raise ToolkitError("No images were given.")
        _warn(describe_conversions(names, conversions, transform))
        return torch.cat(tensors)


def _is_pil(item: Any) -> bool:
    return type(item).__module__.startswith("PIL.")


def _as_pil(item: Any) -> Any:
    from PIL import Image

    if _is_pil(item):
        return item
    array = np.asarray(item)
    if array.dtype != np.uint8:
        raise ToolkitError(f"An image given as an array must hold uint8 pixels (0-255), not {array.dtype}.")
    if array.ndim == 3 and array.shape[0] in (1, 3):  # channels first, as the toolkit stores images
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    if array.ndim not in (2, 3):
        raise ToolkitError(f"An image array must be (H, W), (C, H, W) or (H, W, C); got shape {array.shape}.")
    return Image.fromarray(np.ascontiguousarray(array))


def _warn(message: str | None) -> None:
    if message:
        warnings.warn(message, stacklevel=3)


def load_run(run_dir: str | Path) -> Model:
    """The trained model of the finished run in ``run_dir``, ready to ``embed``, ``compare`` and ``search``."""
    return Model(load_trained(run_dir))
