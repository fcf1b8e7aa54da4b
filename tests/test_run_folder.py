"""What a run does to its folder: nothing left before the first checkpoint, a resumable folder after it, and
``--overwrite`` replacing only a run folder."""

from __future__ import annotations

import json
import tomllib

import pytest
from click.testing import CliRunner

from tests.conftest import fail_evaluation
from toolkit.api import ToolkitError
from toolkit.cli.main import main
from toolkit.training.runner import run


def test_a_run_failing_before_its_first_checkpoint_removes_the_folders_it_created(quick_recipe, tmp_path):
    (tmp_path / "runs" / "earlier-run").mkdir(parents=True)
    with pytest.raises(ToolkitError, match="while training: The training data has 1 class"):
        run(quick_recipe, output=str(tmp_path / "runs" / "new" / "deep" / "out"), overrides=("dataset.limit=1",),
            progress=False)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["earlier-run"]


def test_an_evaluation_failure_keeps_the_trained_run_and_resume_only_evaluates(quick_recipe, tmp_path, monkeypatch):
    out = tmp_path / "out"
    with monkeypatch.context() as patched, pytest.raises(ToolkitError, match="failed on purpose"):
        fail_evaluation(patched)
        run(quick_recipe, output=str(out), progress=False)
    assert json.loads((out / "status.json").read_text())["status"] == "failed"
    assert (out / "checkpoint.pt").is_file() and not (out / "metrics.json").exists()

    finished = run(quick_recipe, resume=str(out), progress=False)
    assert [e["epoch"] for e in finished.metrics["epochs"]] == [1, 2]
    assert "precision_at_1" in finished.metrics["evaluation"]["knn"]
    assert "resuming" in (out / "log.txt").read_text() and "epoch 1/2" not in (out / "log.txt").read_text().split("resuming")[1]


def test_overwrite_leaves_a_folder_that_is_not_a_run_alone(quick_recipe, tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.txt").write_text("months of work\n")
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(folder), "--overwrite", "-q"])
    assert result.exit_code == 2 and "does not look like" in result.output
    assert (folder / "chapter1.txt").read_text() == "months of work\n"


@pytest.mark.slow
def test_overwrite_refuses_the_current_folder(quick_recipe, tmp_path, monkeypatch):
    run(quick_recipe, output=str(tmp_path / "here"), overrides=("run.epochs=1",), progress=False)
    monkeypatch.chdir(tmp_path / "here")
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", ".", "--overwrite", "-q"])
    assert result.exit_code == 2 and "current folder" in result.output
    assert (tmp_path / "here" / "metrics.json").is_file()


@pytest.mark.slow
def test_overwrite_replaces_an_earlier_run(quick_recipe, tmp_path):
    out = tmp_path / "out"
    run(quick_recipe, output=str(out), overrides=("run.epochs=1",), progress=False)
    (out / "stale.txt").write_text("from the first run\n")
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(out), "--overwrite", "-q", "--set", "run.epochs=1"])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists() and (out / "metrics.json").is_file()


@pytest.mark.slow
def test_a_resumed_run_folder_holds_the_recipe_it_was_resumed_with(quick_recipe, tmp_path):
    out = tmp_path / "out"
    run(quick_recipe, output=str(out), overrides=("run.epochs=1",), progress=False)
    run(quick_recipe, overrides=("run.epochs=2",), resume=str(out), progress=False)
    assert tomllib.loads((out / "recipe.toml").read_text())["run"]["epochs"] == 2


def test_resume_with_another_output_folder_is_refused(quick_recipe, tmp_path):
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "--resume", str(tmp_path / "a"), "-o", str(tmp_path / "b")])
    assert result.exit_code == 2 and "Drop --output" in result.output
