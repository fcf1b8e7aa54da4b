"""Interruption and resume: a killed or Ctrl-C'd run, resumed, ends exactly where an uninterrupted one does.

The runs train a tiny MLP on scikit-learn's digits on one CPU thread, so they are fast and bit-for-bit
reproducible. A test plugin's loss (contrastive loss that can pause at its N-th step) lets a test stop the
run at a known place in the middle of an epoch.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tests.conftest import REPO
from tests.fake_plugins import installed, write_distribution
from toolkit.cli.main import main
from toolkit.training import checkpoint
from toolkit.training.runner import run
from toolkit_plugins.datasets.digits import digits

PAUSING_LOSS = '''
import os
import time
from pathlib import Path

import torch
from toolkit.api import hookimpl
from toolkit.api import EmbeddedBatch
from toolkit_plugins.losses.contrastive import ContrastiveLoss


class PausingContrastive(ContrastiveLoss):
    """Contrastive loss on a random 80 % of the pairs; pauses at its PAUSE_AT-th step (writes PAUSE_MARKER, then
    waits for PAUSE_MARKER.go)."""

    calls = 0

    def forward(self, batch):
        type(self).calls += 1
        if os.environ.get("PAUSE_AT") and type(self).calls == int(os.environ["PAUSE_AT"]):
            marker = Path(os.environ["PAUSE_MARKER"])
            marker.write_text("paused")
            deadline = time.time() + 120
            while not Path(f"{marker}.go").exists() and time.time() < deadline:
                time.sleep(0.02)
        keep = torch.rand(len(batch.same)) > 0.2  # drawn from torch's global generator, as dropout would be
        return super().forward(EmbeddedBatch(batch.kind, batch.embeddings[keep], batch.labels[keep], batch.same[keep]))


@hookimpl
def register_losses(register):
    register("pausing_contrastive", PausingContrastive)
'''

RECIPE = """
[run]
seed = 3
epochs = 3
threads = 1

[dataset]
name = "digits"

[sampler]
name = "pairs"
batch_size = 64

[encoder]
name = "mlp"
in_features = 64
hidden = [32]
embedding_dim = 8

[loss]
name = "pausing_contrastive"
margin = 1.0

[optimizer]
name = "Adam"
lr = 0.003

[scheduler]
name = "StepLR"
step_size = 1
gamma = 0.7

[[evaluators]]
name = "knn"
k = [1, 5]
"""

PAUSE_AT = 30  # the 30th step: digits' 1,347 training images make 22 batches of 64, so epoch 2, step 8


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The plugin installed in this process, the recipe, and the metrics of an uninterrupted run."""
    root = tmp_path_factory.mktemp("resume")
    site = root / "site"
    write_distribution(site, "pausing-loss", PAUSING_LOSS)
    recipe = root / "recipe.toml"
    recipe.write_text(RECIPE)
    threads = torch.get_num_threads()
    with installed(site):
        baseline = run(recipe, output=str(root / "uninterrupted"), progress=False).metrics
        yield root, site, recipe, baseline
    torch.set_num_threads(threads)


def _start(root: Path, site: Path, recipe: Path, out: Path) -> tuple[subprocess.Popen, Path]:
    marker = root / f"{out.name}.paused"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "PAUSE_AT": str(PAUSE_AT), "PAUSE_MARKER": str(marker)}
    env.pop("TOOLKIT_LOAD_PLUGINS", None)
    process = subprocess.Popen([sys.executable, "-m", "toolkit", "run", str(recipe), "-o", str(out), "-q"], cwd=REPO,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not marker.exists():
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail(f"the run never reached step {PAUSE_AT}: {process.communicate()}")
        time.sleep(0.05)
    return process, marker


def _same_results(a: dict, b: dict) -> None:
    assert [e["loss"] for e in a["epochs"]] == [e["loss"] for e in b["epochs"]]
    assert [e["lr"] for e in a["epochs"]] == [e["lr"] for e in b["epochs"]]
    assert a["evaluation"] == b["evaluation"]


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_to_the_same_metrics(setup):
    root, site, recipe, baseline = setup
    out = root / "killed"
    process, _ = _start(root, site, recipe, out)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    saved = checkpoint.load(out / "checkpoint.pt")
    assert saved["epoch"] == 1 and "partial" not in saved  # killed in epoch 2: the last complete checkpoint is epoch 1

    resumed = run(recipe, resume=str(out), progress=False).metrics
    _same_results(resumed, baseline)
    assert json.loads((out / "status.json").read_text())["status"] == "finished"


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_saves_the_step_reached_says_how_to_resume_and_resumes_exactly(setup, stop):
    """SIGTERM, what schedulers and containers send before they kill a process, is handled like Ctrl-C."""
    root, site, recipe, baseline = setup
    out = root / stop.name
    process, marker = _start(root, site, recipe, out)
    process.send_signal(stop)
    Path(f"{marker}.go").write_text("")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"--resume {out}" in stderr
    saved = checkpoint.load(out / "checkpoint.pt")
    batches_per_epoch = math.ceil(len(digits().split("train")) / 64)
    assert saved["epoch"] == 1 and saved["partial"] == {**saved["partial"], "epoch": 2, "step": PAUSE_AT - batches_per_epoch}
    assert json.loads((out / "status.json").read_text())["status"] == "interrupted"

    resumed = run(recipe, resume=str(out), progress=False).metrics
    _same_results(resumed, baseline)


@pytest.mark.slow
def test_a_finished_run_resumed_with_more_epochs_matches_one_run_of_that_length(setup, tmp_path):
    root, site, recipe, baseline = setup
    short = run(recipe, output=str(tmp_path / "short"), overrides=("run.epochs=2",), progress=False).metrics
    assert len(short["epochs"]) == 2
    resumed = run(recipe, resume=str(tmp_path / "short"), progress=False).metrics
    _same_results(resumed, baseline)


@pytest.mark.slow
def test_a_live_run_refuses_a_second_writer_naming_its_pid_until_it_is_killed(setup):
    root, site, recipe, baseline = setup
    out = root / "locked"
    process, _ = _start(root, site, recipe, out)
    try:
        for extra in (["--overwrite", "-o", str(out)], ["--resume", str(out)]):
            result = CliRunner().invoke(main, ["run", str(recipe), "-q", *extra])
            assert result.exit_code == 2, result.output
            assert f"in use by a run that is still going (process {process.pid})" in result.output
        assert json.loads((out / "status.json").read_text())["status"] == "running"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)

    resumed = run(recipe, resume=str(out), progress=False).metrics
    _same_results(resumed, baseline)
