import numpy as np
import pytest
import torch
from PIL import Image

from toolkit.api import ToolkitError
from toolkit.imagedata.images import ImageReader, image_files


def _save(path, array, mode):
    Image.fromarray(array, mode).save(path)
    return path


def test_a_colour_image_is_read_as_grey_at_the_asked_size_and_the_conversions_are_said(tmp_path):
    path = _save(tmp_path / "a.png", np.full((20, 10, 3), 200, dtype=np.uint8), "RGB")
    image, conversions = ImageReader(channels=1, size=(8, 4)).read(path)
    assert image.shape == (1, 8, 4) and image.dtype == torch.uint8
    assert int(image[0, 0, 0]) == 200
    assert conversions == ["converted from RGB to grey", "resized from 10x20 to 4x8"]


def test_a_grey_image_of_the_right_size_is_read_unchanged(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    image, conversions = ImageReader(channels=1, size=(3, 4)).read(_save(tmp_path / "b.pgm", array, "L"))
    assert conversions == []
    assert torch.equal(image[0], torch.from_numpy(array))


def test_an_unreadable_image_is_a_toolkit_error_naming_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ToolkitError, match="broken.png"):
        ImageReader().read(bad)


def test_image_files_lists_only_images_sorted(tmp_path):
    for name in ("b.png", "a.pgm", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in image_files(tmp_path)] == ["a.pgm", "b.png"]


def test_image_files_leave_out_hidden_files_such_as_a_macs_metadata(tmp_path):
    for name in ("photo.jpg", "._photo.jpg", ".thumbnail.png"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in image_files(tmp_path)] == ["photo.jpg"]


def test_query_folders_leave_out_hidden_class_folders(tmp_path):
    from toolkit.imagedata.images import gather_images

    for folder in ("cat", ".thumbnails"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.png").write_bytes(b"")
    assert [(p.name, c) for p, c in gather_images([tmp_path])] == [("1.png", "cat")]
