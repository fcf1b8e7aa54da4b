"""The stored image transform: image files become exactly the tensors the encoder saw in training."""

from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

from tests.conftest import copy_run, write_split_images
from toolkit.cli.main import main
from toolkit.imagedata.datasets import ImageSet
from toolkit.imagedata.transform import ImageTransform


def test_files_saved_from_a_normalised_split_come_back_as_the_same_encoder_input(tmp_path):
    pixels = torch.randint(0, 256, (3, 1, 12, 10), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    training = ImageSet(pixels, torch.tensor([0, 1, 2]), mean=0.1307, std=0.3081)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(pixels[i, 0].numpy(), "L").save(paths[-1])
    transform = ImageTransform.from_dict(json.loads(json.dumps(ImageTransform.of(training).as_dict())), tmp_path)
    read, conversions = transform.read(paths)
    assert conversions == [[], [], []]
    index = torch.arange(3)
    assert torch.equal(transform.image_set(read).batch(index), training.batch(index))


def test_a_run_folder_without_a_stored_transform_takes_it_from_its_dataset(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    (run / "transform.json").unlink()
    [image] = write_split_images(trained_run, "test", [0], tmp_path / "images")
    result = CliRunner().invoke(main, ["embed", str(run), "--images", str(image), "-o", str(tmp_path / "v.npy"), "-q"])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "v.npy").shape == (1, 8) and "converted" not in result.output
