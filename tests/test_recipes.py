"""The shipped recipes: each validates, and each runs one short epoch on a small slice of data."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import REPO, offline_weights, write_faces
from toolkit.cli.main import main
from toolkit.training.runner import run

RECIPES = sorted(p.name for p in (REPO / "recipes").glob("*.toml"))
MNIST_RECIPES = ["mnist_mlp_siamese.toml", "mnist_triplet.toml", "mnist_center_loss.toml", "mnist_center_loss_article.toml"]


def data_overrides(name: str, tiny_mnist, tiny_faces) -> tuple[str, ...]:
    """Point a recipe at the tiny test data instead of the real data root."""
    if name in ("faces_siamese.toml", "faces_resnet.toml", "faces_pretrained.toml"):
        return (f'dataset.folder="{tiny_faces}"',)
    if name == "fashion_folder.toml":  # ten class folders of small images
        return (f'dataset.folder="{write_faces(tiny_faces.parent / "fashion", 10, 3)}"',)
    if name == "faces_folder.toml":
        return (f'dataset.root="{tiny_att_faces(tiny_faces.parent / "att_faces")}"',)
    if name == "quickstart.toml":
        return ()
    if tomllib.loads((REPO / "recipes" / name).read_text())["dataset"]["name"] == "fashion-mnist":
        return ('dataset.name="mnist"', f'dataset.data_dir="{tiny_mnist}"')  # the same IDX layout and image size
    return (f'dataset.data_dir="{tiny_mnist}"',)


def tiny_att_faces(root: Path) -> Path:
    """A small grey image at every path that recipes/faces_folder.csv lists."""
    from PIL import Image

    rows = (REPO / "recipes" / "faces_folder.csv").read_text().splitlines()[1:]
    for i, row in enumerate(rows):
        path = root / row.split(",")[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 10), i % 251, np.uint8), "L").save(path)
    return root


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_validates(name, tiny_mnist, tiny_faces, tmp_path):
    overrides = (*data_overrides(name, tiny_mnist, tiny_faces), *offline_weights(REPO / "recipes" / name, tmp_path))
    sets = [arg for o in overrides for arg in ("--set", o)]
    result = CliRunner().invoke(main, ["validate", str(REPO / "recipes" / name), *sets])
    assert result.exit_code == 0, result.output


def test_every_recipe_starts_with_a_description_and_its_command():
    for name in RECIPES:
        head = (REPO / "recipes" / name).read_text().split("\n[")[0]
        assert head.startswith("# ") and f"recipes/{name}" in head, name


def _short_run(name, tmp_path, tiny_mnist, tiny_faces, *extra):
    overrides = (*data_overrides(name, tiny_mnist, tiny_faces), "run.epochs=1", *extra)
    return run(REPO / "recipes" / name, overrides=overrides, output=str(tmp_path / name), progress=False)


def test_mlp_siamese_recipe_runs_an_epoch_and_reports_both_cluster_mappings(tmp_path, tiny_mnist, tiny_faces):
    # a 2-D embedding is plotted as it is, sparing the test a t-SNE
    evaluation = _short_run("mnist_mlp_siamese.toml", tmp_path, tiny_mnist, tiny_faces, "encoder.embedding_dim=2").metrics["evaluation"]
    assert {"accuracy_majority", "accuracy_hungarian"} <= set(evaluation["kmeans"])
    assert 0.0 <= evaluation["knn"]["precision_at_1"] <= 1.0


@pytest.mark.slow
def test_faces_recipe_verifies_unseen_people_and_draws_pairs(tmp_path, tiny_mnist, tiny_faces):
    result = _short_run("faces_siamese.toml", tmp_path, tiny_mnist, tiny_faces, "dataset.size=[40, 40]",
                        "encoder.image_size=[40, 40]")  # a 12,800 → 500 first layer instead of 80,000 → 500
    verification = result.metrics["evaluation"]["verification"]
    assert (verification["same_pairs"], verification["different_pairs"]) == (3 * 6, 12 * 11 // 2 - 18)
    assert 0.0 <= verification["roc_auc"] <= 1.0 and 0.0 <= verification["eer"] <= 1.0
    assert (result.run_dir / "verification_pairs.png").stat().st_size > 0


def test_triplet_recipe_2d_variant_keeps_a_validation_loss_per_epoch(tmp_path, tiny_mnist, tiny_faces):
    result = _short_run("mnist_triplet.toml", tmp_path, tiny_mnist, tiny_faces, "run.epochs=2", "encoder.embedding_dim=2",
                        "evaluators.0.count=300")
    triplets = result.metrics["evaluation"]["triplet_accuracy"]
    assert triplets["triplets"] == 300 and 0.0 <= triplets["accuracy"] <= 1.0
    assert result.metrics["artifacts"]["triplet_accuracy"] == {"per_epoch": "validation.json", "curve": "validation_curve.png"}
    history = json.loads((result.run_dir / "validation.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2] and "loss" in history[0]
    assert (result.run_dir / "validation_curve.png").is_file()


@pytest.mark.slow
def test_center_loss_recipe_classifies_and_saves_a_scatter_every_epoch(tmp_path, tiny_mnist, tiny_faces):
    result = _short_run("mnist_center_loss.toml", tmp_path, tiny_mnist, tiny_faces, "run.epochs=2",
                        "scheduler.T_max=2", "evaluators.2.max_points=50")
    evaluation = result.metrics["evaluation"]
    assert result.metrics["validation"]["monitor"] == "classification.accuracy"
    assert result.metrics["validation"]["best_epoch"] in (1, 2)
    assert 0.0 <= evaluation["classification"]["accuracy"] <= 1.0 and "f1_weighted" in evaluation["classification"]
    assert sorted(p.name for p in (result.run_dir / "embedding_epochs").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert evaluation["embedding_epochs"]["frames"] == 2 and (result.run_dir / "embedding_epochs.gif").is_file()
    assert "precision" in (result.run_dir / "classification_report.txt").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fashion_folder.toml", "faces_folder.toml"])
def test_image_folder_and_table_recipes_run_an_epoch_on_unseen_classes(name, tmp_path, tiny_mnist, tiny_faces):
    result = _short_run(name, tmp_path, tiny_mnist, tiny_faces, "dataset.size=[16, 16]", "augment.0.size=[16, 16]")
    assert 0.0 <= result.metrics["evaluation"]["knn"]["precision_at_1"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["faces_resnet.toml", "faces_pretrained.toml"])
def test_backbone_recipes_run_an_epoch_offline(name, tmp_path, tiny_mnist, tiny_faces):
    """faces_resnet starts from random weights; faces_pretrained reads a local weights file as a user offline would."""
    result = _short_run(name, tmp_path, tiny_mnist, tiny_faces, "sampler.classes_per_batch=3",
                        *offline_weights(REPO / "recipes" / name, tmp_path))
    assert json.loads((result.run_dir / "status.json").read_text())["status"] == "finished"
    assert (result.run_dir / "encoder.pt").is_file()
    assert len(result.metrics["epochs"]) == 1
