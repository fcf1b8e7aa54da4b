"""`toolkit run --resume RUN_DIR` takes the recipe from the run folder, and says when there is nothing to train."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.conftest import copy_run
from toolkit.cli.main import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_resuming_needs_no_recipe_and_keeps_the_recipe_name(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    result = invoke("run", "--resume", run, "--set", "run.epochs=2", "-q")
    assert result.exit_code == 0, result.output
    assert f"resuming {run} from epoch 2" in result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["recipe"] == "quick" and len(metrics["epochs"]) == 2


def test_resuming_a_finished_run_says_it_has_trained_all_its_epochs(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    result = invoke("run", "--resume", run, "-q")
    assert result.exit_code == 0, result.output
    assert "it has trained all 1 epochs of run.epochs = 1, so it evaluates and writes the results again" in result.output
    assert "from epoch 2" not in result.output


def test_a_resumed_runs_wall_time_adds_the_time_its_checkpoint_recorded(trained_run, tmp_path):
    from toolkit.training import checkpoint

    run = copy_run(trained_run, tmp_path / "run")
    saved = checkpoint.load(run / "checkpoint.pt")
    assert saved["wall_seconds"] > 0  # the first process's time, up to its last checkpoint
    checkpoint.save(run / "checkpoint.pt", {**saved, "wall_seconds": 600.0})  # as if it had trained for ten minutes
    assert invoke("run", "--resume", run, "-q").exit_code == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert 600.0 < metrics["wall_seconds"] < 660.0 and metrics["wall_seconds"] > metrics["train_seconds"]


def test_resume_of_a_folder_that_is_no_run_is_named(tmp_path):
    result = invoke("run", "--resume", tmp_path)
    assert result.exit_code == 2 and f"--resume {tmp_path}: there is no run folder there" in result.output


def test_run_without_recipe_or_resume_says_what_to_give():
    result = invoke("run")
    assert result.exit_code == 2 and "Give the RECIPE file to run" in result.output and "--resume RUN_DIR" in result.output
