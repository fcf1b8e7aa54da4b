"""Nearest gallery items of query images with faiss, and the gallery index saved in the run folder.

The gallery is a split of the run's dataset (the training split by default) or a folder of images. Its
embeddings go into the faiss index :class:`~toolkit.model.faiss_index.IndexChoice` picks: exact (``IndexFlatL2``, whose
results match the k-NN evaluator's) up to 250,000 items, IVF above, or the kind asked for. A gallery of more than
``chunk_rows`` items is embedded chunk by chunk into a memory-mapped ``.npy`` (in a scratch folder inside the run
folder, removed afterwards) and added to the index chunk by chunk, so its embeddings never need to fit in memory.
``toolkit index`` saves the index with the gallery's labels and ids in the run folder; a later search loads it
instead of embedding the gallery again, as long as it was built from the same gallery with the same encoder
weights (and is of the kind asked for, when one is).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import faiss
import numpy as np
import torch

from toolkit.runfolder import gallery_files, rundir
from toolkit.imagedata.datasets import ImageSet
from toolkit.errors import ToolkitError
from toolkit.model.faiss_index import IndexChoice, build_index, embed_to_file, on_cpu, on_device
from toolkit.imagedata.images import gather_images
from toolkit.model.trained import TrainedModel
from toolkit.imagedata.transform import describe_conversions


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


CHUNK_ROWS = 100_000
"""Galleries of more items than this are embedded into a memory-mapped file and indexed chunk by chunk."""


@contextmanager
def _embedded(model: TrainedModel, images: ImageSet, *, progress: bool, chunk_rows: int) -> Iterator[np.ndarray]:
    """The gallery's embeddings: in memory, or beyond ``chunk_rows`` items a memory map of a scratch ``.npy``."""
    if len(images) <= chunk_rows:
        yield model.embed(images, progress=progress).numpy()
        return
    with tempfile.TemporaryDirectory(dir=model.run_dir, prefix=".gallery-vectors-") as scratch:
        yield embed_to_file(lambda start, stop: model.embed(images.rows(start, stop)).numpy(), len(images),
                            Path(scratch) / "vectors.npy", chunk_rows=chunk_rows)


def _index(model: TrainedModel, images: ImageSet, choice: IndexChoice, *, progress: bool, chunk_rows: int) -> Any:
    with _embedded(model, images, progress=progress, chunk_rows=chunk_rows) as vectors:
        return build_index(vectors, choice, chunk_rows=chunk_rows)


def build_gallery(model: TrainedModel, source: str, *, progress: bool = False, choice: IndexChoice = IndexChoice(),
                  chunk_rows: int = CHUNK_ROWS) -> tuple[Gallery, str | None]:
    """Embed and index the gallery ``source``; returns it and a sentence about converted images (None: none)."""
    kind, _, where = source.partition(":")
    if kind == "split":
        images = model.split(where)
        names = images.class_names or [str(c) for c in range(images.num_classes)]
        index = _index(model, images, choice, progress=progress, chunk_rows=chunk_rows)
        return Gallery(source, index, images.labels.numpy().astype(np.int64), list(names),
                       [f"{where}:{i}" for i in range(len(images))]), None
    found = gather_images([where])
    paths = [p for p, _ in found]
    names = sorted({c for _, c in found if c is not None})
    labels = np.array([names.index(c) if c is not None else -1 for _, c in found], dtype=np.int64)
    pixels, conversions = model.transform.read(paths, progress=progress)
    index = _index(model, model.transform.image_set(pixels), choice, progress=progress, chunk_rows=chunk_rows)
    note = describe_conversions(paths, conversions, model.transform)
    return Gallery(source, index, labels, names, [str(p) for p in paths]), note


def index_kind(index: Any) -> str:
    """``flat``, ``ivf`` or ``hnsw``: the kind of a built faiss index."""
    name = type(on_cpu(index)).__name__
    return "ivf" if "IVF" in name else "hnsw" if "HNSW" in name else "flat"


def encoder_fingerprint(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / rundir.ENCODER_FILE).read_bytes()).hexdigest()[:16]


