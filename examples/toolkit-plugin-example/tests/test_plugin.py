"""Installed, the plugin's components are registered under its name and recipes train with every one of them."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.api import registered, run_recipe

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
PLUGIN = "toolkit-plugin-example.example"


def test_one_component_of_every_kind_is_registered_under_the_plugins_name():
    assert registered("datasets")["pixel_csv"] == PLUGIN
    assert registered("encoders")["conv_pool"] == PLUGIN
    assert registered("losses")["cosine_contrastive"] == registered("losses")["mined_cosine"] == PLUGIN
    assert registered("samplers")["class_pairs"] == PLUGIN
    assert registered("miners")["hard_pairs"] == PLUGIN
    assert registered("evaluators")["centroid"] == PLUGIN
    assert registered("augmentations")["salt_and_pepper"] == PLUGIN


def _csv_overrides(folder: Path) -> list[str]:
    return [f"dataset.data_dir={folder}", "dataset.train=train.csv", "dataset.test=test.csv", "run.epochs=1",
            "run.device=cpu"]


def test_the_example_recipe_trains_on_csv_files(csv_pair, tmp_path):
    metrics = run_recipe(RECIPES / "fashion_csv.toml", output=tmp_path / "run", overrides=_csv_overrides(csv_pair))
    assert 0.0 <= metrics["evaluation"]["knn"]["precision_at_1"] <= 1.0


def test_a_recipe_of_the_plugins_own_components_trains_and_files_the_evaluators_artifact(csv_pair, tmp_path):
    overrides = [*_csv_overrides(csv_pair), "sampler.classes_per_batch=3", "sampler.images_per_class=4"]
    metrics = run_recipe(RECIPES / "csv_every_kind.toml", output=tmp_path / "run", overrides=overrides)
    assert 0.0 <= metrics["evaluation"]["centroid"]["accuracy"] <= 1.0
    per_class = json.loads((tmp_path / "run" / metrics["artifacts"]["centroid"]["per_class"]).read_text())
    assert sorted(per_class) == ["0", "1", "2"]
