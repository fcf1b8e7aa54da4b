"""Which faiss index searches a gallery: exact up to a size, approximate beyond it, built in chunks.

``flat`` (``IndexFlatL2``, or ``IndexFlatIP`` on normalised vectors for cosine) compares a query with every
gallery vector: exact, no training, search time proportional to the gallery. ``ivf`` (``IndexIVFFlat``) splits
the gallery into ``nlist`` k-means cells, trained on a sample, and searches the ``nprobe`` cells nearest a query.
``hnsw`` (``IndexHNSWFlat``) walks a graph of ``hnsw_m`` links per vector, ``ef_search`` candidates wide. ``auto``
is ``flat`` up to ``exact_up_to`` vectors and ``ivf`` above. A GPU is used for ``flat`` and ``ivf`` when faiss
was built with GPU support, sees one, and the run's device is CUDA; otherwise, or when faiss cannot move an
index there, the CPU.

Vectors are added ``chunk_rows`` at a time, so a gallery kept in a memory-mapped ``.npy``
(:func:`embed_to_file`) is indexed without ever being read into memory whole.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import faiss
import numpy as np

from toolkit.errors import ToolkitError

log = logging.getLogger("toolkit")

IndexKind = Literal["auto", "flat", "ivf", "hnsw"]
KINDS = ("auto", "flat", "ivf", "hnsw")
MATRIX_PRODUCT_FROM_QUERIES = 20
"""Exact searches of at least this many queries at once compute distances by matrix products (faiss's setting
``distance_compute_blas_threshold``; faiss 1.15's default is 128,000)."""
TRAINING_POINTS_PER_CELL = 40
"""IVF trains its k-means on this many sampled vectors per cell (faiss asks for at least 39)."""


@dataclass(frozen=True)
class IndexChoice:
    """How to index a gallery; see the module's docstring for the kinds."""

    index: IndexKind = "auto"
    exact_up_to: int = 250_000
    nlist: int | None = None
    nprobe: int = 16
    hnsw_m: int = 32
    ef_search: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.index not in KINDS:
            raise ToolkitError(f"Unknown faiss index {self.index!r}: choose one of {', '.join(KINDS)}.")
        for name in ("exact_up_to", "nprobe", "hnsw_m", "ef_search"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.nlist is not None and self.nlist < 1:
            raise ValueError(f"nlist must be at least 1, got {self.nlist}")

    def kind_for(self, size: int) -> str:
        """The index a gallery of ``size`` vectors gets."""
        if self.index != "auto":
            return self.index
        return "flat" if size <= self.exact_up_to else "ivf"

    def cells_for(self, size: int) -> int:
        """IVF cells: ``nlist``, else about 4·√size, never more than the sample can train."""
        wanted = self.nlist or round(4 * math.sqrt(size))
        return max(1, min(wanted, size // TRAINING_POINTS_PER_CELL or 1))

    def describe(self, size: int) -> str:
        kind = self.kind_for(size)
        if kind == "ivf":
            return f"ivf (nlist {self.cells_for(size)}, nprobe {self.nprobe})"
        if kind == "hnsw":
            return f"hnsw (M {self.hnsw_m}, efSearch {self.ef_search})"
        return "flat (exact)"


def new_index(dim: int, size: int, choice: IndexChoice, metric: str = "l2", device: Any = None) -> Any:
    """An empty index for ``size`` vectors of dimension ``dim`` (``metric``: ``l2``, or ``cosine`` on normalised
    vectors, searched by inner product), on the GPU when :func:`wants_gpu` says so for ``device``. IVF indexes
    still need :func:`add_in_chunks` to train them."""
    faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    kind = choice.kind_for(size)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, choice.hnsw_m, faiss_metric)
        index.hnsw.efSearch = choice.ef_search
        return index
    if kind == "ivf":
        quantizer = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, choice.cells_for(size), faiss_metric)
        index.nprobe = choice.nprobe
    else:
        use_matrix_products()
        index = faiss.IndexFlatIP(dim) if metric == "cosine" else faiss.IndexFlatL2(dim)
    return on_device(index, device)


def use_matrix_products() -> None:
    """Let faiss's exact search compute distances as ``‖x‖² + ‖y‖² − 2⟨x, y⟩`` with matrix products from
    :data:`MATRIX_PRODUCT_FROM_QUERIES` queries on, instead of one query at a time below 128,000 queries.

    Matrix products are much faster for the query counts an evaluation has. The two ways round differently, so
    neighbours at nearly equal distances can swap places. The setting is faiss's, for the whole process.
    """
    faiss.cvar.distance_compute_blas_threshold = MATRIX_PRODUCT_FROM_QUERIES


def wants_gpu(device: Any = None) -> bool:
    """Whether to search on the GPU: faiss was built with GPU support and sees one, and ``device`` (a run's
    device, such as ``"cuda"`` or ``torch.device("cpu")``) is a CUDA device or None (whatever is there)."""
    if device is not None and getattr(device, "type", str(device).partition(":")[0]) != "cuda":
        return False
    return getattr(faiss, "get_num_gpus", lambda: 0)() > 0 and hasattr(faiss, "index_cpu_to_all_gpus")


def on_device(index: Any, device: Any = None) -> Any:
    """``index`` on the GPUs when :func:`wants_gpu`, else (or when faiss cannot move this kind of index) as it is."""
    if not wants_gpu(device) or "HNSW" in type(index).__name__:  # faiss has no GPU HNSW
        return index
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except (RuntimeError, AttributeError) as exc:  # a GPU out of memory, an index kind without a GPU version
        log.warning("faiss searches the %s on the CPU: it could not move it to the GPU (%s)", type(index).__name__,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return index


def on_cpu(index: Any) -> Any:
    """The index on the CPU (to write it to a file)."""
    if hasattr(faiss, "index_gpu_to_cpu") and "Gpu" in type(index).__name__:
        return faiss.index_gpu_to_cpu(index)  # pragma: no cover - needs faiss-gpu and a GPU
    return index


def add_in_chunks(index: Any, vectors: np.ndarray, *, chunk_rows: int = 100_000, seed: int = 0,
                  normalise: bool = False) -> Any:
    """Train ``index`` if it needs it (on a seeded sample of ``vectors``) and add ``vectors`` ``chunk_rows`` at a
    time; ``vectors`` may be a memory map, of which only one chunk is in memory at once. ``normalise``: scale
    each vector to length 1 first (cosine)."""

    def rows(selection: Any) -> np.ndarray:
        part = np.ascontiguousarray(vectors[selection], dtype=np.float32)
        if normalise:
            part = part.copy()  # the slice may be a view of the caller's array or of a read-only memory map
            faiss.normalize_L2(part)
        return part

    if not index.is_trained:
        cells = getattr(index, "nlist", 1)
        wanted = min(len(vectors), TRAINING_POINTS_PER_CELL * cells)
        sample = np.sort(np.random.default_rng(seed).choice(len(vectors), size=wanted, replace=False))
        index.train(rows(sample))
    for start in range(0, len(vectors), chunk_rows):
        index.add(rows(slice(start, start + chunk_rows)))
    return index


def build_index(vectors: np.ndarray, choice: IndexChoice = IndexChoice(), *, metric: str = "l2",
                chunk_rows: int = 100_000, device: Any = None) -> Any:
    """The index ``choice`` picks for ``vectors`` (``(N, D)``, in memory or memory-mapped), filled in chunks; on
    the GPU when faiss has GPU support and ``device`` is CUDA (or None and faiss sees a GPU), else on the CPU."""
    index = new_index(vectors.shape[1], len(vectors), choice, metric, device)
    return add_in_chunks(index, vectors, chunk_rows=chunk_rows, seed=choice.seed, normalise=metric == "cosine")


def embed_to_file(embed: Callable[[int, int], np.ndarray], size: int, path: Path, *, chunk_rows: int) -> np.memmap:
    """Embeddings of ``size`` items written ``chunk_rows`` at a time into the ``.npy`` at ``path``, opened as a
    memory map: ``embed(start, stop)`` returns the vectors of items ``start:stop``. Returns the map (read-only)."""
    if size == 0:
        raise ValueError("cannot write the embeddings of an empty gallery")
    first = np.asarray(embed(0, min(chunk_rows, size)), dtype=np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size, first.shape[1]))
    out[: len(first)] = first
    for start in range(len(first), size, chunk_rows):
        stop = min(start + chunk_rows, size)
        out[start:stop] = embed(start, stop)
    out.flush()
    del out
    return np.load(path, mmap_mode="r")
