"""Pairs and triplets: balanced, correctly labelled, reproducible."""

from __future__ import annotations

import torch

from toolkit_plugins.samplers.pairs import BatchSampler, PairSampler, TripletSampler

LABELS = torch.arange(3000) % 7


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_pairs_are_half_positive_by_default():
    batches = PairSampler(batch_size=100).epoch(LABELS, _generator())
    same = torch.cat([b.same for b in batches])
    assert len(same) == len(LABELS)
    assert abs(same.float().mean().item() - 0.5) < 0.03


def test_pair_flags_match_the_labels_and_no_image_is_paired_with_itself():
    for batch in PairSampler(batch_size=128, positive_fraction=0.3).epoch(LABELS, _generator()):
        assert torch.equal(batch.same, batch.labels[:, 0] == batch.labels[:, 1])
        assert torch.equal(batch.labels, LABELS[batch.indices])
        assert (batch.indices[:, 0] != batch.indices[:, 1]).all()


def test_every_image_is_a_first_member_once_per_epoch():
    batches = PairSampler(batch_size=64).epoch(LABELS, _generator())
    firsts = torch.cat([b.indices[:, 0] for b in batches])
    assert torch.equal(firsts.sort().values, torch.arange(len(LABELS)))


def test_negatives_spread_over_all_other_classes():
    batches = PairSampler(batch_size=3000, positive_fraction=0.0).epoch(LABELS, _generator())
    partner_classes = batches[0].labels[:, 1][batches[0].labels[:, 0] == 0]
    assert set(partner_classes.tolist()) == set(range(1, 7))


def test_triplets_have_a_positive_and_a_negative():
    for batch in TripletSampler(batch_size=256).epoch(LABELS, _generator()):
        anchor, positive, negative = batch.labels.unbind(1)
        assert (anchor == positive).all() and (anchor != negative).all()
        assert (batch.indices[:, 0] != batch.indices[:, 1]).all()


def test_same_seed_gives_the_same_epoch():
    a = PairSampler(batch_size=50).epoch(LABELS, _generator(3))
    b = PairSampler(batch_size=50).epoch(LABELS, _generator(3))
    assert all(torch.equal(x.indices, y.indices) for x, y in zip(a, b))


def test_plain_batches_cover_the_split_once():
    batches = BatchSampler(batch_size=128).epoch(LABELS, _generator())
    assert torch.equal(torch.cat([b.indices[:, 0] for b in batches]).sort().values, torch.arange(len(LABELS)))
