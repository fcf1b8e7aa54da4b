"""Reading image files (PGM, PNG, JPG, ...) into the uint8 tensors an :class:`~toolkit.imagedata.datasets.ImageSet` holds.

Dataset plugins that read folders of images and the commands that take images by path share
:class:`ImageReader`, so an image given later is read exactly like the training images were.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toolkit.errors import ToolkitError

IMAGE_SUFFIXES = (".pgm", ".ppm", ".pbm", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")
"""File endings treated as images when a folder is scanned."""


@dataclass(frozen=True)
class ImageReader:
    """How image files become tensors: ``channels`` (1 grey or 3 RGB) and an optional ``(height, width)``.

    ``read`` returns the image as ``uint8`` ``(channels, height, width)`` and a list of the conversions it
    made (colour to grey, resizing), so a caller can tell the user what happened to an image.
    """

    channels: int = 1
    size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"size must be (height, width) with positive sides, got {self.size}")

    def read(self, path: str | Path) -> tuple[torch.Tensor, list[str]]:
        image = open_image(path, decode=True)
        return self.convert(image)

    def read_into(self, path: str | Path, out: np.ndarray) -> None:
        """Decode ``path`` as :meth:`read` does, straight into ``out`` (``uint8`` ``(channels, height, width)``,
        such as one row of a batch); an image that decodes to another shape raises a :class:`ToolkitError`."""
        array = np.asarray(self._converted(open_image(path, decode=True))[0])
        pixels = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        if pixels.shape != out.shape:
            raise ToolkitError(
                f"The image {str(path)!r} decodes to {pixels.shape} (channels, height, width), not {out.shape} like "
                "the others. Set dataset.size = [height, width] to resize every image to one size."
            )
        out[...] = pixels

    def convert(self, image: Any) -> tuple[torch.Tensor, list[str]]:
        """A PIL image as ``uint8`` ``(channels, height, width)``, and the conversions made to it."""
        image, conversions = self._converted(image)
        array = np.asarray(image, dtype=np.uint8)
        tensor = torch.from_numpy(array.copy())
        tensor = tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()
        return tensor, conversions

    def _converted(self, image: Any) -> tuple[Any, list[str]]:
        """A PIL image in this reader's mode and size, and the conversions made to it."""
        from PIL import Image

        conversions = []
        mode = "L" if self.channels == 1 else "RGB"
        if image.mode != mode:
            if not (mode == "L" and image.mode in ("I;16", "I", "1")):
                conversions.append(f"converted from {image.mode} to {'grey' if mode == 'L' else 'RGB'}")
            image = _to_mode(image, mode)
        if self.size is not None and (image.height, image.width) != tuple(self.size):
            conversions.append(f"resized from {image.width}x{image.height} to {self.size[1]}x{self.size[0]}")
            image = image.resize((self.size[1], self.size[0]), Image.BILINEAR)
        return image, conversions

    def as_dict(self) -> dict[str, Any]:
        """A TOML/JSON-friendly description, stored in run folders."""
        return {"channels": self.channels, "size": list(self.size) if self.size else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImageReader":
        size = data.get("size")
        return cls(channels=int(data.get("channels", 1)), size=tuple(size) if size else None)


def open_image(path: str | Path, *, decode: bool) -> Any:
    """The PIL image at ``path``, its pixels decoded (or, ``decode=False``, only its header read and checked); a
    missing, unreadable or over-large file raises one :class:`ToolkitError` naming it."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a huge image is refused, not decoded
            with Image.open(path) as opened:
                if not decode:
                    return opened
                opened.load()  # reads the pixels and closes the file
                return opened
    except FileNotFoundError:
        raise ToolkitError(f"The image {str(path)!r} does not exist.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ToolkitError(
            f"The image {str(path)!r} is too large to decode safely ({exc}). Shrink it, remove it, or raise "
            "PIL.Image.MAX_IMAGE_PIXELS if you trust the file."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ToolkitError(
            f"Cannot read the image {str(path)!r} ({type(exc).__name__}: {exc}). Replace it with a readable "
            f"image file ({', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES[:6])}, ...) or remove it."
        ) from None


def _to_mode(image: Any, mode: str) -> Any:
    if image.mode in ("I;16", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        from PIL import Image

        image = Image.fromarray((array * (255.0 / peak)).astype(np.uint8), "L")
    return image.convert(mode)


def image_files(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; hidden files (``._photo.jpg``, the metadata a Mac
    leaves beside each file on a shared disk) are left out."""
    with os.scandir(folder) as entries:  # a directory entry knows its type: no stat call per file
        names = sorted(e.name for e in entries
                       if e.name.lower().endswith(IMAGE_SUFFIXES) and not e.name.startswith(".") and e.is_file())
    folder = Path(folder)  # names are sorted as strings: sorting 10,000s of Path objects is several times slower
    return [folder / name for name in names]


def gather_images(paths: list[str | Path]) -> list[tuple[Path, str | None]]:
    """Image files named by ``paths`` (files, or folders of images) with a class name where one is implied.

    A file stands for itself; its class is unknown (``None``). A folder gives the images directly inside it
    (class unknown) and those of its sub-folders, one class per sub-folder (``folder/cat/1.png`` is class ``cat``),
    the layout of face datasets such as AT&T's ``sN/`` folders.
    """
    found: list[tuple[Path, str | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append((path, None))
        elif path.is_dir():
            inside = [(p, None) for p in image_files(path)]
            classes = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
            inside += [(p, d.name) for d in classes for p in image_files(d)]
            if not inside:
                raise ToolkitError(
                    f"The folder {str(path)!r} holds no image files ({', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES[:6])}, "
                    "...), neither directly nor in one sub-folder per class. Give a folder of images or image files."
                )
            found.extend(inside)
        else:
            raise ToolkitError(f"The image or folder {str(path)!r} does not exist. Check the path.")
    return found

