"""The recipe sections shown on the fine-tuning page are valid recipes once put into faces_resnet.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.conftest import REPO
from toolkit.recipes.build import build_components
from toolkit.recipes.recipe import load_recipe

PAGE = REPO / "docs" / "fine-tuning.md"
BLOCKS = [b for b in re.findall(r"```toml\n(.*?)```", PAGE.read_text(), re.S) if 'name = "torchvision"' in b]


def test_the_page_shows_torchvision_recipe_sections():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{len(b.splitlines())}-lines")
def test_a_section_on_the_page_builds_into_the_faces_recipe(block, tmp_path, monkeypatch):
    data_root = REPO.parent / "shared" / "data"
    if not (data_root / "att_faces").is_dir():
        pytest.skip(f"the AT&T faces are not under {data_root}")
    monkeypatch.setenv("TOOLKIT_DATA", str(data_root))
    recipe = tomllib.loads((REPO / "recipes" / "faces_resnet.toml").read_text())
    for section, table in tomllib.loads(block).items():
        recipe[section] = table
    recipe["encoder"].pop("weights", None)  # no download in tests: the weights name is checked by other tests
    path = tmp_path / "page.toml"
    path.write_text(tomli_w.dumps(recipe))
    build_components(load_recipe(path))
