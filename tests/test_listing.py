"""`toolkit list` and `toolkit plugins` in a new process: from the cache while nothing changed, built afresh when
something did (each test runs the command as a user would, in its own cache folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_plugins import write_distribution

ENCODER_PLUGIN = '''
from toolkit.api import hookimpl


def {name}(*, width: int = 8):
    """An encoder that is only listed."""


@hookimpl
def register_encoders(register):
    register("{name}", {name})
'''


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOOLKIT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path / "site")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=True)


def _encoders(tmp_path: Path) -> list[str]:
    listed = json.loads(_run(tmp_path, "-m", "toolkit", "list", "encoders", "--json").stdout)
    return [c["name"] for c in listed["encoders"]]


@pytest.mark.slow
def test_a_second_listing_comes_from_the_cache_without_importing_torch(tmp_path):
    first = json.loads(_run(tmp_path, "-m", "toolkit", "list", "--json").stdout)
    probe = _run(tmp_path, "-c", "import json, sys; from toolkit.cli.listing import installed; "
                                 "print(json.dumps(['torch' in sys.modules, installed()['components']]))")
    torch_imported, components = json.loads(probe.stdout)
    assert components == first and not torch_imported


@pytest.mark.slow
def test_a_plugin_whose_file_changed_is_listed_as_it_is_now(tmp_path):
    module = write_distribution(tmp_path / "site", "toolkit-wave", ENCODER_PLUGIN.format(name="wave"))
    assert "wave" in _encoders(tmp_path)
    (tmp_path / "site" / f"{module}.py").write_text(ENCODER_PLUGIN.format(name="ripple_wave"))
    assert "ripple_wave" in _encoders(tmp_path) and "wave" not in _encoders(tmp_path)


@pytest.mark.slow
def test_a_plugin_that_fails_to_load_is_reported_every_time_and_nothing_is_cached(tmp_path):
    write_distribution(tmp_path / "site", "needs-licence", "raise RuntimeError('this plugin needs a licence key')\n")
    for _ in range(2):
        rows = {row["name"]: row for row in json.loads(_run(tmp_path, "-m", "toolkit", "plugins", "--json").stdout)["plugins"]}
        assert rows["needs-licence.plugin"]["error"] == "RuntimeError: this plugin needs a licence key"
    assert not (tmp_path / "cache").exists()
