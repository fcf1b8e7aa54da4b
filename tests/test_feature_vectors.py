"""Datasets whose items are not pictures (feature vectors stored as ``(N, D, 1, 1)``) train, evaluate and report."""

from __future__ import annotations

import json

from tests.conftest import QUICK_RECIPE
from tests.fake_plugins import registry_with
from toolkit.api import Dataset, ImageSet
from toolkit.training.runner import run
from toolkit_plugins.datasets.digits import digits


def digit_features() -> Dataset:
    """scikit-learn's digits as 64 features per item instead of 8x8 pictures."""
    pictures = digits()

    def features(split: str):
        images = pictures.split(split)
        return lambda: ImageSet(images.images.reshape(len(images), 64, 1, 1), images.labels, images.mean, images.std)

    return Dataset("digit_features", {split: features(split) for split in pictures.split_names})


def test_feature_vectors_are_not_images():
    assert not digit_features().split("test").is_image
    assert digits().split("test").is_image


def test_a_run_on_feature_vectors_writes_its_metrics_and_leaves_out_the_picture_figures(write_recipe, tmp_path):
    recipe = write_recipe(QUICK_RECIPE.replace('name = "digits"', 'name = "digit_features"')
                          + '\n[[evaluators]]\nname = "knn"\n\n[[evaluators]]\nname = "verification"\n')
    result = run(recipe, overrides=("run.epochs=1",), output=str(tmp_path / "out"), progress=False,
                 registry=registry_with("feature_plugin", "datasets", {"digit_features": digit_features}))
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["evaluation"]["knn"]["precision_at_1"] <= 1.0
    assert not (result.run_dir / "retrieval_grid.png").exists()
    assert not (result.run_dir / "verification_pairs.png").exists()
    assert (result.run_dir / "report.html").is_file()
