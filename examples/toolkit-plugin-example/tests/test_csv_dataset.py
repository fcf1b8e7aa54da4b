"""The pixel_csv dataset reads the Kaggle CSV format into uint8 images, and explains bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import write_pixel_csv

from toolkit.api import ToolkitError
from toolkit_plugin_example.csv_dataset import pixel_csv


def test_rows_become_28x28_uint8_images_with_their_labels(csv_pair):
    dataset = pixel_csv(train="train.csv", test="test.csv", data_dir=str(csv_pair))
    train = dataset.split("train")
    assert train.images.shape == (60, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels.tolist() == [i % 3 for i in range(60)]
    assert len(dataset.split("test")) == 30


def test_pixels_keep_their_row_major_order(tmp_path):
    pixels = np.arange(12).reshape(1, 12)
    write_pixel_csv(tmp_path / "a.csv", np.array([4]), pixels)
    images = pixel_csv(train="a.csv", test="a.csv", data_dir=str(tmp_path), height=3, width=4).split("train").images
    assert images[0, 0].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_a_missing_file_names_the_path_and_the_key(tmp_path):
    with pytest.raises(ToolkitError, match=r"train CSV file .*nope.csv.* dataset.train"):
        pixel_csv(train="nope.csv", test="nope.csv", data_dir=str(tmp_path))


def test_a_size_that_does_not_match_the_columns_is_refused(csv_pair):
    dataset = pixel_csv(train="train.csv", test="test.csv", data_dir=str(csv_pair), height=8, width=8)
    with pytest.raises(ToolkitError, match="784 pixel columns.*8 x 8 = 64"):
        dataset.split("train")


def test_a_header_without_the_label_column_is_refused(tmp_path):
    write_pixel_csv(tmp_path / "a.csv", np.array([1]), np.zeros((1, 4)), header="class,p1,p2,p3,p4")
    with pytest.raises(ToolkitError, match="no 'label' column.*label_column"):
        pixel_csv(train="a.csv", test="a.csv", data_dir=str(tmp_path), height=2, width=2).split("train")


def test_another_label_column_name_can_be_given(tmp_path):
    write_pixel_csv(tmp_path / "a.csv", np.array([1]), np.zeros((1, 4)), header="class,p1,p2,p3,p4")
    split = pixel_csv(train="a.csv", test="a.csv", data_dir=str(tmp_path), height=2, width=2,
                      label_column="class").split("train")
    assert split.labels.tolist() == [1]


def test_a_pixel_outside_0_255_names_its_line(tmp_path):
    pixels = np.zeros((3, 4), dtype=int)
    pixels[1, 2] = 300
    write_pixel_csv(tmp_path / "a.csv", np.array([0, 1, 0]), pixels)
    with pytest.raises(ToolkitError, match="row 3 has a pixel outside 0-255"):
        pixel_csv(train="a.csv", test="a.csv", data_dir=str(tmp_path), height=2, width=2).split("train")
