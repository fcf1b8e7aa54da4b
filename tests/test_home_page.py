"""The site's home page: its plugin example is a working plugin, and the page renders at desktop and phone width."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.conftest import REPO
from tests.fake_plugins import installed, write_distribution
from toolkit.cli.main import main

HOME = REPO / "docs" / "index.md"
CHROMIUM = Path("/usr/bin/chromium")


def test_the_ten_line_plugin_on_the_home_page_works_in_a_recipe(tmp_path, quick_recipe):
    code = re.search(r"## A plugin in ten lines\n\n```python\n(.+?)```", HOME.read_text(), re.S)[1]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    write_distribution(tmp_path / "site", "tiny-plugin", code, entry_point="tiny")
    with installed(tmp_path / "site"):
        result = CliRunner().invoke(main, ["validate", str(quick_recipe), "--set", 'encoder={name="tiny_mlp", embedding_dim=4}'])
    assert result.exit_code == 0, result.output


def test_the_home_page_picture_is_committed_and_small():
    [picture] = re.findall(r"!\[[^\]]+\]\((images/[^)]+)\)", HOME.read_text())
    assert (REPO / "docs" / picture).stat().st_size < 200_000


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="headless Chromium not installed (apt-get install chromium)")
@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_home_page_renders_with_its_picture(tmp_path, width, height):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(site)], cwd=REPO, check=True,
                   capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    shot = tmp_path / "home.png"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", f"--window-size={width},{height}", (site / "index.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.shape == (height, width) and pixels.std() > 20  # text and the picture, not a blank page
