"""`toolkit index` and `toolkit search`: nearest gallery items with faiss, a saved index, a picture grid."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

import toolkit.model.search
from tests.conftest import copy_run, write_split_images
from toolkit.cli.main import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_training_image_finds_itself_first_and_the_grid_is_drawn(trained_run, tmp_path):
    write_split_images(trained_run, "train", [4, 10], tmp_path / "queries")
    picture = tmp_path / "grid.png"
    result = invoke("search", trained_run, tmp_path / "queries", "--k", 3, "-o", picture, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    for found in answer["results"]:
        best = found["neighbours"][0]
        assert best["id"] == f"train:{found['query'].rsplit('_', 1)[1][:-4]}" and best["distance"] < 1e-3
        assert best["correct"] is True and len(found["neighbours"]) == 3
    with Image.open(picture) as grid:
        assert grid.width > 300 and grid.height > 200


def test_a_saved_index_is_loaded_instead_of_embedding_the_gallery_again(trained_run, tmp_path, monkeypatch):
    run = copy_run(trained_run, tmp_path / "run")
    assert invoke("index", run, "-q").exit_code == 0
    assert (run / "gallery.faiss").is_file() and json.loads((run / "gallery.json").read_text())["size"] == 1347

    def refuse(*args, **kwargs):
        raise AssertionError("the gallery was embedded again")

    monkeypatch.setattr(toolkit.model.search, "build_gallery", refuse)
    write_split_images(trained_run, "test", [0], tmp_path / "q")
    result = invoke("search", run, tmp_path / "q", "-o", tmp_path / "grid.png")
    assert result.exit_code == 0, result.output
    assert "Embedded the gallery" not in result.output


def test_an_index_built_with_other_weights_is_not_used(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    assert invoke("index", run, "-q").exit_code == 0
    meta = json.loads((run / "gallery.json").read_text())
    (run / "gallery.json").write_text(json.dumps({**meta, "encoder": "0" * 16}))
    write_split_images(trained_run, "test", [0], tmp_path / "q")
    result = invoke("search", run, tmp_path / "q", "-o", tmp_path / "grid.png")
    assert result.exit_code == 0 and "other encoder weights" in result.output


def test_a_gallery_folder_of_classes_marks_neighbours_of_another_class(trained_run, tmp_path):
    write_split_images(trained_run, "train", range(40), tmp_path / "gallery")
    write_split_images(trained_run, "test", [0, 1, 2], tmp_path / "queries")
    result = invoke("search", trained_run, tmp_path / "queries", "--gallery", tmp_path / "gallery", "--k", 10,
                    "-o", tmp_path / "grid.png", "--json")
    assert result.exit_code == 0, result.output
    neighbours = [n for r in json.loads(result.stdout)["results"] for n in r["neighbours"]]
    assert {n["correct"] for n in neighbours} == {True, False}  # 10 neighbours among 40 images of 10 classes
    assert all(n["correct"] == (n["label"] == r["label"]) for r in json.loads(result.stdout)["results"] for n in r["neighbours"])


def test_k_larger_than_the_gallery_is_refused(trained_run, tmp_path):
    write_split_images(trained_run, "train", range(5), tmp_path / "gallery")
    [query] = write_split_images(trained_run, "test", [0], tmp_path / "q")
    result = invoke("search", trained_run, query, "--gallery", tmp_path / "gallery", "--k", 6, "-o", tmp_path / "g.png")
    assert result.exit_code == 2 and "more neighbours than the gallery holds (5 items" in result.output
    assert not (tmp_path / "g.png").exists()


def test_a_query_that_is_not_an_image_or_does_not_exist_is_named(trained_run, tmp_path):
    (tmp_path / "notes.png").write_bytes(b"\x00\x01 not a png")
    unreadable = invoke("search", trained_run, tmp_path / "notes.png", "-o", tmp_path / "g.png")
    missing = invoke("search", trained_run, tmp_path / "gone.png", "-o", tmp_path / "g.png")
    assert unreadable.exit_code == missing.exit_code == 2
    assert "Cannot read the image" in unreadable.output and "does not exist" in missing.output


def test_searching_a_missing_run_folder_is_refused(tmp_path):
    result = invoke("search", tmp_path / "no-run", tmp_path, "-o", tmp_path / "g.png")
    assert result.exit_code == 2 and "There is no run folder" in result.output


def _gallery_of_named_classes(trained_run, folder):
    """Training images in class folders d0..d9 (named, and sorted in the order of their numbers)."""
    write_split_images(trained_run, "train", range(40), folder)
    for digit in range(10):
        (folder / str(digit)).rename(folder / f"d{digit}")
    return folder


def test_query_folders_named_by_class_or_by_number_are_both_checked(trained_run, tmp_path):
    gallery = _gallery_of_named_classes(trained_run, tmp_path / "gallery")
    [by_name] = write_split_images(trained_run, "test", [0], tmp_path / "queries")
    digit = by_name.parent.name
    by_number = tmp_path / "queries" / digit / "again.png"
    by_name.parent.rename(tmp_path / "queries" / f"d{digit}")
    (tmp_path / "queries" / digit).mkdir()
    by_number.hardlink_to(tmp_path / "queries" / f"d{digit}" / by_name.name)
    result = invoke("search", trained_run, tmp_path / "queries", "--gallery", gallery, "-o", tmp_path / "g.png", "--json")
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in json.loads(result.stdout)["results"]] == [f"d{digit}", f"d{digit}"]


def test_a_query_folder_matching_no_class_is_named(trained_run, tmp_path):
    gallery = _gallery_of_named_classes(trained_run, tmp_path / "gallery")
    [query] = write_split_images(trained_run, "test", [0], tmp_path / "queries")
    query.parent.rename(tmp_path / "queries" / "bird")
    result = invoke("search", trained_run, tmp_path / "queries", "--gallery", gallery, "-o", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    assert "The query folders bird/ match no gallery class, by name or by number (0-9)" in result.output
    assert "d0, d1, d2" in result.output


def test_the_picture_goes_into_the_run_folder_by_default_and_the_command_says_where(trained_run, tmp_path, monkeypatch):
    run = copy_run(trained_run, tmp_path / "run")
    [query] = write_split_images(trained_run, "test", [0], tmp_path / "q")
    monkeypatch.chdir(tmp_path)
    result = invoke("search", run, query, "-q")
    assert result.exit_code == 0, result.output
    assert (run / "search.png").is_file() and not (tmp_path / "search.png").exists()
    assert f"Picture: {run / 'search.png'}" in result.output


def test_index_names_its_kind_and_what_it_replaces(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    first = invoke("index", run, "-q")
    assert first.exit_code == 0 and "in a flat index in" in first.output and "Replaced" not in first.output
    second = invoke("index", run, "--index", "hnsw", "-q")
    assert second.exit_code == 0, second.output
    assert "Replaced the saved flat index of 1347 items (split:train) with this hnsw index of 1347 items" in second.output
    assert "in a hnsw index in" in second.output and json.loads((run / "gallery.json").read_text())["index"] == "hnsw"
