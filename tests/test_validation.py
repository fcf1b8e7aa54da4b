"""Choosing on validation: the held-out split, the monitored metric per epoch, best.pt, final, early stopping, resume.

The runs train a tiny MLP on scikit-learn's digits on one CPU thread. Monitoring precision@1 with ``monitor_mode =
"min"`` makes the *worst* epoch the "best" one: precision climbs from the first epoch on, so the chosen epoch is
the first, never the last, and a test can tell which weights were kept.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import QUICK_RECIPE
from toolkit.imagedata.datasets import Dataset, ImageSet
from toolkit.errors import ToolkitError
from toolkit.imagedata.holdout import hold_out_validation, stratified_indices
from toolkit.recipes.build import build_components, build_dataset
from toolkit.recipes.recipe import parse_recipe
from toolkit.training import checkpoint
from toolkit.training.runner import run

MONITORED = QUICK_RECIPE.replace("epochs = 2", 'epochs = 4\nthreads = 1\nmonitor = "knn.precision_at_1"').replace(
    'name = "digits"', 'name = "digits"\nvalidation = 0.1')


def _run(write_recipe, tmp_path, name: str, *overrides: str, resume: bool = False) -> dict:
    recipe = write_recipe(MONITORED)
    out = tmp_path / name
    return run(recipe, output=None if resume else str(out), resume=str(out) if resume else None,
               overrides=overrides, progress=False).metrics


def _monitored(metrics: dict) -> list[float | None]:
    return [(e["validation"] or {}).get("knn.precision_at_1") for e in metrics["epochs"]]


def test_validation_share_is_a_stratified_seeded_share_of_the_training_images(tmp_path):
    recipe = parse_recipe(MONITORED, tmp_path / "recipe.toml")
    dataset, again = build_dataset(recipe), build_dataset(recipe)
    train, validation = dataset.split("train"), dataset.split("validation")
    whole = len(train) + len(validation)
    assert len(validation) == round(0.1 * whole)
    per_class = torch.bincount(validation.labels)
    shares = per_class / (per_class + torch.bincount(train.labels))
    assert shares.min() > 0.07 and shares.max() < 0.13  # every class keeps about its share
    assert again.split("validation").images.equal(validation.images)
    held = dataset.holdout["train_indices"]
    assert dataset.holdout["share"] == 0.1 and len(held) == len(validation) == len(set(held))


def test_a_dataset_with_its_own_validation_split_keeps_it():
    own = ImageSet(torch.zeros(4, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 0, 1, 1]))
    train = ImageSet(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.arange(10) % 2)
    dataset = Dataset("own", {"train": lambda: train, "validation": lambda: own})
    hold_out_validation(dataset, 0.5, "recipe.toml")
    assert dataset.split("validation") is own and dataset.split("train") is train and dataset.holdout is None


def test_best_checkpoint_is_the_epoch_with_the_best_monitored_value_and_final_best_exports_it(write_recipe, tmp_path):
    metrics = _run(write_recipe, tmp_path, "run", 'run.monitor_mode="min"', 'run.final="best"')
    values = _monitored(metrics)
    best_epoch = 1 + values.index(min(values))
    assert best_epoch < 4  # the check below tells best from last
    best = checkpoint.load(tmp_path / "run" / "best.pt")
    assert best["epoch"] == best_epoch == metrics["validation"]["best_epoch"]
    assert best["value"] == min(values)
    exported = checkpoint.load(tmp_path / "run" / "encoder.pt")["encoder"]
    assert all(exported[k].equal(v) for k, v in best["encoder"].items())
    last = checkpoint.load(tmp_path / "run" / "checkpoint.pt")["encoder"]
    assert not all(last[k].equal(v) for k, v in best["encoder"].items())
    split = json.loads((tmp_path / "run" / "validation_split.json").read_text())
    assert split["seed"] == 0 and len(split["train_indices"]) == 135
    assert json.loads((tmp_path / "run" / "threshold.json").read_text())["split"] == "validation"
    assert f"validation knn.precision_at_1 {values[-1]:.4f}" in (tmp_path / "run" / "log.txt").read_text()


def test_validate_every_measures_every_nth_epoch_and_the_last(write_recipe, tmp_path):
    metrics = _run(write_recipe, tmp_path, "run", "run.validate_every=3")
    assert [v is not None for v in _monitored(metrics)] == [False, False, True, True]
    assert metrics["validation"]["final"] == "last"


def test_early_stopping_stops_after_patience_validations_without_improvement(write_recipe, tmp_path):
    metrics = _run(write_recipe, tmp_path, "run", 'run.monitor_mode="min"', "run.patience=2", "run.epochs=8")
    values = _monitored(metrics)
    assert values[0] == min(values)  # epoch 1 stays best, so two more validations end training
    assert len(metrics["epochs"]) == 3
    assert metrics["validation"]["stopped_early_after"] == 3


@pytest.mark.slow
def test_a_resumed_run_keeps_the_best_and_ends_like_an_uninterrupted_one(write_recipe, tmp_path):
    settings = ('run.monitor_mode="min"', 'run.final="best"', "run.patience=3")
    whole = _run(write_recipe, tmp_path, "whole", *settings)
    _run(write_recipe, tmp_path, "resumed", *settings, "run.epochs=2")
    resumed = _run(write_recipe, tmp_path, "resumed", *settings, resume=True)
    assert _monitored(resumed) == _monitored(whole)
    assert resumed["validation"] == whole["validation"]
    assert resumed["evaluation"] == whole["evaluation"]
    a, b = (checkpoint.load(tmp_path / name / "best.pt") for name in ("whole", "resumed"))
    assert a["epoch"] == b["epoch"] and all(a["encoder"][k].equal(v) for k, v in b["encoder"].items())


def test_a_class_with_a_single_training_image_cannot_be_held_out():
    labels = torch.tensor([0] * 20 + [1] * 20 + [2])
    with pytest.raises(ToolkitError, match="class 2 has a single training image.*raise dataset.validation"):
        stratified_indices(labels, 0.5, "recipe.toml")


CENTER_LOSS = MONITORED.replace('name = "pairs"', 'name = "batches"').replace(
    'monitor = "knn.precision_at_1"', 'monitor = "classification.accuracy"\nmonitor_mode = "min"\nfinal = "best"')


def test_a_classifier_head_is_measured_on_validation_and_kept_with_the_best_weights(write_recipe, tmp_path):
    text = CENTER_LOSS.split("[loss]")[0] + """
