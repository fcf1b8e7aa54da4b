"""Each loss against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from toolkit.api import EmbeddedBatch
from toolkit_plugins.losses.center import SoftmaxCenterLoss
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


def _softmax_center(features, labels, head, centers, **kwargs):
    loss = SoftmaxCenterLoss(classes=2, feature_dim=2, **kwargs)
    with torch.no_grad():
        loss.head.weight.copy_(torch.tensor(head))
        loss.centers.copy_(torch.tensor(centers))
    batch = EmbeddedBatch("labels", torch.tensor(features).unsqueeze(1), torch.tensor(labels).unsqueeze(1))
    return loss, batch


def test_softmax_center_loss_matches_hand_computation():
    # head W = identity, so the logits are the features themselves.
    # x1 = (ln 3, 0), y = 0: p(0) = 3/4 → NLL ln(4/3); x2 = (0, 0), y = 1: p(1) = 1/2 → NLL ln 2.
    # centers c0 = (ln 3, 1), c1 = (0, 2): ½‖x1 − c0‖² = ½, ½‖x2 − c1‖² = 2; mean over B = 2 → 1.25.
    loss, batch = _softmax_center([[math.log(3), 0.0], [0.0, 0.0]], [0, 1], [[1.0, 0.0], [0.0, 1.0]],
                                  [[math.log(3), 1.0], [0.0, 2.0]], center_weight=0.5)
    expected = (math.log(4 / 3) + math.log(2)) / 2 + 0.5 * 1.25
    assert loss(batch).item() == pytest.approx(expected, rel=1e-5)


def test_wen_update_moves_each_center_by_its_members_mean_offset_over_one_plus_their_count():
    # class 0 has two members at (2, 0) and (4, 0), center (0, 0): Σ(c − x) = (−6, 0), / (1 + 2) / B = 3 → (−2/3, 0).
    loss, batch = _softmax_center([[2.0, 0.0], [4.0, 0.0], [0.0, 1.0]], [0, 0, 1], [[1.0, 0.0], [0.0, 1.0]],
                                  [[0.0, 0.0], [0.0, 0.0]], center_weight=1.0)
    loss(batch).backward()
    assert loss.centers.grad[0].tolist() == pytest.approx([-2 / 3, 0.0])
    assert loss.centers.grad[1].tolist() == pytest.approx([0.0, -1 / 6])


def test_autograd_center_update_is_the_plain_derivative():
    loss, batch = _softmax_center([[2.0, 0.0], [4.0, 0.0], [0.0, 1.0]], [0, 0, 1], [[1.0, 0.0], [0.0, 1.0]],
                                  [[0.0, 0.0], [0.0, 0.0]], center_update="autograd")
    loss(batch).backward()
    assert loss.centers.grad[0].tolist() == pytest.approx([-6 / 3, 0.0])


def test_softmax_center_trains_its_head_with_the_encoder_and_its_centers_apart():
    loss = SoftmaxCenterLoss(classes=3, feature_dim=2)
    assert [id(p) for p in loss.model_parameters()] == [id(loss.head.weight)]
    assert {id(p) for p in loss.parameters()} - {id(p) for p in loss.model_parameters()} == {id(loss.centers)}
