"""The example plugin package under examples/ installs (into a temporary folder), shows up, trains, and passes its
own tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO
from tests.test_installed_plugin import _toolkit, install_into

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "toolkit-plugin-example"
RECIPE = EXAMPLE / "recipes" / "fashion_csv.toml"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """An environment (for subprocesses) in which the example package is installed."""
    return install_into(tmp_path_factory.mktemp("example") / "site", EXAMPLE)


def _write_kaggle_csv(path, n: int, seed: int) -> None:
    """``n`` 28x28 images in the Kaggle Fashion-MNIST CSV layout; class c is a bright band at rows 2c..2c+5."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, (n, 28, 28))
    for c in range(10):
        images[labels == c, 2 * c:2 * c + 6, :] += 200
    header = ",".join(["label", *(f"pixel{i}" for i in range(1, 785))])
    np.savetxt(path, np.column_stack([labels, images.reshape(n, -1)]), fmt="%d", delimiter=",", header=header, comments="")


@pytest.mark.slow
def test_toolkit_plugins_prints_what_the_writing_a_plugin_page_shows(installed_example):
    page = (REPO / "docs" / "writing-a-plugin.md").read_text()
    shown = re.search(r"prints, after the built-in plugins:\n\n```text\n(.*?)```", page, re.DOTALL).group(1)
    assert "pixel_csv" in shown
    result = _toolkit("plugins", env=installed_example)
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout  # one block: a load error would be printed inside it


@pytest.mark.slow
def test_the_example_recipe_trains_on_a_kaggle_format_csv(installed_example, tmp_path):
    _write_kaggle_csv(tmp_path / "fashion-mnist_train.csv", 200, seed=0)
    _write_kaggle_csv(tmp_path / "fashion-mnist_test.csv", 100, seed=1)
    result = _toolkit("run", str(RECIPE), "-q", "-o", str(tmp_path / "run"), "--set", f"dataset.data_dir={tmp_path}",
                      "--set", "run.epochs=2", "--set", "run.device=cpu", env=installed_example)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["evaluation"]["knn"]["precision_at_1"] > 0.5  # ten well-separated bands: chance is 0.1


@pytest.mark.slow
def test_the_example_plugins_own_tests_pass(installed_example):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests"),
         "--deselect", "tests/test_plugin.py::test_the_example_recipe_trains_on_csv_files"],  # the test above runs it
        capture_output=True, text=True, cwd=EXAMPLE, env=installed_example,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout

