"""`toolkit embed`: vectors of a split or of image files, with their ids and labels."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.conftest import write_split_images
from toolkit.cli.main import main
from toolkit.model.trained import load_run


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_embedding_a_split_writes_one_vector_per_image_and_their_ids_and_labels(trained_run, tmp_path):
    result = invoke("embed", trained_run, "--dataset", "test", "-o", tmp_path / "vectors.npy", "-q")
    assert result.exit_code == 0, result.output
    vectors = np.load(tmp_path / "vectors.npy")
    test = load_run(trained_run).split("test")
    assert vectors.shape == (len(test), 8)
    rows = list(csv.DictReader((tmp_path / "vectors.csv").open()))
    assert [r["id"] for r in rows[:2]] == ["test:0", "test:1"]
    assert [int(r["label"]) for r in rows] == test.labels.tolist()


def test_images_given_by_path_embed_exactly_like_the_same_images_in_the_dataset(trained_run, tmp_path):
    paths = write_split_images(trained_run, "test", [0, 5, 9], tmp_path / "images")
    assert invoke("embed", trained_run, "--dataset", "test", "-o", tmp_path / "split.npy", "-q").exit_code == 0
    result = invoke("embed", trained_run, "--images", tmp_path / "images", "-o", tmp_path / "files.npy", "--ids", "json", "-q")
    assert result.exit_code == 0, result.output
    ids = json.loads((tmp_path / "files.json").read_text())
    rows = [int(Path(r["id"]).stem.split("_")[1]) for r in ids]  # files are named test_<index>.png
    assert sorted(rows) == [0, 5, 9] and {r["class"] for r in ids} == {p.parent.name for p in paths}
    np.testing.assert_allclose(np.load(tmp_path / "files.npy"), np.load(tmp_path / "split.npy")[rows], atol=1e-6)


def test_a_colour_image_of_another_size_is_converted_and_the_user_is_told(trained_run, tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.full((32, 24, 3), 128, dtype=np.uint8), "RGB").save(path)
    result = invoke("embed", trained_run, "--images", path, "-o", tmp_path / "v.npy", "-q")
    assert result.exit_code == 0, result.output
    assert "converted from RGB to grey" in result.output and "resized from 24x32 to 8x8" in result.output
    assert np.load(tmp_path / "v.npy").shape == (1, 8)


def test_embed_needs_a_split_or_images_but_not_both(trained_run, tmp_path):
    neither = invoke("embed", trained_run, "-o", tmp_path / "v.npy")
    both = invoke("embed", trained_run, "--dataset", "test", "--images", tmp_path, "-o", tmp_path / "v.npy")
    assert neither.exit_code == both.exit_code == 2 and "--dataset SPLIT" in neither.output


def test_an_unknown_split_names_the_splits_there_are(trained_run, tmp_path):
    result = invoke("embed", trained_run, "--dataset", "valid", "-o", tmp_path / "v.npy")
    assert result.exit_code == 2 and "train, test" in result.output and not (tmp_path / "v.npy").exists()


def test_parquet_is_written_when_asked_for(trained_run, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed; Parquet output is optional")
    assert invoke("embed", trained_run, "--dataset", "test", "-o", tmp_path / "v.npy", "--ids", "parquet", "-q").exit_code == 0
    table = pq.read_table(tmp_path / "v.parquet")
    assert table.num_rows == len(np.load(tmp_path / "v.npy")) and not (tmp_path / "v.csv").exists()


def test_only_the_files_asked_for_are_written(trained_run, tmp_path):
    result = invoke("embed", trained_run, "--dataset", "test", "-o", tmp_path / "v.npy", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.csv", "v.npy"]


def test_parquet_without_pyarrow_says_how_to_get_it_and_writes_nothing(trained_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of pyarrow now fails as if it were not installed
    result = invoke("embed", trained_run, "--dataset", "test", "-o", tmp_path / "v.npy", "--ids", "parquet")
    assert result.exit_code == 2 and "metric-toolkit[parquet]" in result.output and list(tmp_path.iterdir()) == []
