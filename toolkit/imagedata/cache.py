"""The prepared cache: images decoded and resized once into a uint8 array file, read like a tensor.

A cache folder is named after a fingerprint of the file list (paths, sizes, modification times, labels) and of
the preparation settings, so any change to either prepares a new one. It is written under a temporary name and
renamed when complete: a folder with the final name is always whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from toolkit.errors import ToolkitError
from toolkit.imagedata.decoding import Decoded, ImageFiles, OnBadImage, decode, log_skipped, refuse_or_skip
from toolkit.imagedata.images import ImageReader, open_image
from toolkit.imagedata.mapped import MappedImages
from toolkit.imagedata.streaming import StreamedImages

log = logging.getLogger("toolkit")

FORMAT = 1
"""Changes when the cache layout does, so older caches are prepared again."""
IMAGES_FILE, LABELS_FILE, META_FILE = "images.u8", "labels.npy", "meta.json"

LoadMode = Literal["cache", "memory", "stream"]


@dataclass
class LoadedImages:
    """Images as a uint8 tensor ``(N, C, H, W)``, or what indexes like one (:class:`MappedImages` from the cache,
    :class:`StreamedImages` streamed), their labels, and the files left out."""

    images: torch.Tensor | MappedImages | StreamedImages
    labels: torch.Tensor
    skipped: list[str]
    folder: Path | None = None


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir`` when given, else ``prepared/`` in ``$TOOLKIT_CACHE_DIR``, ``$XDG_CACHE_HOME/toolkit`` or
    ``~/.cache/toolkit``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("TOOLKIT_CACHE_DIR"):
        return Path(os.environ["TOOLKIT_CACHE_DIR"]).expanduser() / "prepared"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "toolkit" / "prepared"


def fingerprint(files: ImageFiles, reader: ImageReader, on_bad_image: OnBadImage) -> str:
    """A hash of every file's path, size and modification time, its label, and how the files are decoded."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, "reader": reader.as_dict(), "on_bad_image": on_bad_image},
                                       sort_keys=True).encode())
    for path, label in zip(files.paths, files.labels):
        try:
            stat = os.stat(path)
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:
            size, mtime = -1, -1  # decoding reports the missing file against its row
        digest.update(f"{os.path.abspath(path)}\0{size}\0{mtime}\0{label}\n".encode())
    return digest.hexdigest()


def load_images(files: ImageFiles, reader: ImageReader, *, name: str, load: LoadMode = "cache",
                cache_dir: str | Path | None = None, on_bad_image: OnBadImage = "error", workers: int = 2) -> LoadedImages:
    """The images of ``files`` as ``load`` says: ``cache``, from the prepared cache (prepared first when missing or
    stale); ``memory``, decoded into memory; ``stream``, decoded by ``workers`` DataLoader workers as batches ask for
    them. ``name`` labels the cache folder and the progress lines."""
    if load == "stream":
        return stream_images(files, reader, on_bad_image=on_bad_image, workers=workers)
    if load == "memory":
        decoded = decode(files, reader, lambda shape: np.empty(shape, dtype=np.uint8), on_bad_image=on_bad_image,
                         desc=f"reading {name}")
        return LoadedImages(torch.from_numpy(decoded.images[:decoded.count]), torch.from_numpy(decoded.labels),
                            decoded.skipped)
    folder = cache_root(cache_dir) / f"{_safe(name)}-{fingerprint(files, reader, on_bad_image)[:20]}"
    if (folder / META_FILE).is_file():
        log.info("reading prepared images from %s", folder)
    else:
        _prepare(files, reader, folder, on_bad_image)
    return open_cache(folder)


def stream_images(files: ImageFiles, reader: ImageReader, *, on_bad_image: OnBadImage, workers: int) -> LoadedImages:
    """Every file's header checked now (missing, not an image, too large); pixels decoded when a batch asks."""
    keep, skipped = [], []
    for index, path in enumerate(files.paths):
        try:
            open_image(path, decode=False)
            keep.append(index)
        except ToolkitError as exc:
            refuse_or_skip(files, index, str(exc), on_bad_image, skipped)
    if not keep:
        raise ToolkitError(f"None of the {len(files)} image files could be read ({'; '.join(skipped[:3])}).")
    kept = files.take(keep)
    shape = (reader.channels, *reader.size) if reader.size else tuple(reader.read(kept.paths[0])[0].shape)
    log_skipped(skipped, len(files))
    return LoadedImages(StreamedImages(kept, reader, shape, workers=workers), torch.tensor(kept.labels), skipped)


def _prepare(files: ImageFiles, reader: ImageReader, folder: Path, on_bad_image: OnBadImage) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(folder)
    temporary = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    log.info("preparing %d images into %s", len(files), folder)
    try:
        decoded = decode(files, reader, lambda shape: _new_array(temporary / IMAGES_FILE, shape),
                         on_bad_image=on_bad_image, desc=f"preparing {folder.name}")
        _finish(decoded, temporary)
        if folder.exists() and not (folder / META_FILE).is_file():
            shutil.rmtree(folder)  # a damaged copy: replaced whole
        try:
            os.rename(temporary, folder)
        except OSError:  # another process (a rank of the same run) finished the same cache first
            if not (folder / META_FILE).is_file():
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _remove_abandoned(folder: Path) -> None:
    """Delete the temporary folders that killed preparations of ``folder`` left behind (their process is gone)."""
    for temporary in folder.parent.glob(f".{folder.name}.*.tmp"):
        pid = temporary.name[len(folder.name) + 2:-len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(temporary, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def _new_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    return np.memmap(path, dtype=np.uint8, mode="w+", shape=shape)


def _finish(decoded: Decoded, temporary: Path) -> None:
    images = decoded.images
    images.flush()
    shape = [decoded.count, *images.shape[1:]]
    del images, decoded.images
    with open(temporary / IMAGES_FILE, "r+b") as handle:  # skipped files leave unused rows at the end
        handle.truncate(int(np.prod(shape)))
        os.fsync(handle.fileno())
    np.save(temporary / LABELS_FILE, decoded.labels)
    meta = {"format": FORMAT, "shape": shape, "skipped": decoded.skipped}
    (temporary / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")  # last: marks the folder whole


def open_cache(folder: Path) -> LoadedImages:
    """A prepared cache folder as images that index like a uint8 tensor (read from the file when a batch asks)."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        shape = tuple(int(n) for n in meta["shape"])
        if (folder / IMAGES_FILE).stat().st_size != int(np.prod(shape)):
            raise ValueError(f"{IMAGES_FILE} does not hold {shape} bytes")
        labels = np.load(folder / LABELS_FILE)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolkitError(
            f"The prepared images in {folder} are damaged ({type(exc).__name__}: {exc}). Delete that folder; the next "
            "run (or `toolkit prepare`) prepares them again."
        ) from None
    if len(labels) != shape[0]:
        raise ToolkitError(f"The prepared images in {folder} hold {shape[0]} images but {len(labels)} labels. Delete "
                           "that folder; the next run (or `toolkit prepare`) prepares them again.")
    return LoadedImages(MappedImages(folder / IMAGES_FILE, shape), torch.from_numpy(labels), list(meta.get("skipped", [])), folder)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "images"
