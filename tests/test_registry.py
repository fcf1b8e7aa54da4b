"""The registry: built-ins through entry points, clashes, allowlist, broken plugins."""

from __future__ import annotations

import types

import pytest

from toolkit.api import ToolkitError, hookimpl
from toolkit.components.loading import LoadedPlugins, load_plugins
from toolkit.components.registry import Registry, default_registry


def test_builtin_components_are_found_through_entry_points():
    registry = default_registry()
    assert {"mnist", "fashion-mnist", "digits"} <= set(registry.names("datasets"))
    assert {"mlp", "small_cnn"} <= set(registry.names("encoders"))
    assert {"contrastive", "triplet"} <= set(registry.names("losses"))
    assert {"pairs", "triplets", "batches"} <= set(registry.names("samplers"))
    assert {"knn", "kmeans", "embedding_plot"} <= set(registry.names("evaluators"))
    builtins = {p.name for p in registry.loaded.plugins if p.builtin}
    assert {"datasets", "encoders", "losses", "samplers", "evaluators"} <= builtins


def _registry_with(*modules: types.ModuleType) -> Registry:
    loaded = load_plugins()
    for module in modules:
        loaded.manager.register(module, name=module.__name__)
    return Registry(LoadedPlugins(loaded.manager, loaded.plugins))


def _plugin(name: str, loss_name: str) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def register_losses(register):
        register(loss_name, lambda: None)

    module.register_losses = register_losses
    return module


def test_two_plugins_registering_one_name_is_an_error_naming_both():
    with pytest.raises(ToolkitError) as err:
        _registry_with(_plugin("first_plugin", "twin"), _plugin("second_plugin", "twin"))
    assert "first_plugin" in str(err.value) and "second_plugin" in str(err.value)


def test_a_plugin_clashing_with_a_builtin_name_is_an_error_that_says_which_side_is_built_in():
    with pytest.raises(ToolkitError) as err:
        _registry_with(_plugin("clasher", "contrastive"))
    assert "the loss 'contrastive' by the built-in plugin 'losses' and by the plugin 'clasher'" in str(err.value)


def test_every_clash_is_listed_in_one_error():
    with pytest.raises(ToolkitError) as err:
        _registry_with(_plugin("clasher", "contrastive"), _plugin("other_clasher", "triplet"))
    assert "'contrastive'" in str(err.value) and "'triplet'" in str(err.value)


def test_a_plugin_registering_one_name_twice_is_reported_and_keeps_none_of_that_hook():
    module = types.ModuleType("stutter")

    @hookimpl
    def register_losses(register):
        register("echo", lambda: None)
        register("echo", lambda: None)

    module.register_losses = register_losses
    registry = _registry_with(module)
    assert {p.name: p.error for p in registry.loaded.failures} == {
        "stutter": "register_losses raised ToolkitError: Plugin 'stutter' registered the loss 'echo' twice; each name "
                   "is registered once."}
    assert "echo" not in registry.names("losses")


def test_each_registration_is_attributed_to_the_plugin_whose_hook_made_it():
    registry = _registry_with(_plugin("first_plugin", "first_loss"), _plugin("second_plugin", "second_loss"))
    assert registry.get("losses", "first_loss").plugin == "first_plugin"
    assert registry.get("losses", "second_loss").plugin == "second_plugin"


def test_unknown_component_suggests_close_names():
    with pytest.raises(ToolkitError) as err:
        default_registry().get("losses", "contrastiv")
    assert "Did you mean 'contrastive'" in str(err.value)


def test_allowlist_variable_keeps_builtins_and_drops_others(monkeypatch):
    monkeypatch.setenv("TOOLKIT_LOAD_PLUGINS", "")
    loaded = load_plugins()
    assert loaded.plugins and all(p.builtin for p in loaded.plugins)
