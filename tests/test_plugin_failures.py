"""Broken plugins are reported by name and never stop the others from loading."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.fake_plugins import installed, write_distribution
from toolkit.cli.main import main
from toolkit.components.registry import default_registry

RAISES_ON_IMPORT = "raise RuntimeError('this plugin needs a licence key')\n"

HOOK_RAISES = '''
from toolkit.api import hookimpl


class Half:
    """Registered before the hook fails."""


@hookimpl
def register_losses(register):
    register("half_registered", Half)
    raise KeyError("losses.yaml")
'''


def test_a_plugin_that_fails_on_import_is_listed_with_its_error_and_the_rest_still_load(tmp_path):
    write_distribution(tmp_path, "needs-licence", RAISES_ON_IMPORT)
    with installed(tmp_path):
        result = CliRunner().invoke(main, ["plugins", "--json"])
        registry = default_registry()
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)["plugins"]}
    assert rows["needs-licence.plugin"]["error"] == "RuntimeError: this plugin needs a licence key"
    assert {"contrastive", "triplet"} <= set(registry.names("losses"))


def test_plugins_command_shows_the_failure_in_its_listing(tmp_path):
    write_distribution(tmp_path, "needs-licence", RAISES_ON_IMPORT)
    with installed(tmp_path):
        result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0
    assert "needs-licence.plugin" in result.output and "failed to load: RuntimeError" in result.output
    losses = next(line for line in result.output.splitlines() if line.strip().startswith("losses:"))
    assert {"contrastive", "triplet"} <= set(losses.split(":", 1)[1].replace(",", " ").split())  # the built-ins still load


def test_a_register_hook_that_raises_is_reported_with_the_plugin_name_and_keeps_none_of_its_components(tmp_path):
    write_distribution(tmp_path, "half-done", HOOK_RAISES)
    with installed(tmp_path):
        registry = default_registry()
        result = CliRunner().invoke(main, ["plugins"])
    failure = {p.name: p.error for p in registry.loaded.failures}
    assert failure == {"half-done.plugin": "register_losses raised KeyError: 'losses.yaml'"}
    assert "half_registered" not in registry.names("losses")
    assert "contrastive" in registry.names("losses")
    assert "half-done.plugin" in result.output and "register_losses raised KeyError" in result.output


def test_a_recipe_naming_a_component_of_a_broken_plugin_is_told_why_it_is_missing(tmp_path, quick_recipe):
    write_distribution(tmp_path / "site", "needs-licence", RAISES_ON_IMPORT)
    with installed(tmp_path / "site"):
        result = CliRunner().invoke(main, ["validate", str(quick_recipe), "--set", 'loss.name="licensed_loss"'])
    assert result.exit_code == 2
    assert "'needs-licence.plugin' failed to load (RuntimeError: this plugin needs a licence key)" in result.output


MISSPELT_HOOK = '''
from toolkit.api import hookimpl


@hookimpl
def register_loss(register):
    register("never_registered", dict)
'''

UNMARKED_HOOK = '''
def register_losses(register):
    register("never_registered", dict)
'''


def test_a_misspelt_hook_is_reported_against_its_plugin_with_the_real_hook_name(tmp_path):
    write_distribution(tmp_path, "typo-losses", MISSPELT_HOOK)
    with installed(tmp_path):
        registry = default_registry()
    error = {p.name: p.error for p in registry.loaded.failures}["typo-losses.plugin"]
    assert "register_loss is not a toolkit hook. Did you mean 'register_losses'?" in error
    assert "contrastive" in registry.names("losses")


def test_a_hook_without_hookimpl_is_reported_instead_of_silently_never_called(tmp_path):
    write_distribution(tmp_path, "unmarked-losses", UNMARKED_HOOK)
    with installed(tmp_path):
        registry = default_registry()
    error = {p.name: p.error for p in registry.loaded.failures}["unmarked-losses.plugin"]
    assert "register_losses is not marked with @hookimpl" in error


def test_plugins_traceback_shows_the_full_import_error_of_a_failed_plugin(tmp_path):
    write_distribution(tmp_path, "needs-licence", "def check():\n    raise RuntimeError('licence key missing')\n\ncheck()\n")
    with installed(tmp_path):
        short = CliRunner().invoke(main, ["plugins"])
        full = CliRunner().invoke(main, ["plugins", "--traceback"])
    assert "Traceback (most recent call last)" not in short.output and "--traceback" in short.output
    assert "Traceback (most recent call last)" in full.output
    assert f'{tmp_path / "needs_licence.py"}", line 2, in check' in full.output


def _needs_api(declared: str) -> str:
    return f'''
from toolkit.api import hookimpl

TOOLKIT_API = "{declared}"


def ranged_loss():
    """Never built."""


@hookimpl
def register_losses(register):
    register("ranged_loss", ranged_loss)
'''


def test_a_plugin_needing_another_api_version_is_not_loaded_and_says_why(tmp_path):
    from toolkit.api import API_VERSION

    write_distribution(tmp_path, "future-losses", _needs_api(">=2.0,<3"))
    with installed(tmp_path):
        registry = default_registry()
    error = {p.name: p.error for p in registry.loaded.failures}["future-losses.plugin"]
    assert f"plugin 'future-losses.plugin' needs toolkit plugin API >=2.0,<3, but this toolkit provides API {API_VERSION}" in error
    assert "ranged_loss" not in registry.names("losses") and "contrastive" in registry.names("losses")


def test_a_plugin_whose_api_range_fits_loads_and_is_listed_with_the_api_version(tmp_path):
    from toolkit.api import API_VERSION

    write_distribution(tmp_path, "current-losses", _needs_api(">=1.0,<2"))
    with installed(tmp_path):
        registry = default_registry()
        listing = json.loads(CliRunner().invoke(main, ["plugins", "--json"]).output)
        text = CliRunner().invoke(main, ["plugins"]).output
    assert "ranged_loss" in registry.names("losses")
    assert listing["api_version"] == API_VERSION
    assert next(p for p in listing["plugins"] if p["name"] == "current-losses.plugin")["requires_api"] == ">=1.0,<2"
    assert text.startswith(f"toolkit plugin API {API_VERSION}\n") and "needs API >=1.0,<2" in text


def test_an_api_range_that_is_not_a_range_is_reported(tmp_path):
    write_distribution(tmp_path, "odd-losses", _needs_api("one point oh"))
    with installed(tmp_path):
        registry = default_registry()
    assert "not a version range" in {p.name: p.error for p in registry.loaded.failures}["odd-losses.plugin"]
