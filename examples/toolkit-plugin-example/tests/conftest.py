"""Fixtures of the example plugin's tests: small CSV files in the Kaggle Fashion-MNIST format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_pixel_csv(path: Path, labels: np.ndarray, pixels: np.ndarray, header: str | None = None) -> Path:
    """Write rows ``label,pixel1,...`` under a header line, as the Kaggle files are."""
    header = header or ",".join(["label", *(f"pixel{i}" for i in range(1, pixels.shape[1] + 1))])
    table = np.column_stack([labels, pixels])
    np.savetxt(path, table, fmt="%d", delimiter=",", header=header, comments="")
    return path


@pytest.fixture
def csv_pair(tmp_path):
    """train.csv (60 rows) and test.csv (30 rows) of 28x28 images; class c has pixels around 25·c."""
    rng = np.random.default_rng(0)
    for name, n in (("train.csv", 60), ("test.csv", 30)):
        labels = np.arange(n) % 3
        pixels = np.clip(labels[:, None] * 25 + rng.integers(0, 10, (n, 784)), 0, 255)
        write_pixel_csv(tmp_path / name, labels, pixels)
    return tmp_path
