"""`toolkit new-plugin` writes a package that installs, is listed, and whose own tests pass."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.test_installed_plugin import _pip, _toolkit


@pytest.fixture
def skeleton(tmp_path):
    folder = tmp_path / "cats"
    result = _toolkit("new-plugin", "toolkit-cats", "--dir", str(folder))
    assert result.returncode == 0, result.stderr
    yield folder
    _pip("uninstall", "-y", "-q", "toolkit-cats")


@pytest.mark.slow
def test_a_new_plugin_installs_and_lists_one_stub_of_each_kind_and_its_tests_pass(skeleton):
    result = _pip("install", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(skeleton))
    assert result.returncode == 0, result.stderr
    listed = _toolkit("plugins", "--json")
    plugin = next(p for p in json.loads(listed.stdout) if p["distribution"] == "toolkit-cats")
    assert plugin["error"] is None
    assert plugin["components"] == {"datasets": ["cats_dataset"], "encoders": ["cats_encoder"], "losses": ["cats_loss"],
                                    "samplers": ["cats_sampler"], "miners": ["cats_miner"], "evaluators": ["cats_evaluator"]}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                           capture_output=True, text=True, cwd=skeleton)
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
