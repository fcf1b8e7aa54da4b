"""The image_table dataset: a CSV or Parquet table of path, label and split; bad rows and bad images named."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import pairs_recipe, write_faces
from toolkit.api import ToolkitError
from toolkit_plugins.datasets.image_table import image_table


def write_table(folder: Path, rows: list[tuple], header: str = "path,label,split") -> Path:
    table = folder / "images.csv"
    table.write_text("\n".join([header, *(",".join(map(str, r)) for r in rows)]) + "\n", encoding="utf-8")
    return table


@pytest.fixture
def people(tmp_path) -> Path:
    """Six people s1..s6 of four grey 28x24 images each, and no table yet."""
    write_faces(tmp_path / "people", 6, 4)  # 28 wide, 24 high
    return tmp_path


def rows_of(people: Path, split_of=None) -> list[tuple]:
    """One row per image of the six people; ``split_of(person, k)`` adds a split column."""
    rows = []
    for person in range(1, 7):
        for k in range(1, 5):
            split = split_of(person, k) if split_of else None
            rows.append((f"people/s{person}/{k}.pgm", f"s{person}", *([split] if split else [])))
    return rows


def test_without_a_split_column_the_first_classes_train_and_the_rest_test(people):
    table = write_table(people, rows_of(people), header="path,label")
    dataset = image_table(table=str(table), train_classes=4, channels=1)
    train, test = dataset.split("train"), dataset.split("test")
    assert train.class_names == ["s1", "s2", "s3", "s4"] and test.class_names == ["s5", "s6"]
    assert len(train) == 16 and test.labels.tolist() == [0] * 4 + [1] * 4
    assert train.images.shape == (16, 1, 24, 28) and train.images.dtype == torch.uint8


def test_test_classes_names_the_held_out_classes(people):
    table = write_table(people, rows_of(people), header="path,label")
    dataset = image_table(table=str(table), test_classes=["s2", "s6"], channels=1)
    assert dataset.split("test").class_names == ["s2", "s6"]


def test_query_and_gallery_rows_become_splits_that_share_their_class_numbers(people):
    def split(person, k):
        return "train" if person <= 3 else ("query" if k == 1 else "gallery")

    dataset = image_table(table=str(write_table(people, rows_of(people, split))), channels=1, size=[16, 16])
    assert dataset.split_names == ["train", "query", "gallery"]
    query, gallery = dataset.split("query"), dataset.split("gallery")
    assert query.class_names == gallery.class_names == ["s4", "s5", "s6"]
    assert query.labels.tolist() == [0, 1, 2] and gallery.labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3
    assert query.images.shape == (3, 1, 16, 16)


def test_a_parquet_table_reads_like_a_csv_table(people):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = rows_of(people)
    table = people / "images.parquet"
    pq.write_table(pa.table({"path": [r[0] for r in rows], "label": [r[1] for r in rows]}), table)
    dataset = image_table(table=str(table), train_classes=3, channels=1)
    assert dataset.split("test").class_names == ["s4", "s5", "s6"]


def test_paths_are_read_from_root_under_the_data_root(people, monkeypatch, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("tables")
    rows = [(p.replace("people/", ""), label) for p, label in rows_of(people)]
    table = write_table(elsewhere, rows, header="path,label")
    monkeypatch.setenv("TOOLKIT_DATA", str(people))
    assert len(image_table(table=str(table), root="people", train_classes=4, channels=1).split("train")) == 16


def test_a_row_whose_file_is_missing_is_named_with_its_row(people):
    rows = rows_of(people)
    rows[5] = ("people/s2/nine.pgm", "s2")
    dataset = image_table(table=str(write_table(people, rows, header="path,label")), train_classes=4, channels=1)
    with pytest.raises(ToolkitError, match=r"images.csv row 7: The image .*nine.pgm' does not exist"):
        dataset.split("train")


def test_a_row_with_an_empty_label_is_refused_when_the_table_is_read(people):
    rows = rows_of(people)
    rows[2] = ("people/s1/3.pgm", "")
    with pytest.raises(ToolkitError, match="images.csv row 4: the label is empty"):
        image_table(table=str(write_table(people, rows, header="path,label")), train_classes=4)


def test_an_unknown_split_value_is_named_with_its_row(people):
    rows = rows_of(people, lambda person, k: "train")
    rows[0] = (*rows[0][:2], "validation")
    with pytest.raises(ToolkitError, match="row 2: the split 'validation' is not one of train, test, query, gallery"):
        image_table(table=str(write_table(people, rows)))


def test_a_table_without_a_label_column_says_which_columns_it_needs(people):
    table = people / "images.csv"
    table.write_text("file,class\na.png,1\n", encoding="utf-8")
    with pytest.raises(ToolkitError, match="no path or label column"):
        image_table(table=str(table), train_classes=1)


def test_a_missing_table_says_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_DATA", str(tmp_path))
    with pytest.raises(ToolkitError, match="does not exist: looked in the current folder and at"):
        image_table(table="nowhere.csv", train_classes=2)


def truncated(path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(path, "JPEG")
    path.write_bytes(path.read_bytes()[:200])


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def text_named_jpg(path: Path) -> None:
    path.write_text("this is not an image\n", encoding="utf-8")


def too_many_pixels(path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((64, 64), np.uint8)).save(path)  # over the limit the test sets


@pytest.mark.parametrize("spoil, problem", [(truncated, "truncated"), (zero_bytes, "cannot identify"),
                                            (text_named_jpg, "cannot identify"),
                                            (too_many_pixels, "too large to decode safely")])
def test_a_bad_image_stops_with_one_error_naming_file_and_row(people, monkeypatch, spoil, problem):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the real limit is 89 million pixels
    rows = rows_of(people)
    spoil(people / "people" / "s1" / "bad.jpg")
    rows[1] = ("people/s1/bad.jpg", "s1")
    dataset = image_table(table=str(write_table(people, rows, header="path,label")), train_classes=4, channels=1,
                          size=[24, 28])
    with pytest.raises(ToolkitError, match=f"(?i)images.csv row 3: .*bad.jpg.*{problem}.*on_bad_image = \"skip\""):
        dataset.split("train")


def test_on_bad_image_skip_leaves_the_file_out_with_a_warning_and_a_count(people, caplog):
    rows = rows_of(people)
    zero_bytes(people / "people" / "s1" / "empty.jpg")
    rows[1] = ("people/s1/empty.jpg", "s1")
    dataset = image_table(table=str(write_table(people, rows, header="path,label")), train_classes=4, channels=1,
                          on_bad_image="skip")
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        train = dataset.split("train")
    assert len(train) == 15 and train.labels.tolist()[:4] == [0, 0, 0, 1]
    assert len(dataset.skipped["train"]) == 1 and "images.csv row 3" in dataset.skipped["train"][0]
    assert "skipped 1 of 16 image files" in caplog.text


@pytest.mark.slow
def test_a_run_counts_skipped_images_in_its_metrics_and_log(people, write_recipe, tmp_path):
    from toolkit.training.runner import run

    rows = rows_of(people)
    text_named_jpg(people / "people" / "s5" / "notes.jpg")
    rows[17] = ("people/s5/notes.jpg", "s5")
    table = write_table(people, rows, header="path,label")
    dataset = f'name = "image_table"\ntable = "{table}"\ntrain_classes = 4\nchannels = 1\non_bad_image = "skip"'
    recipe = write_recipe(pairs_recipe(dataset, in_features=672))
    result = run(recipe, output=str(tmp_path / "run"), progress=False)
    assert result.metrics["skipped_images"] == {"test": 1}
    assert "unreadable image files left out" in (result.run_dir / "log.txt").read_text()
