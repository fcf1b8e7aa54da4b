"""Whole runs: the run folder, determinism, and a short run on the real data."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from toolkit.cli.main import main
from toolkit.training.runner import run


def test_a_run_writes_recipe_metrics_plots_and_weights(quick_recipe, tmp_path):
    result = run(quick_recipe, output=str(tmp_path / "out"), progress=False)
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"recipe.toml", "metrics.json", "loss_curve.png", "checkpoint.pt", "encoder.pt", "log.txt", "status.json"} <= files
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2 and 0.0 <= metrics["evaluation"]["knn"]["precision_at_1"] <= 1.0
    assert json.loads((result.run_dir / "status.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics_on_cpu(quick_recipe, tmp_path):
    a = run(quick_recipe, output=str(tmp_path / "a"), progress=False).metrics
    b = run(quick_recipe, output=str(tmp_path / "b"), progress=False).metrics
    assert [e["loss"] for e in a["epochs"]] == [e["loss"] for e in b["epochs"]]
    assert a["evaluation"] == b["evaluation"]


def test_an_existing_run_folder_is_not_overwritten_by_accident(quick_recipe, tmp_path):
    out = tmp_path / "out"
    run(quick_recipe, output=str(out), progress=False)
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(out), "-q"])
    assert result.exit_code == 2 and "--overwrite" in result.output


@pytest.mark.slow
def test_resume_continues_to_more_epochs(quick_recipe, tmp_path):
    out = tmp_path / "out"
    run(quick_recipe, output=str(out), progress=False)
    resumed = run(quick_recipe, overrides=("run.epochs=3",), resume=str(out), progress=False)
    assert [e["epoch"] for e in resumed.metrics["epochs"]] == [1, 2, 3]


def test_cli_run_prints_metrics_and_the_run_folder(quick_recipe, tmp_path):
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(tmp_path / "cli"), "-q", "--set", "run.epochs=1"])
    assert result.exit_code == 0, result.output
    assert "knn.precision_at_1" in result.output and "Run folder:" in result.output


@pytest.mark.slow
def test_short_real_fashion_mnist_run_beats_chance(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DATA", str(shared_data))
    from tests.conftest import REPO

    result = run(REPO / "recipes" / "fashion_siamese.toml", output=str(tmp_path / "fashion"), progress=False,
                 overrides=("run.epochs=1", "dataset.limit=6000", "evaluators.2.max_points=200"))
    knn = result.metrics["evaluation"]["knn"]
    assert knn["precision_at_1"] > 0.5  # chance is 0.1


def test_each_epoch_logs_the_learning_rate_it_trained_with(quick_recipe, tmp_path):
    result = run(quick_recipe, output=str(tmp_path / "lr"), progress=False,
                 overrides=('scheduler.name="StepLR"', "scheduler.step_size=1", "scheduler.gamma=0.5",
                            "optimizer.lr=0.01"))
    assert [e["lr"] for e in result.metrics["epochs"]] == pytest.approx([0.01, 0.005])


def test_run_threads_also_bounds_the_threads_faiss_searches_with(quick_recipe, tmp_path):
    import faiss
    import torch

    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    try:
        run(quick_recipe, overrides=("run.epochs=1", "run.threads=1"), output=str(tmp_path / "run"), progress=False)
        assert (torch.get_num_threads(), faiss.omp_get_max_threads()) == (1, 1)
    finally:
        torch.set_num_threads(before[0])
        faiss.omp_set_num_threads(before[1])


@pytest.mark.slow
def test_channels_last_trains_the_same_cnn_up_to_rounding(quick_recipe, tmp_path):
    cnn = ('encoder={name="small_cnn", image_size=8, embedding_dim=8}', "run.epochs=1")
    usual = run(quick_recipe, overrides=cnn, output=str(tmp_path / "usual"), progress=False).metrics
    fast = run(quick_recipe, overrides=(*cnn, "run.channels_last=true"), output=str(tmp_path / "fast"),
               progress=False).metrics
    assert fast["epochs"][0]["loss"] == pytest.approx(usual["epochs"][0]["loss"], rel=1e-4)
    assert fast["evaluation"]["knn"]["precision_at_1"] == pytest.approx(usual["evaluation"]["knn"]["precision_at_1"], abs=0.01)
