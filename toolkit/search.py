"""Nearest gallery items of query images with faiss, and the gallery index saved in the run folder.

The gallery is a split of the run's dataset (the training split by default) or a folder of images. Its
embeddings go into an exact faiss index (``IndexFlatL2``: galleries of this toolkit's size search in
milliseconds, and exact results match the k-NN evaluator's). ``toolkit index`` saves the index with the
gallery's labels and ids in the run folder; a later search loads it instead of embedding the gallery again,
as long as it was built from the same gallery with the same encoder weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import torch

from toolkit import rundir
from toolkit.errors import ToolkitError
from toolkit.images import gather_images
from toolkit.trained import TrainedModel
from toolkit.transform import describe_conversions


@dataclass
class Gallery:
    """Embedded gallery items: ``source`` says where they come from (``split:train`` or ``folder:/abs/path``)."""

    source: str
    index: Any
    labels: np.ndarray
    class_names: list[str]
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def label_name(self, i: int) -> str:
        label = int(self.labels[i])
        if label < 0:
            return Path(self.ids[i]).name
        return self.class_names[label] if label < len(self.class_names) else str(label)


def split_source(split: str) -> str:
    return f"split:{split}"


def folder_source(folder: str | Path) -> str:
    return f"folder:{Path(folder).resolve()}"


def _index(embeddings: torch.Tensor) -> Any:
    vectors = np.ascontiguousarray(embeddings.numpy(), dtype=np.float32)
    index = faiss.IndexFlatL2(vectors.shape[1])
    index.add(vectors)
    return index


def build_gallery(model: TrainedModel, source: str, *, progress: bool = False) -> tuple[Gallery, str | None]:
    """Embed the gallery ``source``; returns it and a sentence about converted images (None: none)."""
    kind, _, where = source.partition(":")
    if kind == "split":
        images = model.split(where)
        names = images.class_names or [str(c) for c in range(images.num_classes)]
        embeddings = model.embed(images, progress=progress)
        return Gallery(source, _index(embeddings), images.labels.numpy().astype(np.int64), list(names),
                       [f"{where}:{i}" for i in range(len(images))]), None
    found = gather_images([where])
    paths = [p for p, _ in found]
    names = sorted({c for _, c in found if c is not None})
    labels = np.array([names.index(c) if c is not None else -1 for _, c in found], dtype=np.int64)
    pixels, conversions = model.transform.read(paths, progress=progress)
    embeddings = model.embed(model.transform.image_set(pixels), progress=progress)
    note = describe_conversions(paths, conversions, model.transform)
    return Gallery(source, _index(embeddings), labels, names, [str(p) for p in paths]), note


def encoder_fingerprint(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / rundir.ENCODER_FILE).read_bytes()).hexdigest()[:16]


def save_gallery(gallery: Gallery, run_dir: Path) -> None:
    """``gallery.faiss`` (the index) and ``gallery.json`` (source, encoder fingerprint, labels, ids), atomically."""
    rundir.write_atomic(run_dir / rundir.GALLERY_INDEX, lambda tmp: faiss.write_index(gallery.index, str(tmp)))
    rundir.write_json(run_dir / rundir.GALLERY_META, {
        "source": gallery.source, "encoder": encoder_fingerprint(run_dir), "size": len(gallery),
        "class_names": gallery.class_names, "labels": gallery.labels.tolist(), "ids": gallery.ids,
    })


def load_saved_gallery(run_dir: Path, source: str) -> tuple[Gallery | None, str]:
    """The saved gallery of ``source``, or None and why it cannot be used."""
    meta_path, index_path = run_dir / rundir.GALLERY_META, run_dir / rundir.GALLERY_INDEX
    if not (meta_path.is_file() and index_path.is_file()):
        return None, "no saved index"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("source") != source:
            return None, f"the saved index is of another gallery ({meta.get('source')})"
        if meta.get("encoder") != encoder_fingerprint(run_dir):
            return None, "the saved index was built with other encoder weights"
        index = faiss.read_index(str(index_path))
        labels = np.asarray(meta["labels"], dtype=np.int64)
        if index.ntotal != len(labels) or len(labels) != len(meta["ids"]):
            return None, "the saved index and its labels disagree"
        return Gallery(source, index, labels, list(meta["class_names"]), list(meta["ids"])), "loaded"
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        return None, f"the saved index cannot be read ({type(exc).__name__})"


def nearest(gallery: Gallery, queries: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and gallery positions of the ``k`` nearest items of each query, nearest first."""
    if k < 1:
        raise ToolkitError(f"--k must be at least 1, got {k}.")
    if k > len(gallery):
        raise ToolkitError(
            f"--k {k} asks for more neighbours than the gallery holds ({len(gallery)} items, {gallery.source}). "
            f"Use --k {len(gallery)} or less, or a larger gallery."
        )
    squared, positions = gallery.index.search(np.ascontiguousarray(queries.numpy(), dtype=np.float32), k)
    return np.sqrt(np.maximum(squared, 0.0)), positions


def gallery_image(model: TrainedModel, gallery: Gallery, position: int) -> torch.Tensor:
    """The image of a gallery item, read again from its split or file."""
    item = gallery.ids[position]
    if gallery.source.startswith("split:"):
        split, _, i = item.rpartition(":")
        return model.split(split).images[int(i)]
    return model.transform.read([Path(item)])[0][0]


def query_label(gallery: Gallery, path: Path, given: str | None) -> int | None:
    """The gallery class of a query: its class folder's name (``.../7/img.png``) when the gallery has that class."""
    name = given if given is not None else path.parent.name
    return gallery.class_names.index(name) if name in gallery.class_names else None
