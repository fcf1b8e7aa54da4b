"""The faiss index a gallery gets: exact up to a size, IVF or HNSW beyond, filled in chunks from memory-mapped
embeddings with the same results as from memory."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch

from tests.conftest import REPO
from toolkit.api import ToolkitError
from toolkit.model.faiss_index import IndexChoice, build_index, embed_to_file
from toolkit.model.search import build_gallery, index_kind, nearest, split_source
from toolkit.model.trained import load_run
from toolkit_plugins.evaluators.knn import KNNEvaluator, retrieval_metrics


def clustered(n: int, dim: int = 8, clusters: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, clusters, n)
    centres = rng.normal(0, 3, (clusters, dim))
    return (centres[labels] + rng.normal(0, 1, (n, dim))).astype(np.float32), labels


def neighbours(index, queries: np.ndarray, k: int = 5) -> np.ndarray:
    return index.search(queries, k)[1]


def test_auto_searches_exactly_up_to_the_threshold_and_with_ivf_above():
    choice = IndexChoice(exact_up_to=1000)
    assert [choice.kind_for(n) for n in (10, 1000, 1001)] == ["flat", "flat", "ivf"]
    assert IndexChoice(index="hnsw").kind_for(10) == "hnsw"


def test_ivf_cells_default_to_about_four_times_the_root_of_the_gallery_size():
    assert IndexChoice().cells_for(1_000_000) == 4000
    assert IndexChoice(nlist=50).cells_for(1_000_000) == 50
    assert IndexChoice().cells_for(100) == 2  # never more cells than the training sample can fill


def test_an_unknown_index_kind_is_a_clear_error():
    with pytest.raises(ToolkitError, match="Unknown faiss index 'annoy'"):
        IndexChoice(index="annoy")


def test_ivf_searching_every_cell_finds_the_exact_neighbours():
    gallery, _ = clustered(2000)
    queries, _ = clustered(50, seed=1)
    exact = neighbours(build_index(gallery, IndexChoice(index="flat")), queries)
    ivf = build_index(gallery, IndexChoice(index="ivf", nlist=20, nprobe=20))
    assert index_kind(ivf) == "ivf" and ivf.nlist == 20
    assert np.array_equal(neighbours(ivf, queries), exact)


def test_hnsw_finds_nearly_all_exact_neighbours_of_a_small_gallery():
    gallery, _ = clustered(2000)
    queries, _ = clustered(50, seed=1)
    exact = neighbours(build_index(gallery, IndexChoice(index="flat")), queries)
    found = neighbours(build_index(gallery, IndexChoice(index="hnsw", hnsw_m=16, ef_search=64)), queries)
    recall = np.mean([len(set(f) & set(e)) / 5 for f, e in zip(found, exact)])
    assert recall >= 0.95


def test_a_memory_mapped_gallery_indexed_in_chunks_gives_the_same_neighbours_as_in_memory(tmp_path):
    gallery, _ = clustered(1000)
    queries, _ = clustered(30, seed=1)
    stored = embed_to_file(lambda start, stop: gallery[start:stop], len(gallery), tmp_path / "g.npy", chunk_rows=64)
    assert isinstance(stored, np.memmap) and np.array_equal(stored, gallery)
    for choice in (IndexChoice(index="flat"), IndexChoice(index="ivf", nlist=10)):
        in_memory = build_index(gallery, choice)
        chunked = build_index(stored, choice, chunk_rows=64)
        assert np.array_equal(neighbours(chunked, queries), neighbours(in_memory, queries))


def test_cosine_normalises_the_gallery_without_changing_the_callers_vectors():
    gallery, _ = clustered(500)
    before = gallery.copy()
    index = build_index(gallery, IndexChoice(index="ivf", nlist=5, nprobe=5), metric="cosine")
    assert np.array_equal(gallery, before)
    query = gallery[:3] / np.linalg.norm(gallery[:3], axis=1, keepdims=True)
    assert np.array_equal(neighbours(index, query, 1)[:, 0], [0, 1, 2])


def test_knn_metrics_with_ivf_over_every_cell_equal_the_exact_metrics():
    gallery, gallery_labels = clustered(1500)
    queries, query_labels = clustered(200, seed=1)
    exact = retrieval_metrics(queries, query_labels, gallery, gallery_labels, ks=[1, 5])
    ivf = retrieval_metrics(queries, query_labels, gallery, gallery_labels, ks=[1, 5],
                            index=IndexChoice(index="ivf", nlist=8, nprobe=8))
    assert ivf == pytest.approx(exact)


def test_knn_neighbours_an_approximate_index_does_not_find_count_as_wrong():
    gallery, _ = clustered(1500)
    queries, _ = clustered(100, seed=1)
    one_class = np.zeros(len(gallery), dtype=np.int64)  # every neighbour found is right: only the missing are not
    narrow = retrieval_metrics(queries, one_class[:100], gallery, one_class, ks=[1], map_at_r=True,
                               index=IndexChoice(index="ivf", nlist=30, nprobe=1))
    assert narrow["precision_at_1"] == 1.0 and narrow["map_at_r"] < 0.5


def test_the_knn_evaluator_keeps_its_index_parameters():
    evaluator = KNNEvaluator(index="hnsw", hnsw_m=8, ef_search=32, exact_up_to=10)
    assert (evaluator.index.index, evaluator.index.hnsw_m, evaluator.index.ef_search) == ("hnsw", 8, 32)


def test_a_gallery_larger_than_a_chunk_is_embedded_to_a_scratch_file_with_the_same_neighbours(trained_run):
    model = load_run(trained_run)
    queries = model.embed(model.split("test").rows(0, 20))
    whole, _ = build_gallery(model, split_source("train"))
    chunked, _ = build_gallery(model, split_source("train"), chunk_rows=100)
    assert np.array_equal(nearest(chunked, queries, 5)[1], nearest(whole, queries, 5)[1])
    assert not list(trained_run.glob(".gallery-vectors-*"))  # the scratch file is gone


def test_the_large_gallery_benchmark_prints_build_time_speed_and_recall_of_each_index(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("large_gallery", REPO / "benchmarks" / "large_gallery.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "large_gallery", module)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    module.main(["--smoke"])
    torch.set_num_threads(threads)
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][2:]
    assert [r[0].strip().split(" ")[0] for r in rows] == ["flat", "ivf", "hnsw", "ivf"]
    assert float(rows[0][3]) == 1.0 and all(float(r[3]) > 0.5 for r in rows)


def _faiss_gpu_count() -> int:
    import faiss

    return getattr(faiss, "get_num_gpus", lambda: 0)()


def test_a_run_on_the_cpu_searches_on_the_cpu_even_where_faiss_sees_a_gpu(monkeypatch):
    import faiss

    from toolkit.model.faiss_index import wants_gpu

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", lambda index: index, raising=False)
    assert not wants_gpu("cpu") and not wants_gpu(torch.device("cpu"))
    assert wants_gpu("cuda") and wants_gpu(torch.device("cuda", 0)) and wants_gpu(None)


def test_an_index_faiss_cannot_move_to_the_gpu_stays_on_the_cpu_with_a_warning(monkeypatch, caplog):
    import faiss

    def refuse(index):
        raise RuntimeError("out of GPU memory")

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 1, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", refuse, raising=False)
    vectors, _ = clustered(200)
    index = build_index(vectors, IndexChoice("flat"), device="cuda")
    assert type(index).__name__ == "IndexFlatL2" and index.ntotal == 200
    assert "could not move it to the GPU (out of GPU memory)" in caplog.text


@pytest.mark.skipif(not torch.cuda.is_available() or _faiss_gpu_count() == 0,
                    reason="needs a CUDA GPU and faiss built with GPU support (faiss-gpu)")
def test_on_a_cuda_device_the_exact_index_searches_on_the_gpu_with_the_cpu_results():
    vectors, _ = clustered(2000)
    on_gpu = build_index(vectors, IndexChoice("flat"), device="cuda")
    on_cpu = build_index(vectors, IndexChoice("flat"), device="cpu")
    assert "Gpu" in type(on_gpu).__name__ and "Gpu" not in type(on_cpu).__name__
    assert (neighbours(on_gpu, vectors[:50]) == neighbours(on_cpu, vectors[:50])).mean() > 0.99
