"""Built-in losses and their PML counterparts give the same value where they are defined the same way.

The triplet losses agree exactly. The contrastive losses agree on same-class pairs (both ``D²``); on
different-class pairs PML hinges the distance itself, ``max(m − D, 0)``, where the articles (and the
built-in loss) square the hinge, ``max(m − D, 0)²``, so those terms are different by design.
"""

from __future__ import annotations

import pytest
import torch

from toolkit.api import EmbeddedBatch
from toolkit.components.registry import default_registry
from toolkit_plugins.losses.contrastive import ContrastiveLoss
from toolkit_plugins.losses.triplet import TripletLoss


def _pml(name: str, **params):
    return default_registry().get("losses", name).factory(**params)


def _batch(kind: str, members: int, size: int = 64, seed: int = 0) -> EmbeddedBatch:
    g = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(size, members, 6, generator=g)
    labels = torch.randint(0, 5, (size, members), generator=g)
    if kind == "triplets":
        labels[:, 1] = labels[:, 0]
        labels[:, 2] = (labels[:, 0] + 1) % 5
    same = labels[:, 0] == labels[:, 1] if kind == "pairs" else None
    return EmbeddedBatch(kind, embeddings, labels, same)


@pytest.mark.parametrize("distance, power", [("squared_euclidean", 2), ("euclidean", 1)])
def test_triplet_loss_equals_pml_triplet_margin_loss(distance, power):
    batch = _batch("triplets", 3)
    ours = TripletLoss(margin=0.7, distance=distance)(batch)
    theirs = _pml("pml.TripletMarginLoss", margin=0.7, batch="triplets", reducer="MeanReducer",
                  distance={"name": "LpDistance", "normalize_embeddings": False, "power": power})(batch)
    assert torch.allclose(ours, theirs, atol=1e-5), (ours, theirs)


def test_contrastive_loss_equals_pml_contrastive_loss_on_same_class_pairs():
    batch = _batch("pairs", 2)
    batch.labels[:, 1] = batch.labels[:, 0]
    batch.same = torch.ones(len(batch.labels), dtype=torch.bool)
    ours = ContrastiveLoss(margin=1.5)(batch)
    theirs = _pml("pml.ContrastiveLoss", pos_margin=0.0, neg_margin=1.5, batch="pairs", reducer="MeanReducer",
                  distance={"name": "LpDistance", "normalize_embeddings": False, "power": 2})(batch)
    assert torch.allclose(ours, theirs, atol=1e-5), (ours, theirs)


def test_pml_on_pair_batches_uses_exactly_the_sampled_pairs():
    batch = _batch("pairs", 2)
    ours = ContrastiveLoss(margin=3.0)(batch)
    theirs = _pml("pml.ContrastiveLoss", pos_margin=0.0, neg_margin=3.0, batch="pairs", reducer="SumReducer",
                  distance={"name": "LpDistance", "normalize_embeddings": False, "power": 2})(batch)
    distance = (batch.embeddings[:, 0] - batch.embeddings[:, 1]).norm(dim=1)
    negatives = ~batch.same
    # PML: Σ_same D² + Σ_diff max(m − D², 0); the built-in mean has Σ_same D² + Σ_diff max(m − D, 0)², over B.
    expected_pml = distance[batch.same].pow(2).sum() + torch.relu(3.0 - distance[negatives].pow(2)).sum()
    expected_ours = (distance[batch.same].pow(2).sum() + torch.relu(3.0 - distance[negatives]).pow(2).sum()) / len(distance)
    assert torch.allclose(theirs, expected_pml, atol=1e-4) and torch.allclose(ours, expected_ours, atol=1e-5)
