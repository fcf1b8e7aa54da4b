"""Large-gallery benchmark: exact and approximate faiss indexes on a synthetic gallery.

    .venv/bin/python benchmarks/large_gallery.py                 # 1,000,000 x 64 gallery, 10,000 queries
    .venv/bin/python benchmarks/large_gallery.py --smoke         # seconds: 20,000 x 16, 200 queries

The gallery is a mixture of Gaussian clusters (embeddings of a trained model cluster by class; uniform noise
would make every index look worse than it is in use). Each index is built with ``toolkit.model.faiss_index`` as the
knn evaluator and ``toolkit index`` build it, and timed for its build (training and adding), its queries per
second over all queries at k = 10, and its recall@10: the share of the exact 10 nearest neighbours it finds.
The last row builds IVF from a memory-mapped ``.npy`` written in chunks, the path of galleries larger than memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from toolkit.model.faiss_index import IndexChoice, build_index, embed_to_file  # noqa: E402

K = 10


def mixture(n: int, dim: int, clusters: int, rng: np.random.Generator, centres: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points around ``clusters`` Gaussian centres (spread 1 around centres spread 1, so neighbouring clusters overlap)."""
    if centres is None:
        centres = rng.normal(0.0, 1.0, (clusters, dim)).astype(np.float32)
    labels = rng.integers(0, len(centres), n)
    points = centres[labels] + rng.normal(0.0, 1.0, (n, dim)).astype(np.float32)
    return np.ascontiguousarray(points, dtype=np.float32), centres


def timed_search(index, queries: np.ndarray) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    _, found = index.search(queries, K)
    return found, time.perf_counter() - started


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / K for f, e in zip(found, exact)]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="gallery vectors")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000, help="rows per chunk of the memory-mapped path")
    parser.add_argument("--smoke", action="store_true", help="a tiny gallery, to check the script runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.dim, args.queries, args.clusters, args.chunk_rows = 20_000, 16, 200, 50, 3_000

    rng = np.random.default_rng(0)
    gallery, centres = mixture(args.size, args.dim, args.clusters, rng)
    queries, _ = mixture(args.queries, args.dim, args.clusters, rng, centres)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, {os.cpu_count()} CPUs, load average "
          f"{load:.2f}; gallery {args.size:,} x {args.dim} ({args.clusters:,} Gaussian clusters), {args.queries:,} "
          f"queries, k = {K}")

    base = IndexChoice()
    rows = []
    exact = None
    for choice in (replace(base, index="flat"), replace(base, index="ivf"), replace(base, index="hnsw")):
        started = time.perf_counter()
        index = build_index(gallery, choice)
        build = time.perf_counter() - started
        found, seconds = timed_search(index, queries)
        exact = found if exact is None else exact
        rows.append((choice.describe(args.size), build, args.queries / seconds, recall_at_k(found, exact)))
        del index

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        stored = embed_to_file(lambda lo, hi: gallery[lo:hi], args.size, Path(scratch) / "gallery.npy",
                               chunk_rows=args.chunk_rows)
        index = build_index(stored, replace(base, index="ivf"), chunk_rows=args.chunk_rows)
        build = time.perf_counter() - started
        found, seconds = timed_search(index, queries)
        rows.append((f"ivf from a memory-mapped .npy, {args.chunk_rows:,}-row chunks", build, args.queries / seconds,
                     recall_at_k(found, exact)))
        del stored, index

    print()
    print(f"| {'index':<56} | {'build s':>8} | {'queries/s':>10} | {'recall@10':>9} |")
    print(f"| {'-' * 56} | {'-' * 8}:| {'-' * 10}:| {'-' * 9}:|")
    for name, build, qps, recall in rows:
        print(f"| {name:<56} | {build:>8.1f} | {qps:>10,.0f} | {recall:>9.4f} |")


if __name__ == "__main__":
    main()
