"""report.html: one self-contained page per run, checked in headless Chromium."""

from __future__ import annotations

import base64
import re
import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import copy_run

CHROMIUM = Path("/usr/bin/chromium")
IMG_SRC = re.compile(r'<img src="([^"]*)"')


def test_the_report_holds_recipe_metrics_threshold_and_every_picture_inline(trained_run):
    page = (trained_run / "report.html").read_text()
    sources = IMG_SRC.findall(page)
    assert len(sources) >= 4  # loss curve, embedding scatter, retrieval grid, pair distances
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        with Image.open(BytesIO(base64.b64decode(source.split(",", 1)[1]))) as image:
            image.verify()
    assert "knn.precision_at_1" in page and "threshold (same if distance ≤)" in page
    assert 'name = "contrastive"' in page
    assert "http://" not in page and "https://" not in page and "file:" not in page


def _screenshot(page: Path, shot: Path, profile: Path) -> np.ndarray:
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    with Image.open(shot) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="headless Chromium not installed (apt-get install chromium chromium-driver)")
def test_the_report_renders_in_chromium_with_its_pictures(trained_run, tmp_path):
    run = copy_run(trained_run, tmp_path / "run")
    rendered = _screenshot(run / "report.html", tmp_path / "report.png", tmp_path / "profile")
    assert rendered.shape == (1600, 1200) and rendered.std() > 20  # not a blank page

    broken = tmp_path / "broken.html"
    broken.write_text(IMG_SRC.sub('<img src="missing.png"', (run / "report.html").read_text()))
    without_pictures = _screenshot(broken, tmp_path / "broken.png", tmp_path / "profile")
    changed = np.abs(rendered - without_pictures) > 30
    assert changed.mean() > 0.05  # the pictures fill a good part of the first screen, so they did load


def test_toolkit_report_writes_the_page_again(trained_run, tmp_path):
    from click.testing import CliRunner

    from toolkit.cli.main import main

    run = copy_run(trained_run, tmp_path / "run")
    (run / "report.html").unlink()
    result = CliRunner().invoke(main, ["html", str(run)])
    assert result.exit_code == 0 and (run / "report.html").read_text().startswith("<!DOCTYPE html>")
    missing = CliRunner().invoke(main, ["html", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no recipe.toml" in missing.output


def test_a_run_without_an_embedding_plot_evaluator_still_gets_a_scatter(trained_run):
    assert not (trained_run / "embeddings_test.png").exists()  # the quick recipe has only the knn evaluator
    assert (trained_run / "embeddings_test_pca.png").is_file()


def test_a_run_that_fails_in_evaluation_keeps_a_report_that_says_so(quick_recipe, tmp_path, monkeypatch):
    from tests.conftest import fail_evaluation
    from toolkit.api import ToolkitError
    from toolkit.training.runner import run

    out = tmp_path / "out"
    fail_evaluation(monkeypatch)
    with pytest.raises(ToolkitError):
        run(quick_recipe, output=str(out), overrides=("run.epochs=1",), progress=False)
    page = (out / "report.html").read_text()
    assert 'class="status-failed"' in page and "the run did not finish" in page
