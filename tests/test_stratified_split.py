"""The stratified split drawn without scikit-learn: the same indices, in the same order, as its train_test_split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from toolkit.imagedata.stratified import stratified_split


@pytest.mark.parametrize("classes, items, share, seed", [(10, 1797, 0.25, 0), (3, 40, 0.2, 7), (5, 101, 0.37, 3),
                                                          (2, 9, 0.5, 11), (7, 300, 0.1, 42)])
def test_the_split_is_scikit_learns_draw_for_draw(classes, items, share, seed):
    labels = np.random.RandomState(seed).randint(0, classes, size=items)
    expected_train, expected_test = train_test_split(np.arange(items), test_size=share, stratify=labels,
                                                     random_state=seed)
    train, test = stratified_split(labels, share, seed)
    assert train.tolist() == expected_train.tolist() and test.tolist() == expected_test.tolist()


def test_a_class_with_a_single_item_is_refused():
    with pytest.raises(ValueError, match=r"single member: \[2\]"):
        stratified_split(np.array([0, 0, 1, 1, 2]), 0.4, 0)


def test_the_digits_are_scikit_learns_images_labels_and_split():
    import torch
    from sklearn.datasets import load_digits

    from toolkit_plugins.datasets.digits import digits

    bunch = load_digits()
    _, test = train_test_split(np.arange(len(bunch.target)), test_size=0.25, stratify=bunch.target, random_state=0)
    split = digits().split("test")
    expected = torch.from_numpy(bunch.images[test] * (255.0 / 16.0)).round().to(torch.uint8).unsqueeze(1)
    assert torch.equal(split.images, expected) and split.labels.tolist() == bunch.target[test].tolist()
