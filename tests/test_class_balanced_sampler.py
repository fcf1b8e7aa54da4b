"""The class-balanced sampler: n classes and m images of each per batch, every image used evenly."""

from __future__ import annotations

import pytest
import torch

from toolkit.api import ToolkitError
from toolkit_plugins.samplers.class_balanced import ClassBalancedSampler

LABELS = torch.arange(2000) % 10  # 200 images of each of 10 classes


def _epoch(labels=LABELS, seed=0, **kwargs):
    return ClassBalancedSampler(**kwargs).epoch(labels, torch.Generator().manual_seed(seed))


def test_each_batch_has_n_classes_with_m_images_each():
    for batch in _epoch(classes_per_batch=5, images_per_class=6):
        classes, counts = batch.labels[:, 0].unique(return_counts=True)
        assert len(classes) == 5 and (counts == 6).all()
        assert torch.equal(batch.labels, LABELS[batch.indices])
        assert len(batch.indices.unique()) == 30  # no image twice in a batch when its class is large enough


def test_one_epoch_is_one_pass_over_the_images_and_uses_each_about_equally():
    batches = _epoch(classes_per_batch=4, images_per_class=5)
    assert len(batches) == 2000 // 20
    uses = torch.bincount(torch.cat([b.indices[:, 0] for b in batches]), minlength=2000)
    assert uses.sum() == 2000 and uses.max() - uses.min() <= 2


def test_a_small_class_repeats_images_rather_than_failing():
    labels = torch.cat([torch.zeros(3, dtype=torch.long), torch.ones(100, dtype=torch.long)])
    for batch in _epoch(labels, classes_per_batch=2, images_per_class=4, batches_per_epoch=5):
        assert (batch.labels[:, 0] == 0).sum() == 4 and set(batch.indices[batch.labels[:, 0] == 0, 0].tolist()) == {0, 1, 2}


def test_absent_class_numbers_are_never_drawn():
    labels = LABELS.clone()
    labels[labels == 3] = 4
    drawn = torch.cat([b.labels[:, 0] for b in _epoch(labels, classes_per_batch=9, images_per_class=2)])
    assert 3 not in drawn.tolist() and set(drawn.tolist()) == set(range(10)) - {3}


def test_same_seed_same_batches_other_seed_other_batches():
    a, b, c = (_epoch(seed=s, classes_per_batch=4, images_per_class=4) for s in (1, 1, 2))
    assert all(torch.equal(x.indices, y.indices) for x, y in zip(a, b))
    assert not all(torch.equal(x.indices, y.indices) for x, y in zip(a, c))


def test_more_classes_per_batch_than_exist_is_a_clear_error():
    with pytest.raises(ToolkitError, match=r"classes_per_batch = 12, but the training data has only 10 classes"):
        _epoch(classes_per_batch=12)


def test_batch_size_is_classes_times_images():
    assert ClassBalancedSampler(classes_per_batch=6, images_per_class=7).batch_size == 42
