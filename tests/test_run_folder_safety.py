"""A run folder never loses a run: ``--overwrite`` keeps the old run until the new one has a checkpoint and
deletes only what a run wrote, and a refused resume leaves the run's status as it was."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from tests.error_catalogue import snapshot
from toolkit.api import ToolkitError
from toolkit.cli.main import main
from toolkit.runfolder.claim import aside_path, claim_run_dir
from toolkit.training import checkpoint
from toolkit.training import runner
from toolkit.training.runner import run


@pytest.fixture
def finished_run(quick_recipe, tmp_path):
    out = tmp_path / "out"
    run(quick_recipe, output=str(out), overrides=("run.epochs=1",), progress=False)
    return out


def test_overwrite_then_a_training_failure_keeps_the_old_run_byte_for_byte(quick_recipe, finished_run):
    before = snapshot(finished_run.parent)
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(finished_run), "--overwrite", "-q",
                                       "--set", "dataset.limit=1"])
    assert result.exit_code == 2 and "1 class" in result.output
    assert snapshot(finished_run.parent) == before


def test_overwrite_then_an_interruption_before_the_first_checkpoint_keeps_the_old_run(quick_recipe, finished_run,
                                                                                      monkeypatch):
    before = snapshot(finished_run.parent)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_training", interrupted)
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(finished_run), "--overwrite", "-q"])
    assert result.exit_code == 130, result.output
    assert snapshot(finished_run.parent) == before


@pytest.mark.slow
def test_overwrite_removes_the_old_run_once_the_new_one_has_a_checkpoint(quick_recipe, finished_run):
    old_log = (finished_run / "log.txt").read_text()
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(finished_run), "--overwrite", "-q"])
    assert result.exit_code == 0, result.output
    assert [e["epoch"] for e in json.loads((finished_run / "metrics.json").read_text())["epochs"]] == [1, 2]
    assert old_log not in (finished_run / "log.txt").read_text()
    assert not aside_path(finished_run).exists()


def test_overwrite_refuses_a_run_folder_holding_other_files_and_names_them(quick_recipe, finished_run):
    (finished_run / "thesis.tex").write_text("months of work\n")
    (finished_run / "photos").mkdir()
    (finished_run / "photos" / "beach.jpg").write_bytes(b"\xff\xd8")
    before = snapshot(finished_run.parent)
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(finished_run), "--overwrite", "-q"])
    assert result.exit_code == 2
    assert "photos/, thesis.tex" in result.output and "nothing was deleted" in result.output
    assert snapshot(finished_run.parent) == before


def test_overwrite_refuses_a_symbolic_link_and_leaves_it_and_its_target_alone(quick_recipe, finished_run, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(finished_run)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(link), "--overwrite", "-q"])
    assert result.exit_code == 2 and "symbolic link" in result.output and "Traceback" not in result.output
    assert snapshot(tmp_path) == before and link.is_symlink()


def test_an_output_name_longer_than_the_file_system_allows_is_one_clear_error(quick_recipe, tmp_path):
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(tmp_path / ("r" * 256)), "-q"])
    assert result.exit_code == 2 and "File name too long" in result.output and "shorter name" in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "recipe.toml"]


def test_a_refused_resume_leaves_a_finished_run_finished(quick_recipe, finished_run):
    saved = checkpoint.load(finished_run / "checkpoint.pt")
    saved["partial"] = {"epoch": 2, "step": 3, "surprise": 1}
    torch.save(saved, finished_run / "checkpoint.pt")
    with pytest.raises(ToolkitError, match=r"checkpoint.pt is not a valid checkpoint \(partial.surprise: extra"):
        run(quick_recipe, resume=str(finished_run), progress=False)
    assert json.loads((finished_run / "status.json").read_text())["status"] == "finished"


def test_a_resume_refused_by_the_components_leaves_the_status_as_it_was(quick_recipe, finished_run):
    saved = checkpoint.load(finished_run / "checkpoint.pt")
    saved["encoder"] = {"not.a.weight": torch.zeros(1)}
    torch.save(saved, finished_run / "checkpoint.pt")
    with pytest.raises(ToolkitError, match="does not fit the components"):
        run(quick_recipe, resume=str(finished_run), progress=False)
    assert json.loads((finished_run / "status.json").read_text())["status"] == "finished"


def _killed_overwrite(run_dir, *, with_checkpoint: bool) -> None:
    """What an --overwrite killed by SIGKILL leaves: the old run aside, the new one begun in its place."""
    run_dir.rename(aside_path(run_dir))
    run_dir.mkdir()
    (run_dir / "recipe.toml").write_text("[run]\n")
    (run_dir / "status.json").write_text('{"status": "running"}\n')
    if with_checkpoint:
        (run_dir / "checkpoint.pt").write_bytes(b"new run")


def test_an_overwrite_killed_before_its_first_checkpoint_gets_the_old_run_back_next_time(finished_run):
    before = snapshot(finished_run)
    _killed_overwrite(finished_run, with_checkpoint=False)
    with pytest.raises(ToolkitError, match="already holds files"):
        claim_run_dir(finished_run, overwrite=False, resume=False)
    assert snapshot(finished_run) == before and not aside_path(finished_run).exists()


def test_an_overwrite_killed_after_its_first_checkpoint_keeps_the_new_run(finished_run):
    _killed_overwrite(finished_run, with_checkpoint=True)
    claim_run_dir(finished_run, overwrite=False, resume=True).release()
    assert (finished_run / "checkpoint.pt").read_bytes() == b"new run" and not aside_path(finished_run).exists()


@pytest.mark.slow
def test_overwrite_counts_the_files_an_evaluator_recorded_as_its_own(quick_recipe, finished_run):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    metrics["artifacts"] = {"custom": {"figure": "figure.svg"}}
    (finished_run / "metrics.json").write_text(json.dumps(metrics))
    (finished_run / "figure.svg").write_text("<svg/>")
    result = CliRunner().invoke(main, ["run", str(quick_recipe), "-o", str(finished_run), "--overwrite", "-q",
                                       "--set", "run.epochs=1"])
    assert result.exit_code == 0, result.output
    assert not (finished_run / "figure.svg").exists()
