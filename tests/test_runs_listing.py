"""`toolkit runs`: the run folders under an output root, with recipe, status, date and headline metric."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import copy_run
from toolkit.cli.main import main


def test_runs_lists_finished_and_interrupted_runs_newest_first(trained_run, tmp_path):
    root = tmp_path / "runs"
    copy_run(trained_run, root / "quick-a")
    stopped = copy_run(trained_run, root / "nested" / "quick-b")
    (stopped / "metrics.json").unlink()
    (stopped / "status.json").write_text(json.dumps({"status": "interrupted", "recipe": "quick", "time": "2099-01-01T00:00:00"}))
    (root / "not-a-run").mkdir()

    listed = json.loads(CliRunner().invoke(main, ["runs", str(root), "--json"]).stdout)
    assert [r["path"] for r in listed] == [str(stopped), str(root / "quick-a")]
    assert [r["status"] for r in listed] == ["interrupted", "finished"]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert listed[1]["metric"] == "knn.precision_at_1"
    assert listed[1]["value"] == metrics["evaluation"]["knn"]["precision_at_1"] and listed[1]["recipe"] == "quick"
    assert listed[0]["metric"] is None

    table = CliRunner().invoke(main, ["runs", str(root)]).stdout
    assert "interrupted" in table and "knn.precision_at_1" in table


def test_runs_of_a_missing_root_says_where_runs_go(tmp_path):
    result = CliRunner().invoke(main, ["runs", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "runs/" in result.output


def test_a_run_whose_process_was_killed_shows_as_killed_not_running(trained_run, tmp_path):
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    run = copy_run(trained_run, tmp_path / "runs" / "quick")
    (run / "metrics.json").unlink()
    (run / "status.json").write_text(json.dumps({"status": "running", "recipe": "quick", "time": "2026-01-01T00:00:00",
                                                 "pid": int(gone), "host": socket.gethostname()}))
    listed = json.loads(CliRunner().invoke(main, ["runs", str(tmp_path / "runs"), "--json"]).stdout)
    assert [r["status"] for r in listed] == ["killed"]


@pytest.mark.parametrize("damaged", ['[1, 2]', '{"evaluation": []}', '{"epochs": [{"epoch": "one"}]}', "not json"])
def test_a_run_folder_with_a_damaged_metrics_file_is_left_out_with_a_note(trained_run, tmp_path, damaged):
    good = copy_run(trained_run, tmp_path / "runs" / "good")
    bad = copy_run(trained_run, tmp_path / "runs" / "bad")
    (bad / "metrics.json").write_text(damaged)
    result = CliRunner().invoke(main, ["runs", str(tmp_path / "runs"), "--json"])
    assert result.exit_code == 0, result.output
    assert [r["path"] for r in json.loads(result.stdout)] == [str(good)]
    assert f"left out: {bad / 'metrics.json'} is not" in result.stderr
