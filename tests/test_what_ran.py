"""A run records what it ran on; `toolkit validate --print` shows the recipe as it will run."""

from __future__ import annotations

import json
import tomllib
from importlib import metadata

import torch
from click.testing import CliRunner

import toolkit
from tests.conftest import REPO
from toolkit.cli.main import main


def test_metrics_json_records_versions_device_threads_and_precision(trained_run):
    env = json.loads((trained_run / "metrics.json").read_text())["environment"]
    assert env["versions"]["metric-toolkit"] == toolkit.__version__
    assert env["versions"]["torch"] == torch.__version__
    assert env["versions"]["torchvision"] == metadata.version("torchvision")
    assert env["versions"]["pytorch-metric-learning"] == metadata.version("pytorch-metric-learning")
    assert any(name.startswith("faiss") for name in env["versions"])
    assert env["plugins"]["metric-toolkit"] == toolkit.__version__
    assert env["device"] == "cpu" and env["cpu"] and env["device_name"] == env["cpu"]
    assert env["threads"] >= 1 and env["precision"] == "float32"


def test_the_thread_count_recorded_is_the_one_the_run_used(quick_recipe, tmp_path):
    from toolkit.training.runner import run

    saved = torch.get_num_threads()
    try:
        result = run(quick_recipe, overrides=("run.epochs=1", "run.threads=1", "dataset.limit=300"),
                     output=str(tmp_path / "run"), progress=False)
    finally:
        torch.set_num_threads(saved)
    assert result.metrics["environment"]["threads"] == 1


def test_the_report_shows_what_ran(trained_run):
    page = (trained_run / "report.html").read_text()
    assert "What ran" in page and f"<td>{torch.__version__}</td>" in page


def test_validate_print_shows_the_recipe_with_overrides_and_defaults(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(REPO / "recipes" / "quickstart.toml"), "--print",
                                       "--set", "run.epochs=3"])
    assert result.exit_code == 0, result.output
    text, _, last = result.output.rstrip("\n").rpartition("\n")
    resolved = tomllib.loads(text)
    assert last.endswith("quickstart.toml: OK")
    assert resolved["run"]["epochs"] == 3 and resolved["run"]["max_bad_steps"] == 20
    assert resolved["sampler"]["drop_last"] is False and resolved["optimizer"]["betas"] == [0.9, 0.999]
    again = tmp_path / "resolved.toml"
    again.write_text(text)
    assert CliRunner().invoke(main, ["validate", str(again)]).exit_code == 0


def test_the_getting_started_page_lists_every_file_a_run_writes(trained_run):
    page = (REPO / "docs" / "getting-started.md").read_text()
    table = page.split("## The run folder", 1)[1].split("##", 1)[0]
    missing = [p.name for p in trained_run.iterdir() if f"`{p.name}`" not in table]
    assert missing == []
