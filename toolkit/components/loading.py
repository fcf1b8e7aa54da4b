"""Finding plugins: one pluggy ``PluginManager`` fed from the ``toolkit`` entry-point group.

The built-in components live in this distribution's own entry points and load the same way a
third-party package's do. ``TOOLKIT_LOAD_PLUGINS`` narrows what loads: a comma-separated list of
distribution names to allow besides the built-ins; set but empty means built-ins only.

A plugin module may declare the plugin API range it was written for, ``TOOLKIT_API = ">=1.0,<2"``; when
``toolkit.api.API_VERSION`` is outside it, the plugin is reported and not loaded.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from toolkit.components import hookspecs
from toolkit.errors import did_you_mean

ENTRY_POINT_GROUP = "toolkit"
ALLOWLIST_VARIABLE = "TOOLKIT_LOAD_PLUGINS"
BUILTIN_DISTRIBUTION = "metric-toolkit"
API_RANGE_ATTRIBUTE = "TOOLKIT_API"


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin: an entry point of some installed distribution."""

    name: str
    distribution: str
    version: str
    builtin: bool
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    requires_api: str | None = None
    traceback: str | None = None


@dataclass
class LoadedPlugins:
    manager: pluggy.PluginManager
    plugins: list[PluginInfo]

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    def info(self, plugin_name: str) -> PluginInfo | None:
        return next((p for p in self.plugins if p.name == plugin_name), None)

    def record_failure(self, plugin_name: str, error: str) -> None:
        """Note that a loaded plugin failed later (one of its hooks raised); ``toolkit plugins`` shows it."""
        info = self.info(plugin_name)
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
    """Load every allowed plugin; a plugin that fails to import or to validate is recorded, the rest still load."""
    manager = pluggy.PluginManager("toolkit")
    manager.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    seen: set[tuple[str, str]] = set()
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        dist_name = dist.metadata["Name"] if dist else "?"
        if (dist_name, entry_point.name) in seen or not _allowed(dist_name):
            continue
        seen.add((dist_name, entry_point.name))
        plugin_name = entry_point.name if dist_name == BUILTIN_DISTRIBUTION else f"{dist_name}.{entry_point.name}"
        info = PluginInfo(plugin_name, dist_name, dist.version if dist else "?", builtin=dist_name == BUILTIN_DISTRIBUTION)
        infos.append(info)
        module = None
        try:
            module = entry_point.load()
            info.requires_api = check_api_range(plugin_name, module)
            manager.register(module, name=plugin_name)
            check_hooks(manager, plugin_name, module)
        except Exception as exc:  # a broken plugin must not stop the others
            info.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, PluginProblem) else str(exc)
            info.traceback = "".join(traceback.format_exception(exc))
            if module is not None and manager.is_registered(module):
                manager.unregister(module)
            continue
        info.hooks = sorted(caller.name for caller in manager.get_hookcallers(module) or [])
    manager.check_pending()  # every plugin with a hook unknown to the specifications was left out above
    return LoadedPlugins(manager, infos)


class PluginProblem(Exception):
    """A plugin that imports but cannot be used as it is; the message says why and what to change."""


def check_hooks(manager: pluggy.PluginManager, plugin_name: str, module: object) -> None:
    """A hook function misspelt (``register_loss``) or left without ``@hookimpl`` is the plugin's error, found now
    rather than silently never called."""
    hook_names = list(hookspecs.HOOKS.values())
    callers = manager.get_hookcallers(module) or []
    unknown = sorted(caller.name for caller in callers if caller.spec is None)
    # every hook name starts with register_, so only a near-identical name is a likely misspelling
    problems = [f"{name} is not a toolkit hook.{did_you_mean(name, hook_names, cutoff=0.8)}" for name in unknown]
    marked = {caller.name for caller in callers}
    problems += [f"{name} is not marked with @hookimpl (from toolkit.api import hookimpl), so it would never be called."
                 for name in hook_names if callable(getattr(module, name, None)) and name not in marked]
    if problems:
        raise PluginProblem(f"plugin {plugin_name!r} ({getattr(module, '__file__', module)}): {' '.join(problems)} "
                            f"The hooks are {', '.join(hook_names)}.")


def check_api_range(plugin_name: str, module: object) -> str | None:
    """The plugin's declared ``TOOLKIT_API`` range (None when it declares none); a range the toolkit's
    ``API_VERSION`` does not satisfy stops the plugin from loading."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from toolkit.api import API_VERSION

    declared = getattr(module, API_RANGE_ATTRIBUTE, None)
    if declared is None:
        return None
    try:
        fits = API_VERSION in SpecifierSet(str(declared))
    except InvalidSpecifier:
        raise PluginProblem(
            f"plugin {plugin_name!r} declares {API_RANGE_ATTRIBUTE} = {declared!r}, which is not a version range. "
            f'Write it as a pip-style range, such as {API_RANGE_ATTRIBUTE} = ">=1.0,<2".'
        ) from None
    if not fits:
        raise PluginProblem(
            f"plugin {plugin_name!r} needs toolkit plugin API {declared}, but this toolkit provides API {API_VERSION}, "
            "so it was not loaded. Install a version of the plugin made for this API, or a toolkit whose API fits."
        )
    return str(declared)
