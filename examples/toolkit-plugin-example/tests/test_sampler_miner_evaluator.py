"""The class_pairs sampler, the hard_pairs miner, the mined_cosine loss, the centroid evaluator and salt_and_pepper."""

from __future__ import annotations

import pytest
import torch

from toolkit.api import EmbeddedBatch, EvalContext, Miner, Sampler
from toolkit_plugin_example.augment import SaltAndPepper
from toolkit_plugin_example.evaluator import CentroidEvaluator
from toolkit_plugin_example.mined_loss import MinedCosineLoss
from toolkit_plugin_example.miner import HardPairsMiner
from toolkit_plugin_example.sampler import ClassPairsSampler


def test_every_batch_holds_its_classes_the_same_number_of_times():
    sampler = ClassPairsSampler(classes_per_batch=2, images_per_class=3)
    labels = torch.arange(30) % 5
    batches = sampler.epoch(labels, torch.Generator().manual_seed(0))
    assert isinstance(sampler, Sampler) and len(batches) == 5
    for batch in batches:
        counts = torch.bincount(batch.labels.flatten(), minlength=5)
        assert sorted(counts[counts > 0].tolist()) == [3, 3]
        assert torch.equal(labels[batch.indices], batch.labels)


def test_the_miner_returns_hard_pairs_as_the_miner_contract_says():
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [1.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 2])
    miner = HardPairsMiner(positive_below=0.5, negative_above=0.5)
    anchor, positive, anchor_negative, negative = miner(embeddings, labels)
    assert isinstance(miner, Miner)
    assert (anchor.tolist(), positive.tolist()) == ([0], [1])  # orthogonal same-class pair
    assert sorted(zip(anchor_negative.tolist(), negative.tolist())) == [(0, 2), (0, 3), (2, 3)]


def test_the_loss_uses_only_the_pairs_the_miner_picks():
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    batch = EmbeddedBatch("labels", embeddings.unsqueeze(1), torch.tensor([[0], [0], [1]]))
    everything = MinedCosineLoss(margin=0.0)(batch)
    mined = MinedCosineLoss(margin=0.0, miner=lambda e, l: (torch.tensor([0]), torch.tensor([1]),
                                                            torch.tensor([], dtype=torch.long),
                                                            torch.tensor([], dtype=torch.long)))(batch)
    assert everything.item() == pytest.approx(1.0 + 0.5)  # positives: 1 - 0; negatives (0,2)=1, (1,2)=0
    assert mined.item() == pytest.approx(1.0)


def test_the_evaluator_reports_accuracy_and_announces_its_per_class_file(tmp_path):
    vectors = {"train": (torch.tensor([[0.0], [0.2], [5.0], [5.2]]), torch.tensor([0, 0, 1, 1])),
               "test": (torch.tensor([[0.1], [4.0], [1.0]]), torch.tensor([0, 1, 1]))}
    context = EvalContext(None, None, vectors.__getitem__, tmp_path, 0, torch.device("cpu"))
    assert CentroidEvaluator().evaluate(context) == {"accuracy": pytest.approx(2 / 3)}
    assert context.artifacts == {"per_class": "centroid_accuracy.json"}


def test_salt_and_pepper_changes_about_its_share_of_pixels_to_black_or_white():
    image = torch.full((1, 100, 100), 128, dtype=torch.uint8)
    torch.manual_seed(0)
    noisy = SaltAndPepper(amount=0.1)(image)
    changed = noisy != 128
    assert noisy.dtype == torch.uint8 and noisy.shape == image.shape
    assert 800 < int(changed.sum()) < 1200 and set(noisy[changed].tolist()) == {0, 255}
