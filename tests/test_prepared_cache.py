"""The prepared cache: images decoded once into a uint8 array file, keyed by the files and settings."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests.conftest import write_faces
from toolkit.api import ImageFiles, ImageReader, ImageSet, load_images, ToolkitError
from toolkit.cli.main import main
from toolkit.imagedata import cache as cache_module
from toolkit.imagedata.mapped import MappedImages


@pytest.fixture
def files(tmp_path) -> ImageFiles:
    """Twelve grey 28x24 images of three people."""
    write_faces(tmp_path / "people", 3, 4)
    paths = sorted((tmp_path / "people").rglob("*.pgm"))
    return ImageFiles(paths, [int(p.parent.name[1:]) - 1 for p in paths])


READER = ImageReader(channels=1, size=(20, 16))


def prepared_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if not p.name.startswith("."))


def test_the_cache_holds_the_same_pixels_as_decoding_into_memory(files, tmp_path):
    cached = load_images(files, READER, name="people", cache_dir=tmp_path / "cache")
    in_memory = load_images(files, READER, name="people", load="memory")
    assert cached.folder is not None and (cached.folder / "images.u8").stat().st_size == 12 * 20 * 16
    assert cached.images.shape == (12, 1, 20, 16) and cached.images.dtype == torch.uint8
    assert torch.equal(cached.images[torch.arange(12)], in_memory.images)
    assert cached.labels.tolist() == in_memory.labels.tolist()


def test_an_image_set_on_the_cache_gathers_batches_like_one_in_memory(files, tmp_path):
    cached = load_images(files, READER, name="people", cache_dir=tmp_path / "cache")
    in_memory = load_images(files, READER, name="people", load="memory")
    index = torch.tensor([[7, 1], [3, 11]])
    batch = ImageSet(cached.images, cached.labels, 0.5, 0.25).batch(index)
    assert torch.equal(batch, ImageSet(in_memory.images, in_memory.labels, 0.5, 0.25).batch(index))
    assert batch.dtype == torch.float32 and batch.shape == (4, 1, 20, 16)


def test_rows_of_the_cache_stay_mapped_and_index_like_the_tensor(files, tmp_path):
    cached = load_images(files, READER, name="people", cache_dir=tmp_path / "cache").images
    in_memory = load_images(files, READER, name="people", load="memory").images
    rows = cached[4:10]
    assert isinstance(rows, MappedImages) and len(rows) == 6
    assert torch.equal(rows[torch.tensor([0, 5])], in_memory[torch.tensor([4, 9])])
    assert torch.equal(rows[2], in_memory[6]) and torch.equal(cached[::3], in_memory[::3])


def test_gathering_from_the_cache_maps_none_of_it_into_the_process(files, tmp_path):
    cached = load_images(files, READER, name="people", cache_dir=tmp_path / "cache").images
    cached[torch.arange(12)]
    maps = Path("/proc/self/maps")
    if maps.exists():
        assert str(cached._file) not in maps.read_text()


def test_a_second_load_reads_the_prepared_folder_without_decoding(files, tmp_path, monkeypatch):
    first = load_images(files, READER, name="people", cache_dir=tmp_path / "cache")
    monkeypatch.setattr(cache_module, "decode", lambda *a, **k: pytest.fail("decoded again"))
    again = load_images(files, READER, name="people", cache_dir=tmp_path / "cache")
    assert again.folder == first.folder and torch.equal(again.images[:][torch.arange(12)], first.images[torch.arange(12)])


def test_a_changed_file_or_setting_prepares_a_new_cache(files, tmp_path):
    root = tmp_path / "cache"
    first = load_images(files, READER, name="people", cache_dir=root).folder
    stat = files.paths[0].stat()
    os.utime(files.paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = load_images(files, READER, name="people", cache_dir=root).folder
    resized = load_images(files, ImageReader(channels=1, size=(10, 8)), name="people", cache_dir=root).folder
    assert len({first, touched, resized}) == 3 and len(prepared_folders(root)) == 3


def test_an_interrupted_prepare_leaves_nothing_a_later_run_trusts(files, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    real_read = ImageReader.read
    calls = []

    def interrupted(self, path):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_read(self, path)

    monkeypatch.setattr(ImageReader, "read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_images(files, READER, name="people", cache_dir=root)
    assert list(root.iterdir()) == []
    monkeypatch.setattr(ImageReader, "read", real_read)
    assert len(load_images(files, READER, name="people", cache_dir=root).images) == 12


def test_a_folder_without_its_meta_file_is_prepared_again(files, tmp_path):
    root = tmp_path / "cache"
    folder = load_images(files, READER, name="people", cache_dir=root).folder
    (folder / "meta.json").unlink()  # as a copy cut short would leave it
    assert torch.equal(load_images(files, READER, name="people", cache_dir=root).images[0],
                       load_images(files, READER, name="people", load="memory").images[0])
    assert json.loads((folder / "meta.json").read_text())["shape"] == [12, 1, 20, 16]


def test_skipped_files_are_left_out_of_the_cache_and_listed_in_it(files, tmp_path):
    files.paths[2].write_bytes(b"")
    loaded = load_images(files, READER, name="people", cache_dir=tmp_path / "cache", on_bad_image="skip")
    assert loaded.images.shape[0] == 11 and len(loaded.skipped) == 1
    assert (loaded.folder / "images.u8").stat().st_size == 11 * 20 * 16
    assert np.array_equal(loaded.labels.numpy(), np.array([files.labels[i] for i in range(12) if i != 2]))


def test_toolkit_prepare_prints_each_split_of_the_recipe(tiny_faces, write_recipe, tmp_path):
    recipe = write_recipe(f"""
        [dataset]
        name = "image_folder"
        folder = "{tiny_faces}"
        train_dir = "training"
        test_dir = "testing"
        size = [32, 24]
        cache_dir = "{tmp_path / 'prepared'}"

        [sampler]
        name = "pairs"

        [encoder]
        name = "mlp"
        in_features = 768

        [loss]
        name = "contrastive"
    """)
    result = CliRunner().invoke(main, ["prepare", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "train: 20 images, 24x32, 1 channel(s), 5 classes" in result.output
    assert "test: 12 images, 24x32, 1 channel(s), 3 classes" in result.output
    assert len(prepared_folders(tmp_path / "prepared")) == 2


def test_a_damaged_cache_file_is_named_with_the_fix(files, tmp_path):
    folder = load_images(files, READER, name="people", cache_dir=tmp_path / "cache").folder
    with open(folder / "images.u8", "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(ToolkitError, match=r"are damaged .* Delete that folder"):
        load_images(files, READER, name="people", cache_dir=tmp_path / "cache")


def test_a_killed_preparation_leaves_a_temporary_folder_that_the_next_one_deletes(files, tmp_path):
    root = tmp_path / "cache"
    folder = load_images(files, READER, name="people", cache_dir=root).folder
    shutil.rmtree(folder)
    abandoned = root / f".{folder.name}.999999999.tmp"  # no process has this id
    abandoned.mkdir()
    (abandoned / "images.u8").write_bytes(b"\0" * 10)
    assert len(load_images(files, READER, name="people", cache_dir=root).images) == 12
    assert not abandoned.exists() and [p.name for p in root.iterdir()] == [folder.name]
