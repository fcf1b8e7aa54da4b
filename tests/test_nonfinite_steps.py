"""A step whose loss is not finite is skipped, counted, and never leaves bad weights behind."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import QUICK_RECIPE
from tests.fake_plugins import registry_with
from toolkit.api import Loss, ToolkitError
from toolkit.training.runner import run


class SometimesNaN(Loss):
    """Mean squared embedding norm, except every ``every``-th call returns NaN."""

    batch_kind = "pairs"

    def __init__(self, *, every: int = 3):
        super().__init__()
        self.every, self.calls = every, 0

    def forward(self, batch):
        self.calls += 1
        value = batch.embeddings.pow(2).mean()
        return value * float("nan") if self.calls % self.every == 0 else value


def _registry():
    return registry_with("nan_plugin", "losses", {"sometimes_nan": SometimesNaN})


@pytest.fixture
def nan_recipe(write_recipe):
    return write_recipe(QUICK_RECIPE.replace('name = "contrastive"\nmargin = 1.0', 'name = "sometimes_nan"'))


def test_nonfinite_steps_are_skipped_and_counted(nan_recipe, tmp_path):
    result = run(nan_recipe, overrides=("loss.every=3", "run.max_bad_steps=1000"),
                 output=str(tmp_path / "out"), progress=False, registry=_registry())
    epochs = result.metrics["epochs"]
    assert all(e["bad_steps"] > 0 for e in epochs)
    weights = torch.load(result.run_dir / "encoder.pt", weights_only=True)["encoder"]
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_too_many_nonfinite_steps_stop_the_run_with_a_clear_message(nan_recipe, tmp_path):
    with pytest.raises(ToolkitError, match="max_bad_steps"):
        run(nan_recipe, overrides=("loss.every=1", "run.max_bad_steps=5"),
            output=str(tmp_path / "out"), progress=False, registry=_registry())
