"""`toolkit new-plugin` writes a package that installs (into a temporary folder), is listed, and whose own tests pass."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.test_installed_plugin import _toolkit, install_into


@pytest.fixture
def skeleton(tmp_path):
    folder = tmp_path / "cats"
    result = _toolkit("new-plugin", "toolkit-cats", "--dir", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.slow
def test_a_new_plugin_installs_and_lists_one_stub_of_each_kind_and_its_tests_pass(skeleton, tmp_path):
    env = install_into(tmp_path / "site", skeleton)
    listed = _toolkit("plugins", "--json", env=env)
    plugin = next(p for p in json.loads(listed.stdout)["plugins"] if p["distribution"] == "toolkit-cats")
    assert plugin["error"] is None
    assert plugin["components"] == {"datasets": ["cats_dataset"], "encoders": ["cats_encoder"], "losses": ["cats_loss"],
                                    "samplers": ["cats_sampler"], "miners": ["cats_miner"], "evaluators": ["cats_evaluator"]}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                           capture_output=True, text=True, cwd=skeleton, env=env)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_an_existing_folder_with_files_is_never_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = _toolkit("new-plugin", "toolkit-cats", "--dir", str(tmp_path / "mine"))
    assert result.returncode == 2
    assert "already exists and is not an empty folder" in result.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


def test_an_empty_existing_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    result = _toolkit("new-plugin", "toolkit-cats", "--dir", str(tmp_path / "empty"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "empty" / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", ["9lives", "cats!", "toolkit", "class", "cats-"])
def test_an_invalid_name_is_refused_with_a_reason(tmp_path, name):
    result = _toolkit("new-plugin", name, "--dir", str(tmp_path / "x"))
    assert result.returncode == 2
    assert f"{name!r}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_the_new_plugin_and_its_tests_import_nothing_of_toolkit_but_toolkit_api(skeleton):
    imported = set()
    for path in skeleton.rglob("*.py"):
        imported |= set(re.findall(r"^\s*(?:from|import) (toolkit(?:\.\S+)?)\b(?!_)", path.read_text(), re.MULTILINE))
    assert imported == {"toolkit.api"}


def test_the_new_plugin_declares_the_api_range_of_this_toolkit(skeleton):
    from packaging.specifiers import SpecifierSet

    from toolkit.api import API_VERSION

    init = (skeleton / "src" / "toolkit_cats" / "__init__.py").read_text()
    declared = re.search(r'^TOOLKIT_API = "(.*)"$', init, re.MULTILINE).group(1)
    assert API_VERSION in SpecifierSet(declared) and "2.0.0" not in SpecifierSet(declared)
