"""A seeded split that keeps every class's share: scikit-learn's ``train_test_split(..., stratify=labels)``, draw
for draw, without importing scikit-learn (seconds of start-up for a few lines of arithmetic)."""

from __future__ import annotations

import math

import numpy as np


def stratified_split(labels: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` into ``labels``, ``test`` holding ``ceil(test_size * n)`` of them spread over the
    classes by their shares, both in the order ``train_test_split(np.arange(n), test_size=test_size,
    stratify=labels, random_state=seed)`` returns them, so splits drawn with scikit-learn stay the same."""
    n_test = math.ceil(test_size * len(labels))
    n_train = len(labels) - n_test
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(f"the least populated classes have a single member: {classes[counts < 2].tolist()}")
    if min(n_train, n_test) < len(classes):
        raise ValueError(f"a split of {n_train} / {n_test} items cannot hold each of the {len(classes)} classes")
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    train_counts = _approximate_mode(counts, n_train, rng)
    test_counts = _approximate_mode(counts - train_counts, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for index, count in enumerate(counts):
        shuffled = members[index].take(rng.permutation(count), mode="clip")
        train.extend(shuffled[:train_counts[index]])
        test.extend(shuffled[train_counts[index]:train_counts[index] + test_counts[index]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``draws`` each class gets: its share rounded down, the rest to the largest remainders (ties drawn)."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    missing = int(draws - floored.sum())
    if missing > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), missing)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            missing -= now
            if missing == 0:
                break
    return floored.astype(int)
