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
    rows = {row["name"]: row for row in json.loads(result.output)}
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
