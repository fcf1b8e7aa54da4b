"""Checking a saved gallery (``gallery.json`` and ``gallery.faiss``) before anything is loaded from it.

A run folder may come from someone else: the index header is checked against the file's size before faiss
allocates what it claims, and the gallery's ids may only name items of the gallery the command line gave.
"""

from __future__ import annotations

import struct
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.runfolder import files, schemas

MAX_DIMENSIONS = 1 << 16
"""No embedding of the toolkit's encoders comes near this many dimensions."""
FLAT_CODES = (b"IxF2", b"IxFI")
"""faiss's four-byte codes of flat L2 and inner-product indexes, which store every vector in full (float32)."""


def check_index_header(path: Path) -> None:
    """Refuse ``gallery.faiss`` when its header claims more vectors or dimensions than the file can hold."""
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 16:
        raise ToolkitError(f"{path} is cut short ({len(head)} bytes): not a faiss index.")
    dimensions, count = struct.unpack("<iq", head[4:16])
    size = path.stat().st_size
    full = count * dimensions * 4 if head[:4] in FLAT_CODES else count
    if not 1 <= dimensions <= MAX_DIMENSIONS or count < 0 or full > size:
        raise ToolkitError(
            f"{path} is damaged: its header claims {count} vectors of {dimensions} dimensions, which a file of {size} "
            f"bytes cannot hold (or more than {MAX_DIMENSIONS} dimensions); it was not loaded."
        )


def read_gallery_meta(run_dir: Path, source: str) -> schemas.GalleryMeta | None:
    """``gallery.json`` of ``run_dir``, checked, with every id inside the gallery ``source`` names."""
    meta = files.read_gallery_meta(run_dir)
    if meta is None or meta.source != source:
        return meta
    kind, _, where = source.partition(":")
    outside = next((i for i in meta.ids if not _inside(kind, where, i)), None)
    if outside is not None:
        raise ToolkitError(
            f"{run_dir / 'gallery.json'} names the item {outside!r}, which is not in its gallery ({source}); the "
            "gallery was not used. Build it again with `toolkit index`."
        )
    return meta


def _inside(kind: str, where: str, item: str) -> bool:
    if kind == "split":
        split, _, position = item.rpartition(":")
        return split == where and position.isdigit()
    resolved = Path(item).resolve()
    return kind == "folder" and Path(where).resolve() in resolved.parents
