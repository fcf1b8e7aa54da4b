"""The same/different threshold: drawn pairs, the best cut, and the threshold every run stores."""

from __future__ import annotations

import json

import torch

from toolkit.evaluation.calibration import best_threshold, calibrate, draw_pairs, held_out_split


def test_drawn_pairs_are_labelled_right_and_never_pair_an_image_with_itself():
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] + [3] * 10)
    first, second, same = draw_pairs(labels, 5000, torch.Generator().manual_seed(0))
    assert (first != second).all()
    assert torch.equal(labels[first] == labels[second], same)
    assert 0.4 < same.float().mean() < 0.6
    assert not (labels[first][same] == 2).any()  # a class of one image has no positive pair


def test_the_threshold_is_the_cut_with_the_fewest_mistakes():
    distances = torch.tensor([0.1, 0.2, 0.3, 0.9, 1.0, 1.1])
    same = torch.tensor([True, True, False, False, False, True])
    threshold, accuracy = best_threshold(distances, same)
    assert 0.2 < threshold < 0.3 and accuracy == 5 / 6


def test_well_separated_classes_give_a_threshold_that_is_right_on_held_out_pairs():
    labels = torch.arange(400) % 4
    embeddings = torch.randn(400, 3, generator=torch.Generator().manual_seed(0)) * 0.1 + labels[:, None] * 2.0
    result = calibrate(embeddings, labels, seed=0)
    assert result["accuracy"] == 1.0 and result["held_out_accuracy"] == 1.0
    assert max(result["positive_distances"]) < result["threshold"] < min(result["negative_distances"])


def test_calibration_uses_a_validation_split_when_there_is_one():
    assert held_out_split(["train", "validation", "test"]) == "validation"
    assert held_out_split(["train", "test"]) == "test"


def test_every_run_stores_its_threshold_and_the_pair_distance_histograms(trained_run):
    stored = json.loads((trained_run / "threshold.json").read_text())
    assert stored["split"] == "test" and stored["distance"] == "euclidean"
    assert stored["threshold"] > 0 and stored["held_out_accuracy"] > 0.7  # one epoch already separates digits well
    assert (trained_run / "pair_distances.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
