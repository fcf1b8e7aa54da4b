"""Evaluators that look after every epoch keep their history across a resumed run."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.conftest import QUICK_RECIPE
from toolkit.training.runner import run

TRIPLET_RECIPE = QUICK_RECIPE.replace('name = "pairs"', 'name = "triplets"').replace(
    'name = "contrastive"', 'name = "triplet"').replace("embedding_dim = 8", "embedding_dim = 2") + """
[[evaluators]]
name = "triplet_accuracy"
count = 200

[[evaluators]]
name = "embedding_epochs"
max_points = 100
"""


@pytest.mark.slow
def test_validation_history_and_frames_survive_a_resume(write_recipe, tmp_path):
    recipe = write_recipe(TRIPLET_RECIPE)
    out = tmp_path / "run"
    run(recipe, overrides=("run.epochs=1",), output=str(out), progress=False)
    metrics = run(recipe, overrides=("run.epochs=3",), resume=str(out), progress=False).metrics
    resumed, artifacts = metrics["evaluation"], metrics["artifacts"]
    history = json.loads((out / artifacts["triplet_accuracy"]["per_epoch"]).read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["accuracy"] == resumed["triplet_accuracy"]["accuracy"]
    assert resumed["embedding_epochs"]["frames"] == 3
    with Image.open(out / artifacts["embedding_epochs"]["gif"]) as gif:
        assert gif.n_frames == 3
