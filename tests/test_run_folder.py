"""What a failed run leaves: nothing before its first checkpoint, a resumable folder after it."""

from __future__ import annotations

import json

import pytest

from toolkit import ToolkitError
from toolkit.runner import run


def test_a_run_failing_before_its_first_checkpoint_removes_the_folders_it_created(quick_recipe, tmp_path):
    (tmp_path / "runs" / "earlier-run").mkdir(parents=True)
    with pytest.raises(ToolkitError, match="while training: The training data has 1 class"):
        run(quick_recipe, output=str(tmp_path / "runs" / "new" / "deep" / "out"), overrides=("dataset.limit=1",),
            progress=False)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["earlier-run"]


def test_an_evaluation_failure_keeps_the_trained_run_and_resume_only_evaluates(quick_recipe, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ToolkitError, match="no split 'validation'"):
        run(quick_recipe, output=str(out), overrides=('evaluators.0.query="validation"',), progress=False)
    assert json.loads((out / "status.json").read_text())["status"] == "failed"
    assert (out / "checkpoint.pt").is_file() and not (out / "metrics.json").exists()

    finished = run(quick_recipe, resume=str(out), progress=False)
    assert [e["epoch"] for e in finished.metrics["epochs"]] == [1, 2]
    assert "precision_at_1" in finished.metrics["evaluation"]["knn"]
    assert "resuming" in (out / "log.txt").read_text() and "epoch 1/2" not in (out / "log.txt").read_text().split("resuming")[1]
