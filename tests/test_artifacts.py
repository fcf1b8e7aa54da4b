"""Files an evaluator announced are read back from metrics.json by the report, `toolkit runs` and `toolkit results`."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.evaluation.results import read_evaluation
from toolkit.reporting.report import render_report
from toolkit.reporting.results_table import read_run
from toolkit.runfolder.runs import summarise

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _run_folder(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "recipe.toml").write_text("[run]\nepochs = 1\n")
    (run / "status.json").write_text(json.dumps({"status": "finished", "recipe": "demo", "time": "2026-01-01T00:00:00"}))
    (run / "scatter.png").write_bytes(PNG)
    (run / "history.json").write_text("[]")
    metrics = {"recipe": "demo", "epochs": [], "train_seconds": 1.0, "wall_seconds": 2.0, "device": "cpu",
               "evaluation": {"knn": {"precision_at_1": 0.75}, "plot": {"points": 3.0}},
               "artifacts": {"plot": {"scatter": "scatter.png", "history": "history.json"}}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_the_report_inlines_an_announced_picture_and_lists_every_file(tmp_path):
    page = render_report(_run_folder(tmp_path))
    assert "<h2>plot.scatter</h2><img src=\"data:image/png;base64," in page
    assert "<td>plot.history</td><td>history.json</td>" in page


def test_runs_summary_carries_the_headline_metric_and_the_artifacts(tmp_path):
    summary = summarise(_run_folder(tmp_path))
    assert (summary.metric, summary.value) == ("knn.precision_at_1", 0.75)
    assert summary.artifacts == {"plot.scatter": "scatter.png", "plot.history": "history.json"}


def test_the_results_table_reads_metrics_and_artifacts_from_the_same_file(tmp_path):
    row = read_run(_run_folder(tmp_path))
    assert row.metrics == {"knn.precision_at_1": 0.75, "plot.points": 3.0}
    assert row.artifacts["plot.scatter"] == "scatter.png"


def test_an_older_metrics_file_with_file_names_among_the_metrics_keeps_only_the_numbers(tmp_path):
    run = tmp_path / "old"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"evaluation": {"embedding_plot": {"plot": "x.png", "frames": 2}}}))
    assert read_evaluation(run).flat() == {"embedding_plot.frames": 2.0}


def test_a_damaged_metrics_file_reads_as_no_results(tmp_path):
    (tmp_path / "metrics.json").write_text('{"evaluation": ')
    assert read_evaluation(tmp_path).flat() == {}
