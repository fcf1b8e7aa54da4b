"""Streaming mode: DataLoader workers decode each planned batch's files; nothing is kept in memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import pairs_recipe, write_faces
from toolkit.api import ImageFiles, ImageReader, ImageSet, ToolkitError, load_images
from toolkit.imagedata.holdout import hold_out_validation
from toolkit.imagedata.streaming import PlannedSampler, StreamedImages
from toolkit_plugins.datasets.image_folder import image_folder
from toolkit_plugins.samplers import PairSampler

READER = ImageReader(channels=1, size=(20, 16))


@pytest.fixture
def files(tmp_path) -> ImageFiles:
    """Twelve grey 28x24 images of three people."""
    write_faces(tmp_path / "people", 3, 4)
    paths = sorted((tmp_path / "people").rglob("*.pgm"))
    return ImageFiles(paths, [int(p.parent.name[1:]) - 1 for p in paths])


def test_streamed_images_gather_the_same_pixels_as_images_in_memory(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=0)
    in_memory = load_images(files, READER, name="people", load="memory")
    assert isinstance(streamed.images, StreamedImages) and streamed.images.shape == (12, 1, 20, 16)
    index = torch.tensor([5, 0, 11, 5])
    assert torch.equal(streamed.images[index], in_memory.images[index])
    assert torch.equal(streamed.images[3], in_memory.images[3]) and streamed.images[np.int64(3)].shape == (1, 20, 16)
    assert torch.equal(streamed.images[4:8][torch.tensor([1])], in_memory.images[5:6])


def test_a_planned_epoch_is_decoded_by_workers_batch_by_batch(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=2)
    in_memory = load_images(files, READER, name="people", load="memory")
    images = ImageSet(streamed.images, streamed.labels)
    sampler = PlannedSampler(PairSampler(batch_size=4), streamed.images)
    batches = sampler.epoch(streamed.labels, torch.Generator().manual_seed(0))
    for batch in batches:
        for member in range(2):  # the runner asks for each member of a pair batch in turn
            got = images.batch(batch.indices[:, member])
            assert torch.equal(got, ImageSet(in_memory.images, in_memory.labels).batch(batch.indices[:, member]))


def test_sequential_reads_are_planned_ahead_as_evaluation_reads(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=1).images
    in_memory = load_images(files, READER, name="people", load="memory").images
    for start in range(0, 12, 5):
        index = torch.arange(start, min(start + 5, 12))
        assert torch.equal(streamed[index], in_memory[index])
    assert streamed._current is not None and streamed._current[0].tolist() == [10, 11]


def test_a_file_that_fails_to_decode_in_a_worker_is_named_without_a_traceback(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=1).images
    files.paths[7].write_bytes(files.paths[7].read_bytes()[:30])  # truncated after the header check
    streamed.plan([torch.arange(12)])
    with pytest.raises(ToolkitError, match=r"Cannot read the image '.*s2/4.pgm'") as error:
        streamed[torch.arange(12)]
    assert "Traceback" not in str(error.value)


def test_streaming_checks_every_header_up_front_and_skips_bad_files(files):
    files.paths[2].write_text("not an image", encoding="utf-8")
    with pytest.raises(ToolkitError, match="s1/3.pgm"):
        load_images(files, READER, name="people", load="stream")
    loaded = load_images(files, READER, name="people", load="stream", on_bad_image="skip")
    assert len(loaded.images) == 11 and len(loaded.skipped) == 1


def test_image_folder_streams_its_splits(tmp_path):
    write_faces(tmp_path / "people", 6, 3)
    dataset = image_folder(folder=str(tmp_path / "people"), train_classes=4, load="stream", workers=0)
    train = dataset.split("train")
    assert isinstance(train.images, StreamedImages) and train.shape == (1, 24, 28) and len(train) == 12
    assert train.batch(torch.tensor([0, 11])).shape == (2, 1, 24, 28)


@pytest.mark.slow
@pytest.mark.parametrize("load", ["stream", "cache"])
def test_two_processes_reading_their_shares_match_one_process(load, tmp_path):
    from tests.test_distributed import TOLERANCE, first_epoch_loss, torchrun
    from toolkit.training.runner import run

    write_faces(tmp_path / "people", 8, 6)
    recipe = tmp_path / "folder.toml"
    folder = tmp_path / "people"
    recipe.write_text(pairs_recipe(f'name = "image_folder"\nfolder = "{folder}"\ntrain_classes = 6\nsize = [12, 12]\n'
                                   f'load = "{load}"\nworkers = 1', in_features=144))
    work = tmp_path / "work"
    work.mkdir()
    result = torchrun(recipe, work / "two", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    one = run(recipe, output=str(tmp_path / "one"), progress=False).run_dir
    assert first_epoch_loss(work / "two") == pytest.approx(first_epoch_loss(one), rel=TOLERANCE)


@pytest.mark.slow
def test_a_validation_split_held_out_of_streamed_images_stays_streamed(tmp_path):
    write_faces(tmp_path / "people", 6, 6)
    dataset = image_folder(folder=str(tmp_path / "people"), train_classes=4, load="stream", workers=0)
    hold_out_validation(dataset, 0.34, "recipe.toml")
    train, validation = dataset.split("train"), dataset.split("validation")
    assert isinstance(validation.images, StreamedImages) and isinstance(train.images, StreamedImages)
    assert len(validation) == 9 and len(train) == 15
    held = dataset.holdout["train_indices"]
    whole = image_folder(folder=str(tmp_path / "people"), train_classes=4, load="memory").split("train")
    assert torch.equal(validation.images[torch.arange(9)], whole.images[torch.tensor(held)])
