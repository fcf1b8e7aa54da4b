"""The conv_pool encoder and the cosine_contrastive loss."""

from __future__ import annotations

import pytest
import torch

from toolkit.api import EmbeddedBatch
from toolkit_plugin_example.encoder import ConvEncoder
from toolkit_plugin_example.loss import CosineContrastiveLoss


@pytest.mark.parametrize("size", [8, 28, 31])
def test_the_encoder_embeds_images_of_any_size(size):
    encoder = ConvEncoder(channels=[4, 8], embedding_dim=5)
    assert encoder(torch.rand(3, 1, size, size)).shape == (3, 5)


def test_normalized_embeddings_have_unit_length():
    embeddings = ConvEncoder(normalize=True).eval()(torch.rand(4, 1, 28, 28))
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(4), atol=1e-5)


def _pairs(first, second, same):
    embeddings = torch.stack([torch.tensor(first, dtype=torch.float), torch.tensor(second, dtype=torch.float)], dim=1)
    return EmbeddedBatch("pairs", embeddings, torch.zeros(len(same), 2, dtype=torch.long), torch.tensor(same))


def test_the_loss_is_one_minus_cosine_for_same_pairs():
    batch = _pairs([[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], [True, True])
    assert CosineContrastiveLoss()(batch).item() == pytest.approx((0.0 + 1.0) / 2)


def test_different_pairs_cost_only_above_the_margin():
    batch = _pairs([[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], [False, False])
    assert CosineContrastiveLoss(margin=0.5)(batch).item() == pytest.approx((0.0 + 0.5) / 2)


def test_a_margin_outside_the_cosine_range_is_refused():
    with pytest.raises(ValueError, match="margin"):
        CosineContrastiveLoss(margin=1.5)