def save_gallery(gallery: Gallery, run_dir: Path) -> None:
    """``gallery.faiss`` (the index) and ``gallery.json`` (source, encoder fingerprint, labels, ids), atomically."""
    rundir.write_atomic(run_dir / rundir.GALLERY_INDEX, lambda tmp: faiss.write_index(on_cpu(gallery.index), str(tmp)))
    rundir.write_json(run_dir / rundir.GALLERY_META, {
        "source": gallery.source, "encoder": encoder_fingerprint(run_dir), "size": len(gallery),
        "index": index_kind(gallery.index),
        "class_names": gallery.class_names, "labels": gallery.labels.tolist(), "ids": gallery.ids,
    })


def saved_index_description(run_dir: Path) -> str | None:
    """What index the run folder holds, such as "flat index of 1347 items (split:train)"; None when it holds none."""
    meta_path = run_dir / rundir.GALLERY_META
    if not (meta_path.is_file() and (run_dir / rundir.GALLERY_INDEX).is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        return f"{meta.get('index', 'flat')} index of {meta['size']} items ({meta['source']})"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "index (its description cannot be read)"


def load_saved_gallery(run_dir: Path, source: str, index: str = "auto") -> tuple[Gallery | None, str]:
    """The saved gallery of ``source`` (with an index of kind ``index`` unless that is ``auto``), or None and why it
    cannot be used."""
    meta_path, index_path = run_dir / rundir.GALLERY_META, run_dir / rundir.GALLERY_INDEX
    if not (meta_path.is_file() and index_path.is_file()):
        return None, "no saved index"
    try:
        meta = gallery_files.read_gallery_meta(run_dir, source)
        if meta.source != source:
            return None, f"the saved index is of another gallery ({meta.source})"
        if meta.encoder != encoder_fingerprint(run_dir):
            return None, "the saved index was built with other encoder weights"
        if index != "auto" and meta.index != index:
            return None, f"the saved index is a {meta.index} index, not {index}"
        gallery_files.check_index_header(index_path)
        index = on_device(faiss.read_index(str(index_path)))  # GPU faiss when it sees a GPU
        labels = np.asarray(meta.labels, dtype=np.int64)
        if index.ntotal != len(labels):
            return None, "the saved index and its labels disagree"
        return Gallery(source, index, labels, meta.class_names, meta.ids), "loaded"
    except ToolkitError as exc:
        return None, f"the saved index was not used: {exc}"
    except (OSError, RuntimeError) as exc:
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
    if (positions < 0).any():  # an approximate index found fewer than k items near some query
        raise ToolkitError(
            f"The {index_kind(gallery.index)} index of the gallery ({gallery.source}) found fewer than --k {k} "
            "neighbours for some queries. Ask for fewer neighbours, or search exactly with --index flat."
        )
    return np.sqrt(np.maximum(squared, 0.0)), positions


def gallery_image(model: TrainedModel, gallery: Gallery, position: int) -> torch.Tensor:
    """The image of a gallery item, read again from its split or file."""
    item = gallery.ids[position]
    if gallery.source.startswith("split:"):
        split, _, i = item.rpartition(":")
        images = model.split(split).images
        if not i.isdigit() or int(i) >= len(images):
            raise ToolkitError(f"The saved gallery of {model.run_dir} names the item {item!r}, which the {split} split "
                               f"(of {len(images)} images) does not have. Build it again with `toolkit index`.")
        return images[int(i)]
    return model.transform.read([Path(item)])[0][0]


def query_label(gallery: Gallery, path: Path, given: str | None) -> int | None:
    """The gallery class of a query: its class folder's name (``.../Coat/img.png``) or number (``.../4/img.png``)
    when the gallery has that class."""
    return _class_of(gallery, given if given is not None else path.parent.name)


def _class_of(gallery: Gallery, name: str) -> int | None:
    if name in gallery.class_names:
        return gallery.class_names.index(name)
    if name.isdigit() and int(name) < len(gallery.class_names):
        return int(name)
    return None


def unmatched_class_folders(gallery: Gallery, found: list[tuple[Path, str | None]]) -> str | None:
    """A sentence naming the query class folders that match no gallery class by name or number (None: all match)."""
    missing = sorted({given for _, given in found if given is not None and _class_of(gallery, given) is None})
    if not missing:
        return None
    shown = ", ".join(f"{name}/" for name in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    classes = ", ".join(gallery.class_names[:12]) + (", ..." if len(gallery.class_names) > 12 else "")
    return (f"The query folders {shown} match no gallery class, by name or by number (0-{len(gallery.class_names) - 1}), "
            f"so their results are not checked. The gallery's classes: {classes}.")
