"""Each loss against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from toolkit.api import EmbeddedBatch
from toolkit_plugins.losses.contrastive import ContrastiveLoss
from toolkit_plugins.losses.triplet import TripletLoss


def _pairs(a, b, same):
    embeddings = torch.stack([torch.tensor(a, dtype=torch.float), torch.tensor(b, dtype=torch.float)], dim=1)
    return EmbeddedBatch("pairs", embeddings, torch.zeros(len(a), 2, dtype=torch.long), torch.tensor(same))


def test_contrastive_loss_matches_hand_computation():
    # pair 1: same, D = 5 → 25; pair 2: different, D = 1, margin 2 → (2 − 1)² = 1; pair 3: different, D = 5 → 0
    batch = _pairs([[0, 0], [0, 0], [0, 0]], [[3, 4], [1, 0], [0, 5]], [True, False, False])
    value = ContrastiveLoss(margin=2.0)(batch)
    assert value.item() == pytest.approx((25 + 1 + 0) / 3, rel=1e-4)


def test_contrastive_scale_halves_both_terms():
    batch = _pairs([[0, 0], [0, 0]], [[3, 4], [1, 0]], [True, False])
    assert ContrastiveLoss(margin=2.0, scale=0.5)(batch).item() == pytest.approx(0.5 * (25 + 1) / 2, rel=1e-4)


def test_both_label_conventions_give_the_same_loss():
    batch = _pairs([[0.0, 1.0], [2.0, 0.0]], [[1.0, 1.0], [0.0, 0.5]], [True, False])
    assert ContrastiveLoss(margin=2.0, same_label=0)(batch).item() == pytest.approx(ContrastiveLoss(margin=2.0, same_label=1)(batch).item())


def test_triplet_loss_on_squared_distances_matches_hand_computation():
    # d(a,p) = 1, d(a,n) = 4 (squared) → max(1 − 4 + 1, 0) = 0;  d(a,p) = 4, d(a,n) = 1 → 4 − 1 + 1 = 4
    embeddings = torch.tensor([[[0.0], [1.0], [2.0]], [[0.0], [2.0], [1.0]]])
    batch = EmbeddedBatch("triplets", embeddings, torch.zeros(2, 3, dtype=torch.long))
    assert TripletLoss(margin=1.0)(batch).item() == pytest.approx(2.0)


def test_triplet_loss_on_euclidean_distances():
    embeddings = torch.tensor([[[0.0], [2.0], [1.0]]])
    batch = EmbeddedBatch("triplets", embeddings, torch.zeros(1, 3, dtype=torch.long))
    assert TripletLoss(margin=0.5, distance="euclidean")(batch).item() == pytest.approx(2 - 1 + 0.5, rel=1e-5)


def test_contrastive_gradient_is_finite_for_identical_embeddings():
    a = torch.zeros(1, 2, requires_grad=True)
    batch = EmbeddedBatch("pairs", torch.stack([a, a.detach()], dim=1), torch.zeros(1, 2, dtype=torch.long), torch.tensor([True]))
    ContrastiveLoss()(batch).backward()
    assert all(math.isfinite(g) for g in a.grad.flatten().tolist())
