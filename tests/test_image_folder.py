"""The image_folder dataset: one sub-folder per class, read once into memory, split three ways."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import write_faces
from toolkit.api import ToolkitError
from toolkit_plugins.datasets.image_folder import image_folder


def test_training_and_testing_folders_become_the_two_splits_resized(tiny_faces):
    dataset = image_folder(folder=str(tiny_faces), train_dir="training", test_dir="testing", size=[50, 40])
    train, test = dataset.split("train"), dataset.split("test")
    assert train.images.shape == (20, 1, 50, 40) and train.images.dtype == torch.uint8
    assert test.images.shape == (12, 1, 50, 40)
    assert train.class_names == ["s1", "s2", "s3", "s4", "s5"] and test.class_names == ["s1", "s2", "s3"]
    assert train.labels.tolist() == [c for c in range(5) for _ in range(4)]


def test_a_relative_folder_is_read_from_the_data_root(tiny_faces, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DATA", str(tiny_faces.parent))
    dataset = image_folder(folder=tiny_faces.name, train_dir="training", test_dir="testing")
    assert dataset.split("test").images.shape == (12, 1, 112, 92)


def test_split_by_identity_holds_out_whole_classes(tmp_path):
    write_faces(tmp_path / "people", 10, 3)
    dataset = image_folder(folder=str(tmp_path / "people"), test_fraction=0.3, seed=1)
    train, test = dataset.split("train"), dataset.split("test")
    assert len(test.class_names) == 3 and len(train.class_names) == 7
    assert not set(train.class_names) & set(test.class_names)
    assert len(train) == 21 and len(test) == 9 and test.labels.max() == 2


def test_split_by_image_holds_out_a_share_of_every_class(tmp_path):
    write_faces(tmp_path / "people", 4, 10)
    dataset = image_folder(folder=str(tmp_path / "people"), split_by="image", test_fraction=0.2)
    train, test = dataset.split("train"), dataset.split("test")
    assert torch.bincount(test.labels).tolist() == [2, 2, 2, 2] and torch.bincount(train.labels).tolist() == [8] * 4
    assert train.class_names == test.class_names


def test_images_of_different_sizes_without_a_size_are_refused(tmp_path):
    write_faces(tmp_path / "mixed" / "a", 2, 2, size=(20, 20))
    write_faces(tmp_path / "mixed" / "b", 2, 2, size=(24, 20))
    dataset = image_folder(folder=str(tmp_path / "mixed"), test_dir="b", train_dir="a")
    with pytest.raises(ToolkitError, match="dataset.size"):
        dataset.split("test")
