"""`toolkit compare`: the distance of two images and a same/different verdict from the stored threshold."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.conftest import copy_run, write_split_images
from toolkit.cli.main import main
from toolkit.model.trained import load_run


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _far_pair(run_dir):
    """Two test images of different classes whose embeddings lie beyond the threshold."""
    model = load_run(run_dir)
    test = model.split("test")
    vectors = model.embed(test)
    threshold = model.threshold["threshold"]
    first = 0
    distances = (vectors - vectors[first]).norm(dim=1)
    other = int(((test.labels != test.labels[first]) & (distances > threshold)).nonzero()[0])
    return first, other, float(distances[other])


def test_an_image_and_itself_are_the_same(trained_run, tmp_path):
    [path] = write_split_images(trained_run, "test", [3], tmp_path)
    result = invoke("compare", trained_run, path, path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("distance 0.0000 → same")


def test_two_different_digits_far_apart_are_different_and_json_gives_the_distance(trained_run, tmp_path):
    first, other, distance = _far_pair(trained_run)
    a, b = write_split_images(trained_run, "test", [first, other], tmp_path)
    result = invoke("compare", trained_run, a, b, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["verdict"] == "different" and abs(answer["distance"] - distance) < 1e-4
    assert answer["threshold"] == round(load_run(trained_run).threshold["threshold"], 6)


def test_the_json_key_is_the_word_the_text_prints_and_float_noise_is_rounded(trained_run, tmp_path):
    first, other, _ = _far_pair(trained_run)
    a, b = write_split_images(trained_run, "test", [first, other], tmp_path)
    text, answer = invoke("compare", trained_run, a, b).output, json.loads(invoke("compare", trained_run, a, b, "--json").stdout)
    assert text.startswith(f"distance {answer['distance']:.4f}")
    assert all(len(repr(answer[key]).split(".")[1]) <= 6 for key in ("distance", "threshold", "threshold_accuracy"))


def test_a_missing_run_folder_is_named(tmp_path):
    result = invoke("compare", tmp_path / "nowhere", tmp_path / "a.png", tmp_path / "b.png")
    assert result.exit_code == 2 and "There is no run folder" in result.output and "Traceback" not in result.output


def test_an_image_that_cannot_be_read_is_named(trained_run, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    [good] = write_split_images(trained_run, "test", [0], tmp_path)
    result = invoke("compare", trained_run, good, broken)
    assert result.exit_code == 2 and "Cannot read the image" in result.output and "broken.png" in result.output


def test_a_run_that_did_not_finish_says_how_to_continue_it(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    (run / "encoder.pt").unlink()
    (run / "status.json").write_text('{"status": "interrupted"}')
    [image] = write_split_images(trained_run, "test", [0], tmp_path)
    result = invoke("compare", run, image, image)
    assert result.exit_code == 2 and "interrupted" in result.output and "--resume" in result.output
