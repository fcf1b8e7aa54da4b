"""Reading MNIST's IDX files, and refusing damaged ones."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tests.conftest import write_idx
from toolkit.api import ToolkitError
from toolkit_plugins.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, read_images


def test_reads_images_plain_and_gzipped(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    plain = write_idx(tmp_path / "images", images)
    zipped = tmp_path / "images.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_images(plain).shape == (2, 1, 3, 4)
    assert np.array_equal(read_idx(zipped, IMAGES_MAGIC), images)


def test_wrong_magic_number_is_refused(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5))
    with pytest.raises(ToolkitError, match="magic number"):
        read_idx(path, IMAGES_MAGIC)


def test_truncated_file_is_refused(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(50))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ToolkitError, match="truncated"):
        read_idx(path, LABELS_MAGIC)


def test_mnist_dataset_reads_a_data_root(tiny_mnist):
    from toolkit_plugins.datasets.mnist import mnist

    train = mnist(data_dir=str(tiny_mnist)).split("train")
    assert train.images.shape == (200, 1, 28, 28) and train.labels[:3].tolist() == [0, 1, 2]
