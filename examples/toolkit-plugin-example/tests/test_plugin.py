"""Installed, the plugin's components are in toolkit's registry and a recipe can train with them."""

from __future__ import annotations

from pathlib import Path

from toolkit.components.registry import default_registry, reset_default_registry
from toolkit.training.runner import run

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "fashion_csv.toml"


def test_the_components_are_registered_under_the_plugins_name():
    reset_default_registry()
    registry = default_registry()
    plugin = "toolkit-plugin-example.example"
    assert registry.get("datasets", "pixel_csv").plugin == plugin
    assert registry.get("encoders", "conv_pool").plugin == plugin
    assert registry.get("losses", "cosine_contrastive").plugin == plugin


def test_the_example_recipe_trains_on_csv_files(csv_pair, tmp_path):
    result = run(RECIPE, overrides=[f"dataset.data_dir={csv_pair}", "dataset.train=train.csv", "dataset.test=test.csv",
                                    "run.epochs=1", "run.device=cpu"],
                 output=str(tmp_path / "run"), progress=False)
    assert 0.0 <= result.metrics["evaluation"]["knn"]["precision_at_1"] <= 1.0
