"""Finding plugins: one pluggy ``PluginManager`` fed from the ``toolkit`` entry-point group.

The built-in components live in this distribution's own entry points and load the same way a
third-party package's do. ``TOOLKIT_LOAD_PLUGINS`` narrows what loads: a comma-separated list of
distribution names to allow besides the built-ins; set but empty means built-ins only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from toolkit.components import hookspecs

ENTRY_POINT_GROUP = "toolkit"
ALLOWLIST_VARIABLE = "TOOLKIT_LOAD_PLUGINS"
BUILTIN_DISTRIBUTION = "metric-toolkit"


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin: an entry point of some installed distribution."""

    name: str
    distribution: str
    version: str
    builtin: bool
    error: str | None = None
    hooks: list[str] = field(default_factory=list)


@dataclass
class LoadedPlugins:
    manager: pluggy.PluginManager
    plugins: list[PluginInfo]

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    def record_failure(self, plugin_name: str, error: str) -> None:
        """Note that a loaded plugin failed later (one of its hooks raised); ``toolkit plugins`` shows it."""
        info = next((p for p in self.plugins if p.name == plugin_name), None)
        if info is None:
            info = PluginInfo(plugin_name, "?", "?", builtin=False)
            self.plugins.append(info)
        info.error = f"{info.error}; {error}" if info.error else error


def _allowed(distribution: str) -> bool:
    if distribution == BUILTIN_DISTRIBUTION:
        return True
    allowlist = os.environ.get(ALLOWLIST_VARIABLE)
    if allowlist is None:
        return True
    names = {n.strip().lower().replace("_", "-") for n in allowlist.split(",") if n.strip()}
    return distribution.lower().replace("_", "-") in names


def load_plugins() -> LoadedPlugins:
    """Load every allowed plugin; a plugin that fails to import is recorded, the rest still load."""
    manager = pluggy.PluginManager("toolkit")
    manager.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    seen: set[tuple[str, str]] = set()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        dist_name = dist.metadata["Name"] if dist else "?"
        version = dist.version if dist else "?"
        if (dist_name, entry_point.name) in seen or not _allowed(dist_name):
            continue
        seen.add((dist_name, entry_point.name))
        plugin_name = entry_point.name if dist_name == BUILTIN_DISTRIBUTION else f"{dist_name}.{entry_point.name}"
        info = PluginInfo(plugin_name, dist_name, version, builtin=dist_name == BUILTIN_DISTRIBUTION)
        infos.append(info)
        try:
            module = entry_point.load()
            manager.register(module, name=plugin_name)
        except Exception as exc:  # a broken plugin must not stop the others
            info.error = f"{type(exc).__name__}: {exc}"
            continue
        info.hooks = sorted(impl_name for impl_name in hookspecs.HOOKS.values() if hasattr(module, impl_name))
    return LoadedPlugins(manager, infos)
