"""benchmarks/speed.py runs end to end (on synthetic images) and prints every target it measures with a verdict."""

from __future__ import annotations

import importlib.util
import sys

import faiss
import pytest
import torch

from tests.conftest import REPO


def _run_speed(monkeypatch, capsys, *args: str) -> dict[str, list[str]]:
    """The rows of the table that ``benchmarks/speed.py ARGS`` prints: figure -> the other cells."""
    spec = importlib.util.spec_from_file_location("speed", REPO / "benchmarks" / "speed.py")
    speed = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "speed", speed)  # its dataclasses look their module up there
    spec.loader.exec_module(speed)
    threads = torch.get_num_threads(), faiss.omp_get_max_threads()
    try:
        speed.main(list(args))
    finally:
        torch.set_num_threads(threads[0])
        faiss.omp_set_num_threads(threads[1])
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    return {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in table[2:]}


@pytest.mark.slow
def test_the_speed_benchmark_prints_each_training_and_evaluation_target_on_synthetic_images(capsys, monkeypatch):
    rows = _run_speed(monkeypatch, capsys, "--smoke", "--accuracy", "1", "--seeds", "0,1")
    assert list(rows) == ["1. runner images/s vs the article's loop", "1b. test precision@1 after 1 epochs (2 seeds, mean)",
                          "2. runner epoch vs tight eager loop",
                          "3. embed 700 + faiss k-NN 100x600", "3b. scikit-learn brute-force k-NN vs faiss"]
    assert rows["1. runner images/s vs the article's loop"][3] in ("yes", "NO")
    assert 0.0 <= float(rows["1b. test precision@1 after 1 epochs (2 seeds, mean)"][0]) <= 1.0
    assert float(rows["2. runner epoch vs tight eager loop"][2].rstrip("x")) > 0


@pytest.mark.slow
def test_accuracy_only_prints_the_precision_row_alone(capsys, monkeypatch):
    rows = _run_speed(monkeypatch, capsys, "--smoke", "--accuracy", "1", "--accuracy-only", "--seeds", "3")
    assert list(rows) == ["1b. test precision@1 after 1 epochs (1 seed, mean)"]
    measured, _, _, holds = rows["1b. test precision@1 after 1 epochs (1 seed, mean)"]
    assert 0.0 <= float(measured) <= 1.0 and holds in ("yes", "NO")
