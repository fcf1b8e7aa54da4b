"""The knn evaluator's numbers agree with pytorch-metric-learning's AccuracyCalculator on both protocols:
query = gallery (CUB-200, Cars196, SOP: each query left out) and separate query and gallery sets (In-shop)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from toolkit.api import Dataset, ImageSet
from toolkit.evaluation.evaluate import make_context
from toolkit_plugins.evaluators.knn import KNNEvaluator

METRICS = ("precision_at_1", "mean_average_precision_at_r")


def accuracy_calculator():
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    return AccuracyCalculator(include=METRICS, k="max_bin_count")


def clustered(count: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, count)
    points = rng.normal(size=(count, 4)) + 1.5 * labels[:, None]
    return torch.from_numpy(points.astype(np.float32)), torch.from_numpy(labels)


def split_of(points: torch.Tensor, labels: torch.Tensor, classes: int) -> ImageSet:
    """Points as 4-channel 1x1 "images", so that flattening them is the encoder."""
    return ImageSet(points[:, :, None, None], labels, class_names=[f"c{i}" for i in range(classes)])


def knn_of(splits: dict[str, ImageSet], query: str, gallery: str, tmp_path: Path) -> dict[str, float]:
    dataset = Dataset("points", {name: (lambda s=s: s) for name, s in splits.items()})
    context = make_context(dataset, nn.Flatten(), torch.device("cpu"), tmp_path, 0, 64)
    return KNNEvaluator(query=query, gallery=gallery, k=[1]).evaluate(context)


def test_query_equals_gallery_agrees_with_accuracy_calculator(tmp_path):
    points, labels = clustered(240, 6, seed=1)
    ours = knn_of({"test": split_of(points, labels, 6)}, "test", "query", tmp_path)
    theirs = accuracy_calculator().get_accuracy(points, labels, points, labels, ref_includes_query=True)
    assert ours["precision_at_1"] == pytest.approx(theirs["precision_at_1"])
    assert ours["map_at_r"] == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-6)
    assert 0.3 < ours["precision_at_1"] < 1.0


def test_separate_query_and_gallery_sets_agree_with_accuracy_calculator(tmp_path):
    query, query_labels = clustered(90, 5, seed=2)
    gallery, gallery_labels = clustered(300, 5, seed=3)
    splits = {"query": split_of(query, query_labels, 5), "gallery": split_of(gallery, gallery_labels, 5)}
    ours = knn_of(splits, "query", "gallery", tmp_path)
    theirs = accuracy_calculator().get_accuracy(query, query_labels, gallery, gallery_labels, ref_includes_query=False)
    assert ours["precision_at_1"] == pytest.approx(theirs["precision_at_1"])
    assert ours["map_at_r"] == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-6)
    assert 0.3 < ours["precision_at_1"] < 1.0  # a case where the two could disagree
