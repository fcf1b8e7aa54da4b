"""`toolkit.load_run`: embed, compare and search from Python, as documented in docs/using-a-model.md."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import toolkit
from tests.conftest import REPO, write_split_images
from toolkit.cli.main import main
from toolkit.errors import ToolkitError


def test_embedding_paths_gives_the_vectors_of_the_same_images_in_the_dataset(trained_run, tmp_path):
    model = toolkit.load_run(trained_run)
    paths = write_split_images(trained_run, "test", [0, 1, 2], tmp_path / "q", by_class=False)
    expected = model.trained.embed(model.trained.split("test").rows(0, 3)).numpy()
    vectors = model.embed(paths)
    assert vectors.dtype == np.float32 and vectors.shape == expected.shape
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_pixels_pil_images_and_files_embed_alike(trained_run, tmp_path):
    model = toolkit.load_run(trained_run)
    [path] = write_split_images(trained_run, "test", [5], tmp_path, by_class=False)
    pixels = model.trained.split("test").images[5:6]
    with Image.open(path) as image:
        from_pil = model.embed(image.copy())
    np.testing.assert_allclose(model.embed(pixels), model.embed(path), atol=1e-6)
    np.testing.assert_allclose(model.embed(pixels.numpy()[:, 0]), from_pil, atol=1e-6)


def test_an_image_of_another_size_is_converted_with_a_warning(trained_run):
    model = toolkit.load_run(trained_run)
    with pytest.warns(UserWarning, match="resized from 16x16 to 8x8"):
        assert model.embed(np.zeros((1, 16, 16), dtype=np.uint8)).shape[0] == 1


def test_float_pixels_are_refused_with_the_reason(trained_run):
    with pytest.raises(ToolkitError, match="uint8 pixels"):
        toolkit.load_run(trained_run).embed(torch.zeros(1, 1, 8, 8))


def test_compare_matches_the_command(trained_run, tmp_path):
    a, b = write_split_images(trained_run, "test", [0, 1], tmp_path, by_class=False)
    result = toolkit.load_run(trained_run).compare(a, b)
    printed = json.loads(CliRunner().invoke(main, ["compare", str(trained_run), str(a), str(b), "--json"]).stdout)
    assert printed["distance"] == result.distance and printed["verdict"] == result.verdict
    assert result.verdict == ("same" if result.distance <= result.threshold else "different")


def test_search_finds_a_training_image_itself_first(trained_run, tmp_path):
    paths = write_split_images(trained_run, "train", [3, 7], tmp_path / "q", by_class=False)
    hits = toolkit.load_run(trained_run).search(paths, k=2)
    assert [found[0].id for found in hits] == ["train:3", "train:7"]
    assert hits[0][0].rank == 1 and hits[0][0].distance < 1e-3 and hits[0][1].distance >= hits[0][0].distance


def test_the_documented_example_runs(trained_run, tmp_path, monkeypatch):
    code = re.search(r"## From Python.*?```python\n(.+?)```", (REPO / "docs" / "using-a-model.md").read_text(), re.S)[1]
    monkeypatch.chdir(tmp_path)
    a, b, bag = write_split_images(trained_run, "test", [0, 1, 2], tmp_path, by_class=False)
    for path, name in [(a, "sneaker_a.png"), (b, "sneaker_b_rgb.png"), (bag, "bag.png")]:
        path.rename(name)
    write_split_images(trained_run, "test", [3, 4], tmp_path / "queries")
    namespace: dict = {}
    exec(code.replace("runs/fashion_siamese-demo", str(trained_run)), namespace)
    assert namespace["vectors"].shape == (2, 8)
    assert namespace["result"].verdict in ("same", "different")
    assert len(namespace["hits"]) == 2 and len(namespace["hits"][0]) == 3
