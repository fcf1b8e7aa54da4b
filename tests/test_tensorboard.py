"""Optional TensorBoard logging: refused clearly without the package, event files with it."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from toolkit.cli.main import main
from toolkit.training.runner import run


def test_tensorboard_without_the_package_is_refused_when_the_recipe_is_checked(quick_recipe, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # `import` now fails as if it were not installed
    result = CliRunner().invoke(main, ["validate", str(quick_recipe), "--set", "run.tensorboard=true"])
    assert result.exit_code == 2 and "run.tensorboard = true needs the tensorboard package" in result.output


@pytest.mark.slow
def test_tensorboard_logs_the_loss_of_every_epoch_and_the_metrics(quick_recipe, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (it is optional)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = run(quick_recipe, overrides=("run.tensorboard=true",), output=str(tmp_path / "run"), progress=False)
    events = EventAccumulator(str(result.run_dir / "tensorboard"))
    events.Reload()
    losses = [e.value for e in events.Scalars("train/loss")]
    assert losses == pytest.approx([e["loss"] for e in result.metrics["epochs"]])
    assert events.Scalars("knn/precision_at_1")[0].value == pytest.approx(result.metrics["evaluation"]["knn"]["precision_at_1"])


@pytest.mark.slow
def test_tensorboard_logs_the_validation_metrics_of_every_validated_epoch(quick_recipe, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (it is optional)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    overrides = ("run.tensorboard=true", "dataset.validation=0.1", 'run.monitor="knn.precision_at_1"')
    result = run(quick_recipe, overrides=overrides, output=str(tmp_path / "run"), progress=False)
    events = EventAccumulator(str(result.run_dir / "tensorboard"))
    events.Reload()
    logged = [e.value for e in events.Scalars("validation/knn.precision_at_1")]
    assert logged == pytest.approx([e["validation"]["knn.precision_at_1"] for e in result.metrics["epochs"]])
