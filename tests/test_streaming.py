"""Streaming mode: DataLoader workers decode each planned batch's files; nothing is kept in memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import pairs_recipe, write_faces
from toolkit.api import ImageFiles, ImageReader, ImageSet, ToolkitError, load_images
from toolkit.imagedata.augment import Augmentation, with_augmentation
from toolkit.imagedata.holdout import hold_out_validation
from toolkit.imagedata.streaming import PlannedSampler, StreamedImages, planned
from toolkit_plugins.datasets.image_folder import image_folder
from toolkit_plugins.samplers import BatchSampler, PairSampler

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


def test_without_workers_a_read_decodes_only_the_images_asked_for(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=0).images
    in_memory = load_images(files, READER, name="people", load="memory").images
    assert torch.equal(streamed[torch.arange(2)], in_memory[:2])
    assert streamed._plan.blocks == [] and streamed._current is None


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


def _worker_number(image: torch.Tensor) -> torch.Tensor:
    """An augmentation step that paints the image with 1 + the id of the DataLoader worker running it (0: none)."""
    worker = torch.utils.data.get_worker_info()
    return torch.full_like(image, 0 if worker is None else 1 + worker.id)


def _flips() -> Augmentation:
    from torchvision.transforms import v2

    return Augmentation([("RandomHorizontalFlip", v2.RandomHorizontalFlip())])


def _augmented_epoch(files, workers: int, epoch_seed: int) -> list[torch.Tensor]:
    streamed = load_images(files, READER, name="people", load="stream", workers=workers)
    images = with_augmentation(ImageSet(streamed.images, streamed.labels), _flips())
    sampler = planned(BatchSampler(batch_size=4), images)
    batches = sampler.epoch(streamed.labels, torch.Generator().manual_seed(epoch_seed))
    return [images.batch(batch.indices) for batch in batches]


def test_streamed_training_images_are_augmented_in_the_workers(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=2)
    images = with_augmentation(ImageSet(streamed.images, streamed.labels), Augmentation([("mark", _worker_number)]))
    sampler = planned(BatchSampler(batch_size=4), images)
    state = torch.get_rng_state()
    painted = torch.cat([images.images[b.indices] for b in sampler.epoch(streamed.labels, torch.Generator())])
    assert set(painted.unique().tolist()) <= {1, 2} and len(painted) == 12
    assert torch.equal(torch.get_rng_state(), state)  # the step's process drew nothing


def test_the_same_seed_augments_a_streamed_epoch_alike_with_any_number_of_workers(files):
    in_process, with_workers = _augmented_epoch(files, 0, epoch_seed=3), _augmented_epoch(files, 2, epoch_seed=3)
    assert all(torch.equal(a, b) for a, b in zip(in_process, with_workers))
    other_epoch = _augmented_epoch(files, 0, epoch_seed=4)
    assert not all(torch.equal(a, b) for a, b in zip(in_process, other_epoch))


def test_a_batch_asked_for_in_its_planned_order_is_handed_over_without_a_gather(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=1).images
    order = torch.tensor([7, 2, 2, 9])
    streamed.plan([order])
    first = streamed[order]
    assert streamed._current[1] is first  # the worker's array itself
    assert torch.equal(first, load_images(files, READER, name="people", load="memory").images[order])


def test_pinned_memory_is_requested_only_for_a_cuda_device(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=0).images
    assert streamed._data_loader().pin_memory is False
    on_gpu = streamed.to(torch.device("cuda"))  # nothing touches the GPU until a batch is read
    assert on_gpu.deliver_to.type == "cuda" and on_gpu._data_loader().pin_memory is True
    assert on_gpu.device.type == "cpu"  # the runner keeps the indices that gather batches on the CPU
    assert streamed.to("cpu") is streamed


def test_an_image_of_another_size_is_named_when_a_worker_decodes_it(files):
    from PIL import Image

    streamed = load_images(files, ImageReader(channels=1), name="people", load="stream", workers=1).images
    Image.new("L", (10, 10)).save(files.paths[4], format="PPM")  # PGM: grey, another size
    streamed.plan([torch.arange(12)])
    with pytest.raises(ToolkitError, match=r"The image '.*s2/1.pgm' decodes to \(1, 10, 10\)"):
        streamed[torch.arange(12)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: streamed batches pinned and copied to it")
def test_streamed_batches_arrive_on_the_gpu_through_pinned_memory(files):
    streamed = load_images(files, READER, name="people", load="stream", workers=1).images.to(torch.device("cuda"))
    streamed.plan([torch.arange(6), torch.arange(6, 12)])
    batch = streamed[torch.arange(6)]
    assert batch.is_cuda and streamed._current[1].is_pinned()
    expected = load_images(files, READER, name="people", load="memory").images[:6]
    assert torch.equal(batch.cpu(), expected)


@pytest.mark.slow
def test_a_streamed_run_with_augmentation_is_the_same_with_any_number_of_workers(tmp_path):
    from tests.test_distributed import first_epoch_loss
    from toolkit.training.runner import run

    write_faces(tmp_path / "people", 6, 4)
    recipe = tmp_path / "augmented.toml"
    recipe.write_text(pairs_recipe(f'name = "image_folder"\nfolder = "{tmp_path / "people"}"\ntrain_classes = 4\n'
                                   'size = [12, 12]\nload = "stream"\nworkers = 0', in_features=144)
                      + '\n[[augment]]\nname = "RandomResizedCrop"\nsize = [12, 12]\nscale = [0.5, 1.0]\n')
    losses = [first_epoch_loss(run(recipe, output=str(tmp_path / f"run{n}"), progress=False,
                                   overrides=(f"dataset.workers={workers}",)).run_dir)
              for n, workers in enumerate((0, 2, 2))]
    assert losses[0] == losses[1] == losses[2]
    other_seed = run(recipe, output=str(tmp_path / "seed1"), progress=False, overrides=("run.seed=1",)).run_dir
    assert first_epoch_loss(other_seed) != losses[0]