[loss]
name = "softmax_center"
classes = 10
feature_dim = 8

[[evaluators]]
name = "classification"
"""
    metrics = run(write_recipe(text), output=str(tmp_path / "run"), progress=False).metrics
    accuracies = [e["validation"]["classification.accuracy"] for e in metrics["epochs"]]
    best = checkpoint.load(tmp_path / "run" / "best.pt")
    last = checkpoint.load(tmp_path / "run" / "checkpoint.pt")
    assert best["epoch"] == 1 + accuracies.index(min(accuracies)) < 4
    assert not best["loss"]["head.weight"].equal(last["loss"]["head.weight"])  # the head of the best epoch is kept
    components = build_components(parse_recipe(text, tmp_path / "again.toml"))
    components.encoder.load_state_dict(best["encoder"])
    components.loss.load_state_dict(best["loss"])
    test = components.dataset.split("test")
    with torch.no_grad():
        predicted = components.loss.classify(components.encoder.eval()(test.images.float() / 255)).argmax(1)
    expected = (predicted == test.labels).float().mean().item()
    assert metrics["evaluation"]["classification"]["accuracy"] == pytest.approx(expected, abs=1e-6)


def test_validate_checks_the_monitored_metric_on_200_validation_images_of_every_class(tmp_path, monkeypatch):
    from toolkit.training import validation

    recipe = parse_recipe(MONITORED.replace("validation = 0.1", "validation = 0.5"), tmp_path / "recipe.toml")
    components = build_components(recipe)
    measured = []
    real_measure = validation.measure
    monkeypatch.setattr(validation, "measure", lambda monitor, used, device: (
        measured.append(used.dataset.split("validation").labels), real_measure(monitor, used, device))[1])
    validation.prepare_monitor(recipe, components, check_only=True)
    assert len(components.dataset.split("validation")) > 200  # the run itself keeps the whole split
    assert len(measured[0]) == 200 and set(measured[0].tolist()) == set(range(10))
